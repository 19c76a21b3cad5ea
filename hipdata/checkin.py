"""The weekly check-in form's logic, kept out of the page so it can be tested without a browser.

Form fields become the same raw rows a CSV holds, and go through the same validation as an import.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pandas as pd

from hipdata import catalog
from hipdata.catalog import Measure
from hipdata.contract import CONTEXT_COLUMNS, EARLIEST_DATE, Problem, ValidationError
from hipdata.validate import clean_exercise_log, clean_readings

EXERCISE_HEADERS = {
    "exercise": "Exercise",
    "sessions": "Sessions",
    "sets": "Sets",
    "reps": "Reps",
    "seconds": "Seconds",
    "band_level": "Band",
    "load_kg": "Load kg",
}
_LABEL_TO_EXERCISE = {e.label: e.id for e in catalog.EXERCISES.values()}
DATE_LABEL = "Date of the check-in"
NO_CONTEXT: dict[str, str | None] = dict.fromkeys(CONTEXT_COLUMNS)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def checkin_day(shown: str | date, today: date | None = None) -> date:
    """The date to save: exactly the one shown in the field (YYYY-MM-DD), or a ValidationError at the date field.

    The same rules as a CSV date: a calendar date, from EARLIEST_DATE on, not in the future.
    """
    today = today or date.today()
    text = shown.isoformat() if isinstance(shown, date) else str(shown).strip()
    try:
        day = date.fromisoformat(text) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) else None
    except ValueError:  # 2026-02-30
        day = None
    if day is None:
        rule = "must be a calendar date written YYYY-MM-DD"
    elif day < date.fromisoformat(EARLIEST_DATE):
        rule = f"must not be before {EARLIEST_DATE}"
    elif day > today:
        rule = f"must not be in the future (today is {today})"
    else:
        return day
    raise ValidationError([Problem(None, "date", text, f"{DATE_LABEL}: {text or '(empty)'} {rule}")])


def field_key(measure_id: str, side: str) -> str:
    return f"{measure_id}:{side}" if side else measure_id


def field_label(m: Measure, side: str) -> str:
    unit = "0-10" if m.group == "pain" else m.unit_label
    return f"{m.label}, {side} ({unit})" if side else f"{m.label} ({unit})"


def field_help(m: Measure) -> str:
    if m.whole_numbers:
        return f"Allowed: whole numbers {m.valid_min:g} to {m.valid_max:g}."
    return f"Allowed {m.valid_min:g} to {m.valid_max:g} {m.unit_label}."


def last_readings(history: pd.DataFrame, day: date) -> dict[tuple[str, str], tuple[float, date]]:
    """Each series' latest reading on or before the check-in's day, with its date: what a patient compares
    against, so a check-in just saved this week is the one shown. (A day with repeated trials: their median.)
    """
    when = pd.to_datetime(history["date"]).dt.normalize()
    earlier = history.assign(day=when)[(when <= pd.Timestamp(day)) & history["value"].notna()]
    daily = earlier.groupby(["measure", "side", "day"])["value"].median()  # sorted by series, then day
    latest = daily.groupby(level=["measure", "side"]).tail(1)
    return {(m, side): (float(v), d.date()) for (m, side, d), v in latest.items()}


def usual_context(history: pd.DataFrame) -> dict[str, str | None]:
    """The context of the most recent reading: most people measure the same way every week."""
    if history.empty:
        return dict.fromkeys(CONTEXT_COLUMNS)
    last = history.sort_values(["date", "id"]).iloc[-1]
    return {c: (None if pd.isna(last[c]) else last[c]) for c in CONTEXT_COLUMNS}


def exercise_table(log: pd.DataFrame, programme: pd.DataFrame, day: date) -> pd.DataFrame:
    """This week's log if there is one, else the prescribed programme with sessions still to fill in."""
    this_week = log[pd.to_datetime(log["week"]).dt.date == monday(day)] if len(log) else log
    if len(this_week):
        rows = this_week.loc[:, list(EXERCISE_HEADERS)]
    else:
        rows = pd.DataFrame({"exercise": programme["exercise"] if len(programme) else []})
        rows = rows.reindex(columns=list(EXERCISE_HEADERS))
    numbers = ["sessions", "sets", "reps", "seconds", "load_kg"]
    rows = rows.assign(
        exercise=rows["exercise"].map(lambda e: catalog.EXERCISES[e].label if isinstance(e, str) else None),
        band_level=rows["band_level"].astype(object).where(rows["band_level"].notna(), None),
        **{c: pd.to_numeric(rows[c], errors="coerce").astype("float64") for c in numbers},
    )
    return rows.rename(columns=EXERCISE_HEADERS).reset_index(drop=True)


