"""text: counted nouns, and the messages that use them say "1 reading", never "1 readings"."""

from hipdata.contract import Problem, ValidationError
from hipdata.text import counted


def test_counted_nouns():
    assert counted(0, "reading") == "0 readings"
    assert counted(1, "reading") == "1 reading"
    assert counted(2, "new patient") == "2 new patients"
    assert counted(1, "entry", "entries") == "1 entry" and counted(3, "entry", "entries") == "3 entries"


def test_one_problem_in_one_row_is_singular():
    one = ValidationError([Problem(2, "value", "x", "must be a number")])
    assert str(one).startswith("1 problem in 1 row:")
    two = ValidationError([Problem(2, "value", "x", "must be a number"), Problem(None, "note", "", "bad")])
    assert str(two).startswith("2 problems in 1 row:")


def test_the_command_line_counts_in_words(run_cli, csv_file):
    one = csv_file("patient_id,date,measure,side,value\nP1,2026-01-05,hip_flexion,left,100\n")
    assert run_cli("import", one).stdout.strip() == "Imported 1 reading (0 already present, 1 new patient)."
    demo = run_cli("demo", "--patients", "1", "--weeks", "1")
    assert "for 1 patient over 1 week." in demo.stdout
