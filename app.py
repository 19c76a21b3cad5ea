"""hipdata: entry point. Page config, sign-in gate, and the pages this user's role may see."""

import streamlit as st

from hipdata import ui

actor = ui.current_actor()
PAGES = {
    "checkin": st.Page(
        "app_pages/checkin.py", title="Weekly check-in", icon=":material/edit_note:", url_path="checkin"
    ),
    "progress": st.Page(
        "app_pages/progress.py",
        title="My progress" if actor is None or actor.role == "patient" else "Progress",
        icon=":material/trending_up:",
        url_path="progress",
    ),
    "caseload": st.Page(
        "app_pages/caseload.py", title="Caseload", icon=":material/groups:", url_path="caseload"
    ),
    "review": st.Page(
        "app_pages/review.py", title="Patient review", icon=":material/person_search:", url_path="review"
    ),
    "data": st.Page("app_pages/data.py", title="Data", icon=":material/table:", url_path="data"),
    "users": st.Page(
        "app_pages/users.py", title="Users", icon=":material/manage_accounts:", url_path="users"
    ),
    "audit": st.Page("app_pages/audit.py", title="Audit", icon=":material/history:", url_path="audit"),
}
MENU = {
    "patient": ["checkin", "progress"],
    "therapist": ["caseload", "review", "data", "checkin"],
    "admin": ["caseload", "review", "data", "checkin", "progress", "users", "audit"],
}

# Patients log on a phone: a narrow column. Therapists scan tables: the full width.
wide = actor is not None and actor.role != "patient"
st.set_page_config(page_title="hipdata", page_icon=ui.PAGE_ICON, layout="wide" if wide else "centered")
if actor is None:
    first_run = not ui.store().has_accounts()
    gate = st.Page(
        "app_pages/setup.py" if first_run else "app_pages/sign_in.py",
        title="Welcome" if first_run else "Sign in",
    )
    st.navigation([gate], position="hidden").run()
else:
    with st.sidebar:
        st.caption(f"Signed in as {ui.md_escape(actor.username)} ({actor.role})")
        if st.button("Sign out", icon=":material/logout:"):
            ui.sign_out()
            st.rerun()
    st.navigation([PAGES[name] for name in MENU[actor.role]]).run()
