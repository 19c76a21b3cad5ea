"""Streamlit glue for the Data page's upload: checked once per file, then imported as `hipdata import` does.

An upload is written to a temporary file and goes through file_import, inside DuckDB: the same rules and
messages as the command line, one audit entry per file, and memory that does not grow with the problems.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from hipdata import file_import, ui
from hipdata.auth import Actor
from hipdata.contract import MAX_KEPT, ValidationError
from hipdata.store import CheckedFile
from hipdata.text import counted


@dataclass(frozen=True)
class Checked:
    file: CheckedFile | None  # a clean file
    problems: pd.DataFrame | None = None  # else the first MAX_KEPT problems...
    total: int = 0  # ...of this many
    rows: int = 0


@st.cache_data(show_spinner=False, max_entries=8)
def _check(digest: str, today: date, _data: bytes) -> Checked:
    """The check of one file content (the key is its hash: the bytes themselves are not hashed again)."""
    del digest
    with file_import.saved(_data) as path:
        try:
            return Checked(file_import.check_file(ui.store(), path, today))
        except ValidationError as error:
            return Checked(None, error.frame(), error.total, error.rows)


def upload_section(actor: Actor) -> None:
    upload = st.file_uploader("Readings CSV", type=["csv"])
    if upload is None:
        return
    data = upload.getvalue()
    today = date.today()
    with st.spinner("Checking the file"):
        checked = _check(hashlib.sha256(data).hexdigest(), today, data)
    if checked.file is None:
        show_file_problems(checked, lambda: file_import.problems_csv(ui.store(), data, today))
        return
    found = checked.file
    st.write(
        f"{counted(found.readings, 'reading')} for {counted(found.patients, 'patient')}, all valid. Preview:"
    )
    st.dataframe(found.preview, hide_index=True, width="stretch")
    if st.button("Import", type="primary"):
        with st.spinner("Importing"), file_import.saved(data) as path:
            try:
                result = file_import.import_file(ui.store(), actor, path, today)
            except ValidationError as error:
                ui.show_problems(error)
                return
            except PermissionError as error:
                st.error(f"Nothing was imported: {ui.md_escape(error)}")
                return
        st.success(
            f"Imported {counted(result.added, 'reading')} ({result.skipped:,} already present, "
            f"{counted(result.patients_created, 'new patient')})."
        )


def show_file_problems(checked: Checked, all_problems) -> None:
    """The first MAX_KEPT problems, how many there are in all, and all of them as a CSV download."""
    rows = f" in {counted(checked.rows, 'row')}" if checked.rows else ""
    st.error(f"Nothing was imported: {counted(checked.total, 'problem')}{rows} to fix.")
    if checked.total > len(checked.problems):
        st.caption(f"The first {MAX_KEPT:,} problems; download the file for all {checked.total:,}.")
    st.download_button(
        f"Download all {counted(checked.total, 'problem')} as CSV",
        data=all_problems,  # built only when clicked
        file_name="hipdata-problems.csv",
        mime="text/csv",
        on_click="ignore",
    )
    st.dataframe(checked.problems, hide_index=True, width="stretch")
