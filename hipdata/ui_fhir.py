"""Streamlit glue of the FHIR import on the Data page: upload, every problem listed, then import."""

from __future__ import annotations

import streamlit as st

from hipdata.auth import Actor
from hipdata.ui import md_escape, show_problems, store


def fhir_upload(actor: Actor) -> None:
    from hipdata.fhir import FhirError, import_json, read_fhir

    st.subheader("Import FHIR R4")
    st.caption(
        "A FHIR R4 JSON file: a Bundle as hipdata exports it (patients, readings, LEFS and PSFS), or a single "
        "Observation with the same codes. One problem and nothing is imported; importing it twice adds nothing."
    )
    upload = st.file_uploader("FHIR JSON", type=["json"], key="fhir-upload")
    if upload is None:
        return
    data = upload.getvalue()
    try:
        records = read_fhir(data)
    except FhirError as error:
        show_problems(error)
        return
    st.write(
        f"{len(records.readings)} readings, {len(records.lefs)} LEFS and {len(records.psfs)} PSFS for "
        f"{len(records.patients)} patients, all valid."
    )
    if st.button("Import FHIR file", type="primary"):
        try:
            result = import_json(store(), actor, data)
        except (FhirError, PermissionError) as error:
            st.error(f"Nothing was imported: {md_escape(error)}")
        else:
            st.success(
                f"Imported {result.added} records ({result.skipped} already present, "
                f"{result.patients_created} new patients)."
            )
