"""Measurement context history: where the method, position, mode or rater changed within a series."""

from __future__ import annotations

import pandas as pd

from hipdata.contract import CONTEXT_COLUMNS


def context_changes(readings: pd.DataFrame) -> pd.DataFrame:
    """Each series' first reading and every reading whose context differs from the one before it."""
    ordered = readings.sort_values(["patient_id", "measure", "side", "date", "id"])
    context = ordered[list(CONTEXT_COLUMNS)].astype(object).fillna("")
    previous = context.groupby([ordered["patient_id"], ordered["measure"], ordered["side"]]).shift()
    changed = (context != previous).any(axis=1) | previous.isna().all(axis=1)
    return ordered[changed].loc[:, ["date", "measure", "side", *CONTEXT_COLUMNS]].reset_index(drop=True)