def programme_summary(programme: pd.DataFrame) -> str:
    """The prescribed exercises in one line, e.g. '90/90 hip switch (dynamic): 4x a week, reps per side'."""
    labels = programme["exercise"].map(lambda e: catalog.EXERCISES[e].label)
    doses = programme["dose"].fillna("").map(lambda d: f", {d}" if d else "")
    return "; ".join(labels + ": " + programme["sessions_per_week"].astype(str) + "x a week" + doses)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _blank(value) -> bool:
    return (
        value is None
        or (isinstance(value, float) and pd.isna(value))
        or str(value).strip() in ("", "None", "<NA>")
    )


def clean_checkin(
    patient_id: str,
    day: date | str,
    values: dict[tuple[str, str], float | None],
    context: dict[str, str | None],
    note: str,
    exercises: pd.DataFrame,
    today: date | None = None,
    contexts: dict[tuple[str, str], dict[str, str | None]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Validate a whole check-in; raise one ValidationError whose problems name form fields.

    `context` applies to every reading; `contexts` gives some series their own (the step-by-step check-in
    stores each measure with its protocol's position and how it was taken).
    """
    problems: list[Problem] = []
    try:
        day = checkin_day(day, today)
    except ValidationError as error:
        problems += error.problems
        day = today or date.today()  # the date is reported once; the other fields are still checked
    filled = [(k, v) for k, v in values.items() if v is not None]
    own = contexts or {}
    raw = pd.DataFrame(
        {
            "patient_id": patient_id,
            "date": day.isoformat(),
            "measure": [k[0] for k, _ in filled],
            "side": [k[1] for k, _ in filled],
            "value": [repr(float(v)) for _, v in filled],
            **{c: [own.get(k, context).get(c) or "" for k, _ in filled] for c in CONTEXT_COLUMNS},
            "note": note or "",
        },
        index=range(len(filled)),
    ).astype(str)
    readings = pd.DataFrame()
    try:
        readings = clean_readings(raw, today=today, first_row=0, with_ids=False)  # the field shows the label
    except ValidationError as error:
        for p in error.problems:
            if p.column == "value":  # the message names the measure and side; add what was typed
                measure_id, side = filled[p.row][0]
                unit = catalog.MEASURES[measure_id].unit_label
                space = "" if unit in ("°", "/10") else " "
                shown = f"{float(p.value):g}{space}{unit}" if _is_number(p.value) else p.value
                message = f"{p.message}; you entered {shown}"
                problems.append(Problem(None, field_key(measure_id, side), p.value, message))
            else:
                problems.append(Problem(None, p.column, p.value, f"{p.column}: {p.value} {p.message}"))
    entered = exercises.rename(columns={v: k for k, v in EXERCISE_HEADERS.items()})
    doses = [c for c in EXERCISE_HEADERS if c != "exercise"]
    log = None
    if len(entered):
        blank = entered.apply(lambda col: col.map(_blank))
        # A prescribed exercise listed with nothing filled in was not done this week: it is not an error.
        done = ~blank[doses].all(axis=1)
        entered = entered[done].astype(object).where(~blank[done], "")
        entered = entered.assign(exercise=entered["exercise"].map(lambda e: _LABEL_TO_EXERCISE.get(e, e)))
        entered = entered.astype(str)
    if len(entered):
        try:
            log = clean_exercise_log(entered)
        except ValidationError as error:
            problems += [
                Problem(None, "exercises", p.value, _exercise_problem(entered["exercise"].iloc[p.row - 1], p))
                for p in error.problems
            ]
    if not filled and log is None and not problems:
        problems.append(Problem(None, "form", "", "Enter at least one measurement or exercise."))
    if problems:  # a bad date is the same problem for every field: say it once
        raise ValidationError(list({(p.column, p.message): p for p in problems}.values()))
    return readings, log


def _exercise_problem(exercise: str, p: Problem) -> str:
    """'Foam rolling, Sessions: ...': the exercise and the field as the form shows them, not their ids."""
    known = catalog.EXERCISES.get(exercise)
    name = known.label if known else f"Exercise {exercise!r}" if exercise else f"Exercise row {p.row}"
    return (
        f"{name}: {p.message}"
        if p.column == "exercise"
        else f"{name}, {EXERCISE_HEADERS[p.column]}: {p.message}"
    )


def step_errors(
    patient_id: str,
    day: date,
    values: dict[tuple[str, str], float | None],
    exercises: pd.DataFrame,
    today: date | None = None,
    contexts: dict[tuple[str, str], dict[str, str | None]] | None = None,
) -> dict[str, str]:
    """The problems of one step of the check-in, by field: the whole check-in's rules, on this step's fields.

    A step may be left empty, so 'enter at least one' is the summary's to say, not a step's.
    """
    try:
        clean_checkin(patient_id, day, values, NO_CONTEXT, "", exercises, today, contexts)
    except ValidationError as error:
        return {k: v for k, v in errors_by_field(error).items() if k != "form"}
    return {}


def protocol_context(series: tuple[str, str], by_phone: bool, rater: str = "self") -> dict[str, str | None]:
    """What a reading of the step-by-step check-in is stored with: the protocol's position and mode, and who
    measured (the patient themself, unless a therapist enters it).

    The method is the protocol's instrument for a tape measure, `inclinometer` for an angle the phone
    took, and not recorded for an angle typed by hand (it may come from any instrument).
    """
    p = catalog.PROTOCOLS[series[0]]
    method = p.method if p.method != "inclinometer" or by_phone else None
    return {"method": method, "position": p.position, "mode": p.mode, "measured_by": rater}


def summary_lines(
    values: dict[tuple[str, str], float | None], contexts: dict[tuple[str, str], dict[str, str | None]]
) -> list[str]:
    """The summary before saving, one line per filled field: label, value with unit, how it was taken."""
    lines = []
    for (measure, side), value in values.items():
        if value is None:
            continue
        m = catalog.MEASURES[measure]
        label = f"{m.label}, {side}" if side else m.label
        unit = "°" if m.unit == "deg" else f" {m.unit_label}".replace(" /10", "/10")
        how = [
            str(contexts.get((measure, side), {}).get(f) or "").replace("_", " ")
            for f in ("method", "position")
        ]
        lines.append(
            f"{label}: {value:g}{unit}" + (f" ({', '.join(h for h in how if h)})" if any(how) else "")
        )
    return lines


def exercise_lines(table: pd.DataFrame) -> list[str]:
    """The exercise cards' entries in words, one line per exercise done (a blank card was not done)."""
    units = {"Sessions": "session", "Sets": "set", "Reps": "rep", "Seconds": "s", "Load kg": "kg"}
    lines = []
    for row in table.to_dict("records"):  # a handful of exercises: display, not analysis
        parts = [
            f"{row[c]:g} {u}" + ("" if len(u) < 3 or row[c] == 1 else "s")  # "1 session", "3 sets", "90 s"
            for c, u in units.items()
            if not _blank(row.get(c))
        ]
        if not _blank(row.get("Band")):
            parts.append(f"{row['Band']} band")
        if parts:
            lines.append(f"{row['Exercise']}: " + ", ".join(parts))
    return lines


def errors_by_field(error: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for p in error.problems:
        found[p.column] = f"{found[p.column]}; {p.message}" if p.column in found else p.message
    return found


def log_table(log: pd.DataFrame) -> pd.DataFrame:
    out = log.assign(exercise=log["exercise"].map(lambda e: catalog.EXERCISES[e].label))
    return out.loc[:, list(EXERCISE_HEADERS)].rename(columns=EXERCISE_HEADERS)


def week_rows(readings: pd.DataFrame, day: date) -> pd.DataFrame:
    start = pd.Timestamp(monday(day))
    when = pd.to_datetime(readings["date"])
    return readings[(when >= start) & (when < start + pd.Timedelta(days=7))].reset_index(drop=True)


def corrections_table(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": rows["id"],
            "Measure": [catalog.MEASURES[m].label for m in rows["measure"]],
            "Side": rows["side"],
            "Date": pd.to_datetime(rows["date"]).dt.date,
            "Value": rows["value"].astype(float),
            "Delete": False,
        }
    )


def apply_corrections(
    store, actor, original: pd.DataFrame, edited: pd.DataFrame, today: date | None = None
) -> int:
    """Validate every corrected value first, then write: a bad value leaves every row as it was."""
    merged = original.merge(edited[["id", "Value", "Delete"]], on="id")
    deletes = merged[merged["Delete"].astype(bool)]
    updates = merged[~merged["Delete"].astype(bool) & (merged["Value"].astype(float) != merged["value"])]
    cleaned = []
    if len(updates):
        raw = updates.assign(
            date=pd.to_datetime(updates["date"]).dt.strftime("%Y-%m-%d"),
            value=updates["Value"].map(lambda v: "" if pd.isna(v) else repr(float(v))),
        )
        raw = raw.loc[:, ["patient_id", "date", "measure", "side", "value", *CONTEXT_COLUMNS, "note"]]
        raw = raw.astype(object).where(raw.notna(), "").astype(str)
        clean = clean_readings(raw, today=today, with_ids=False)  # the table shows the label
        cleaned = list(zip(updates["id"], range(len(clean)), strict=True))
    for reading_id, i in cleaned:
        store.update_reading(actor, int(reading_id), clean.iloc[[i]])
    for reading_id in deletes["id"]:
        store.delete_row(actor, "readings", int(reading_id))
    return len(cleaned) + len(deletes)


def dose_fields(exercise_id: str) -> tuple[str, ...]:
    """The dose columns an exercise card asks for, read from the exercise's dose in the catalog."""
    dose = catalog.EXERCISES[exercise_id].dose
    wanted = {
        "sets": True,
        "reps": "reps" in dose or "steps" in dose,
        "seconds": "seconds" in dose,
        "band_level": "band" in dose,
        "load_kg": "load" in dose,
    }
    return ("sessions", *(column for column, asked in wanted.items() if asked))


def card_exercises(programme: pd.DataFrame, log: pd.DataFrame, day: date, added: list[str]) -> list[str]:
    """The exercises shown as cards: the programme, anything already logged this week, and those added."""
    this_week = log[pd.to_datetime(log["week"]).dt.date == monday(day)] if len(log) else log
    listed = [*programme.get("exercise", []), *this_week.get("exercise", []), *added]
    return list(dict.fromkeys(listed))


def cards_table(exercises: list[str], values: dict[tuple[str, str], object]) -> pd.DataFrame:
    """The cards' entries as the exercise table the check-in validates (a card left blank: not done)."""
    rows = {
        header: [
            catalog.EXERCISES[e].label if column == "exercise" else values.get((e, column)) for e in exercises
        ]
        for column, header in EXERCISE_HEADERS.items()
    }
    return pd.DataFrame(rows, columns=list(EXERCISE_HEADERS.values()))


def this_week_values(log: pd.DataFrame, day: date) -> dict[tuple[str, str], object]:
    """This week's logged exercises as card values, so a second check-in in a week starts from them."""
    this_week = log[pd.to_datetime(log["week"]).dt.date == monday(day)] if len(log) else log
    columns = [c for c in EXERCISE_HEADERS if c != "exercise"]
    return {
        (e, c): v
        for e, row in zip(
            this_week.get("exercise", []),
            this_week[columns].to_dict("records") if len(this_week) else [],
            strict=True,
        )
        for c, v in row.items()
        if not pd.isna(v)
    }
