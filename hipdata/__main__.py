from hipdata.cli import main

main()
