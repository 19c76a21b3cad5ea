"""Lower Extremity Functional Scale (Binkley 1999; free to use): 20 activities scored 0-4, total 0-80.

Higher is better. A change of 9 points or more is clinically important (MDC and MCID 9 points). Patients fill
it in at the start of the programme and every 4 weeks after.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from hipdata.catalog import LEFS_MDC

ITEMS = (
    "Any of your usual work, housework or school activities",
    "Your usual hobbies, recreational or sporting activities",
    "Getting into or out of the bath",
    "Walking between rooms",
    "Putting on your shoes or socks",
    "Squatting",
    "Lifting an object, like a bag of groceries, from the floor",
    "Performing light activities around your home",
    "Performing heavy activities around your home",
    "Getting into or out of a car",
    "Walking 2 blocks",
    "Walking a mile",
    "Going up or down 10 stairs (about 1 flight of stairs)",
    "Standing for 1 hour",
    "Sitting for 1 hour",
    "Running on even ground",
    "Running on uneven ground",
    "Making sharp turns while running fast",
    "Hopping",
    "Rolling over in bed",
)
ANSWERS = {
    0: "Extreme difficulty or unable to perform activity",
    1: "Quite a bit of difficulty",
    2: "Moderate difficulty",
    3: "A little bit of difficulty",
    4: "No difficulty",
}
INTERVAL = timedelta(weeks=4)


def score(answers: list[int | None]) -> int:
    """Total 0-80; every one of the 20 items must be answered 0-4."""
    if len(answers) != len(ITEMS):
        raise ValueError(f"LEFS has {len(ITEMS)} items, got {len(answers)}")
    missing = [i + 1 for i, a in enumerate(answers) if a not in ANSWERS]
    if missing:
        raise ValueError(
            "LEFS: answer every item with 0-4; missing or invalid: item " + ", ".join(map(str, missing))
        )
    return int(sum(answers))


def encode(answers: list[int]) -> str:
    return "".join(str(a) for a in answers)


def due(scores: pd.DataFrame, today: date) -> bool:
    """Due at the start (no score yet) and again 4 weeks after the last one."""
    if scores.empty:
        return True
    return pd.Timestamp(today) - pd.to_datetime(scores["date"]).max() >= INTERVAL


def summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per patient: first and latest total, change, and whether the change is clinically important (>= 9)."""
    ordered = scores.sort_values(["patient_id", "date", "id"])
    grouped = ordered.groupby("patient_id")["total"]
    out = pd.DataFrame(
        {"lefs_first": grouped.first(), "lefs_latest": grouped.last(), "lefs_count": grouped.size()}
    )
    out["lefs_change"] = out["lefs_latest"] - out["lefs_first"]
    out["lefs_important"] = (out["lefs_change"].abs() >= LEFS_MDC) & (out["lefs_count"] > 1)
    return out.reset_index()
