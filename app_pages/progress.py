"""My progress: what has really changed, at a glance."""

import streamlit as st

from hipdata import ui, ui_psfs

actor = ui.require_actor()
st.title("My progress" if actor.role == "patient" else "Progress")
patient = ui.pick_patient(actor, key="progress-patient")
if patient is not None:
    ui.progress_view(actor, patient)
    ui_psfs.psfs_view(actor, patient)
