"""LEFS questionnaire: scoring, when it is due, and the first/latest/change summary (MDC = MCID = 9 points)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from hipdata import lefs
from hipdata.auth import SYSTEM


def scores(*rows: tuple[str, str, int]) -> pd.DataFrame:
    """LEFS rows as the store returns them: (patient_id, ISO date, total), ids in the given order."""
    return pd.DataFrame(
        {
            "id": range(1, len(rows) + 1),
            "patient_id": [r[0] for r in rows],
            "date": pd.to_datetime([r[1] for r in rows]),
            "answers": ["0" * 20] * len(rows),
            "total": [r[2] for r in rows],
        }
    )


# ---- score ---------------------------------------------------------------------------------------------


def test_twenty_items_four_answers_each():
    assert len(lefs.ITEMS) == 20
    assert sorted(lefs.ANSWERS) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("answers", "total"),
    [([0] * 20, 0), ([4] * 20, 80), ([3] * 10 + [1] * 10, 40), ([0, 1, 2, 3, 4] * 4, 40)],
)
def test_score_is_the_sum_from_0_to_80(answers, total):
    result = lefs.score(answers)
    assert result == total
    assert type(result) is int


def test_missing_answers_are_refused_naming_the_items():
    answers = [2] * 20
    answers[2] = None
    answers[16] = None
    with pytest.raises(ValueError, match=r"missing or invalid: item 3, 17$"):
        lefs.score(answers)


@pytest.mark.parametrize("bad", [5, -1, 2.5, "3"])
def test_out_of_range_answers_are_refused_naming_the_item(bad):
    answers = [4] * 20
    answers[19] = bad
    with pytest.raises(ValueError) as error:
        lefs.score(answers)
    assert str(error.value).endswith("item 20")
    assert "0-4" in str(error.value)


def test_every_bad_item_is_named_at_once():
    answers = [None, 7, *([1] * 17), -2]
    with pytest.raises(ValueError, match=r"item 1, 2, 20$"):
        lefs.score(answers)


@pytest.mark.parametrize("count", [0, 19, 21])
def test_wrong_number_of_items_is_refused(count):
    with pytest.raises(ValueError, match=rf"LEFS has 20 items, got {count}"):
        lefs.score([2] * count)


def test_encode_keeps_every_answer_in_order():
    answers = [0, 1, 2, 3, 4] * 4
    assert lefs.encode(answers) == "01234" * 4


# ---- due -----------------------------------------------------------------------------------------------


def test_due_when_there_is_no_score_yet():
    assert lefs.due(scores(), date(2026, 3, 1)) is True


def test_not_due_27_days_after_the_last_score_and_due_at_28():
    history = scores(("P1", "2026-01-05", 30), ("P1", "2026-02-02", 38))
    last = date(2026, 2, 2)
    assert not lefs.due(history, last)
    assert not lefs.due(history, last + timedelta(days=27))
    assert lefs.due(history, last + timedelta(days=28))
    assert lefs.due(history, last + timedelta(days=60))


def test_due_counts_from_the_latest_score_whatever_the_row_order():
    history = scores(("P1", "2026-02-02", 38), ("P1", "2026-01-05", 30))
    assert not lefs.due(history, date(2026, 2, 20))  # 18 days after the latest, 46 after the oldest


def test_due_reads_scores_as_the_store_returns_them(store):
    store.add_patient(SYSTEM, "P1")
    rows = pd.DataFrame(
        {"patient_id": ["P1"], "date": [pd.Timestamp("2026-02-02")], "answers": ["2" * 20], "total": [40]}
    )
    store.add_records(SYSTEM, "lefs", rows)
    stored = store.records(SYSTEM, "lefs", "P1")
    assert not lefs.due(stored, date(2026, 3, 1))  # 27 days
    assert lefs.due(stored, date(2026, 3, 2))  # 28 days


# ---- summary -------------------------------------------------------------------------------------------


def test_summary_first_latest_change_per_patient():
    history = scores(
        ("P2", "2026-01-05", 50),
        ("P1", "2026-03-02", 47),
        ("P1", "2026-01-05", 30),
        ("P1", "2026-02-02", 38),
        ("P2", "2026-02-02", 44),
    )
    out = lefs.summary(history).set_index("patient_id")
    assert out.loc["P1", ["lefs_first", "lefs_latest", "lefs_change", "lefs_count"]].tolist() == [
        30,
        47,
        17,
        3,
    ]
    assert out.loc["P2", ["lefs_first", "lefs_latest", "lefs_change", "lefs_count"]].tolist() == [
        50,
        44,
        -6,
        2,
    ]
    assert bool(out.loc["P1", "lefs_important"]) is True
    assert bool(out.loc["P2", "lefs_important"]) is False


def test_same_day_scores_follow_their_ids():
    history = scores(("P1", "2026-01-05", 30), ("P1", "2026-01-05", 33))
    row = lefs.summary(history).iloc[0]
    assert (row["lefs_first"], row["lefs_latest"]) == (30, 33)


@pytest.mark.parametrize(
    ("first", "latest", "important"),
    [(30, 39, True), (30, 38, False), (39, 30, True), (38, 30, False), (10, 70, True)],
)
def test_important_from_exactly_9_points_either_way(first, latest, important):
    history = scores(("P1", "2026-01-05", first), ("P1", "2026-02-02", latest))
    row = lefs.summary(history).iloc[0]
    assert row["lefs_change"] == latest - first
    assert bool(row["lefs_important"]) is important


def test_one_score_is_never_an_important_change():
    row = lefs.summary(scores(("P1", "2026-01-05", 30))).iloc[0]
    assert (row["lefs_first"], row["lefs_latest"], row["lefs_change"]) == (30, 30, 0)
    assert bool(row["lefs_important"]) is False


def test_summary_of_no_scores_is_empty_with_its_columns():
    out = lefs.summary(scores())
    assert out.empty
    assert {"patient_id", "lefs_first", "lefs_latest", "lefs_change", "lefs_important"} <= set(out.columns)
