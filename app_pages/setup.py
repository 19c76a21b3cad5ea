"""First run: create the administrator account. There are no default passwords."""

import streamlit as st

from hipdata import auth, ui

st.title("Welcome to hipdata")
st.write(
    "hipdata tracks hip mobility week by week and shows which changes are real progress and which are "
    "measurement noise. This database is new: first create the administrator account. After that you can "
    "add patients and therapists, import readings, or load demo data with one click."
)
with st.form("setup"):
    username = st.text_input("Username")
    password = st.text_input(
        "Password", type="password", help=f"At least {auth.MIN_PASSWORD_LENGTH} characters."
    )
    repeat = st.text_input("Repeat password", type="password")
    if st.form_submit_button("Create administrator", type="primary"):
        if password != repeat:
            st.error("The two passwords differ.")
        else:
            try:
                ui.store().create_account(None, username.strip(), "admin", auth.hash_password(password))
            except (ValueError, PermissionError) as error:
                st.error(ui.md_escape(error))
            else:
                st.session_state[ui.TOKEN_KEY] = auth.sign_in(ui.store(), username.strip(), password)
                st.rerun()
