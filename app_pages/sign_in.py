"""Sign in with a local account (or single sign-on when it is configured)."""

import streamlit as st

from hipdata import auth, ui

st.title("hipdata")
reason = st.session_state.pop("signed_out_reason", None)
if reason:
    st.info(reason)
with st.form("sign_in"):
    username = st.text_input("Username", autocomplete="username")
    password = st.text_input("Password", type="password", autocomplete="current-password")
    if st.form_submit_button("Sign in", type="primary"):
        token = auth.sign_in(ui.store(), username.strip(), password)
        if token:
            st.session_state[ui.TOKEN_KEY] = token
            st.rerun()
        st.error(auth.SIGN_IN_FAILED)

ui.single_sign_on()
