"""CSV with pandas: every file the project writes for people to open, spreadsheet-safe (contract)."""

from __future__ import annotations

import pandas as pd

from hipdata.contract import READING_COLUMNS, SPREADSHEET_ESCAPED


def spreadsheet_safe(frame: pd.DataFrame, keep: tuple[str, ...] = ()) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula get one added apostrophe; numbers and `keep` stay."""
    out = frame.copy()
    for column in out.columns:
        text = out[column]
        if column in keep or not pd.api.types.is_string_dtype(text):
            continue
        # Patient ids, catalog ids and dates repeat: test each distinct text once.
        distinct = pd.Series(pd.unique(text.dropna()), dtype=object)
        bad = distinct[distinct.str.match(SPREADSHEET_ESCAPED)]
        if len(bad):
            risky = text.isin(bad)
            out[column] = text.astype(object).mask(risky, "'" + text[risky].astype(str))
    return out


def readings_csv(frame: pd.DataFrame) -> bytes:
    """Readings as CSV bytes; default float text is the shortest that reads back to the same number."""
    out = frame.loc[:, list(READING_COLUMNS)].assign(
        date=pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    )
    # CRLF line ends (RFC 4180) also make the writer quote a bare carriage return inside a note.
    return spreadsheet_safe(out, keep=("value",)).to_csv(index=False, lineterminator="\r\n").encode("utf-8")
