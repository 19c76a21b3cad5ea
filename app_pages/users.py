"""Users (admins): accounts, roles, therapist assignments. Password hashes are never shown."""

import streamlit as st

from hipdata import auth, ui

actor = ui.require_actor()
store = ui.store()
st.title("Users")

st.dataframe(store.accounts(actor), hide_index=True, width="stretch")

st.subheader("Add an account")
with st.form("add_user", clear_on_submit=True):
    username = st.text_input("New username")
    role = st.selectbox("Role", auth.ROLES)
    password = st.text_input("Initial password", type="password", help="At least 8 characters.")
    patient_id = st.text_input("Patient ID (patient accounts)", max_chars=64)
    therapist = st.selectbox("Therapist (patient accounts)", [None, *store.therapists(actor)])
    if st.form_submit_button("Add account", type="primary"):
        try:
            store.create_account(
                actor, username.strip(), role, auth.hash_password(password), patient_id or None, therapist
            )
        except (ValueError, PermissionError) as error:
            st.error(ui.md_escape(error))
        else:
            st.success(f"Added {role} account {ui.md_escape(username.strip())}.")

st.subheader("Assign a patient to a therapist")
patients = store.patients(actor)
with st.form("assign"):
    patient = st.selectbox("Patient", list(patients["patient_id"]))
    therapist = st.selectbox("Therapist", store.therapists(actor))
    if st.form_submit_button("Assign") and patient and therapist:
        store.assign(actor, patient, therapist)
        st.success(f"{ui.md_escape(patient)} is now assigned to {ui.md_escape(therapist)}.")

st.subheader("Disable an account or reset a password")
accounts = list(store.accounts(actor)["username"])
with st.form("manage"):
    who = st.selectbox("Account", accounts)
    new_password = st.text_input("New password (for a reset)", type="password")
    disable, reset = st.columns(2)
    if disable.form_submit_button("Disable account") and who:
        if who == actor.username:
            st.error("You cannot disable your own account.")
        else:
            store.disable_account(actor, who)
            st.success(f"Disabled {ui.md_escape(who)}.")
    if reset.form_submit_button("Reset password") and who:
        try:
            store.set_password(actor, who, auth.hash_password(new_password))
        except auth.AuthError as error:
            st.error(ui.md_escape(error))
        else:
            st.success(f"Password reset for {ui.md_escape(who)}; any lockout is lifted.")
