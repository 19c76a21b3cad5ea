"""Streamlit glue shared by the pages: the cached store, the signed-in user, and common widgets.

This module and the ui_* modules (one per feature: check-in, inclinometer, plan, upload, PSFS, FHIR) are
the only ones of the package that import streamlit. User-entered text is always shown as plain text (never through unsafe HTML), and markdown is escaped
where it has to be used.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import streamlit as st

from hipdata import auth, catalog
from hipdata.analysis import series_trends
from hipdata.auth import Actor
from hipdata.store import Store
from hipdata.text import counted


class Trends(NamedTuple):
    weekly: pd.DataFrame  # as Progress.weekly
    trends: pd.DataFrame  # as Progress.trends


TOKEN_KEY = "session_token"
KEPT_CASELOADS = 64  # caseload tables kept in memory (one per user, day and patient filter)
# The caseload's rows hold three lines of text (Streamlit wraps a cell's text only in rows taller than
# 4rem, 64 px): every flag of a patient shows in a Flags column narrow enough that the ten columns fit a
# 1280 px screen and the patient, days and flags a 390 px phone (tests/test_browser.py measures both).
CASELOAD_ROW_HEIGHT = 65
# An SVG file: Streamlit inlines it as a data URL, so the tab icon needs no request (a material icon
# as page icon is fetched from a font server on the internet).
PAGE_ICON = str(Path(__file__).with_name("icon.svg"))
STATUS_WORDS = {
    "improved": "Improved",
    "worsened": "Worsened",
    "no_detectable_change": "No detectable change yet",
    "insufficient_data": "Needs 4 weeks of data",
}


def db_path() -> str:
    return os.environ.get("HIPDATA_DB") or "data/hipdata.duckdb"


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> Store:
    return Store(path)


def store() -> Store:
    """One database object for the whole server process; the store hands each thread its own cursor."""
    return _open_store(db_path())


def current_actor() -> Actor | None:
    """The signed-in user, resolved from the server-side session on every run: tampering cannot widen it."""
    actor = auth.current_actor(store(), st.session_state.get(TOKEN_KEY))
    if actor is None and st.session_state.get(TOKEN_KEY):
        st.session_state.pop(TOKEN_KEY, None)
        st.session_state["signed_out_reason"] = (
            "Your session has ended (after 30 minutes without activity, or a password change). Please sign in again."
        )
    return actor


def require_actor() -> Actor:
    actor = current_actor()
    if actor is None:
        st.stop()
    return actor


def sign_out() -> None:
    token = st.session_state.pop(TOKEN_KEY, None)
    if token:
        store().end_session(token)


# Emphasis, code, links and images, HTML and its entities (&amp;), tables, strike-through, LaTeX and
# Streamlit's :icon: and :color[].
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|<>~$:&])")


def md_escape(text: str) -> str:
    """Escape user text for use inside markdown (labels, headings): it shows literally, never as markup."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_trends(path: str, version: int, actor: Actor, as_of: date, patient_id: str) -> Trends:
    del path, version  # cache keys: a write to this patient bumps their version, so results are never stale
    return Trends(*series_trends(store(), actor, as_of, patient_id))


def patient_version(actor: Actor, patient_id: str) -> int:
    """The cache key of results about one patient: their own version, which only a write to their records
    moves (Store.patient_versions)."""
    return store().patient_version(actor, patient_id)


def cached_trends(actor: Actor, as_of: date, patient_id: str) -> Trends:
    """One patient's weekly series and trends; no flags, which the pages about one patient do not show."""
    return _cached_trends(db_path(), patient_version(actor, patient_id), actor, as_of, patient_id)


def patient_label(patient_id: str, display_name: str | None) -> str:
    return f"{patient_id} · {display_name}" if display_name else patient_id


PICK_LIST_MAX = 200  # patients offered at once; a longer list is searched first (an admin of a whole network)


def pick_patient(actor: Actor, key: str = "patient") -> str | None:
    """Patients get themselves; therapists and admins choose among the patients they may see, searching by
    id or name when there are more than PICK_LIST_MAX."""
    if actor.role == "patient":
        return actor.patient_id
    patients = store().patients(actor)
    if patients.empty:
        st.info("No patients yet. Add one on the Data page, or load the demo data.")
        return None
    wanted = st.session_state.get("review_patient")
    if len(patients) > PICK_LIST_MAX:
        patients = _found(patients, key, wanted)
        if patients.empty:
            return None
    # As Python lists first: iterating the frame's string columns costs 15 times as much (60 ms at 20,000).
    ids = patients["patient_id"].tolist()
    labels = dict(zip(ids, patients["display_name"].fillna("").tolist(), strict=True))
    index = ids.index(wanted) if wanted in ids else 0
    chosen = st.selectbox(
        "Patient", ids, index=index, key=key, format_func=lambda p: patient_label(p, labels[p])
    )
    st.session_state["review_patient"] = chosen
    return chosen


def _found(patients: pd.DataFrame, key: str, wanted: str | None) -> pd.DataFrame:
    """The patients whose id or name holds the searched text (any case), at most PICK_LIST_MAX of them, with
    the patient already chosen first when the search leaves them out."""
    text = st.text_input("Find a patient", key=f"{key}-find", placeholder="Part of an id or a name").strip()
    found = patients
    if text:

        def holds(column: str) -> pd.Series:
            return patients[column].fillna("").str.contains(text, case=False, regex=False)

        found = patients[holds("patient_id") | holds("display_name")]
    if found.empty:
        st.info(f"No patient's id or name contains {text!r}.")
        return found
    shown = found.head(PICK_LIST_MAX)
    chosen = found[found["patient_id"] == wanted] if not text else found.iloc[:0]
    if len(chosen) and not shown["patient_id"].eq(wanted).any():  # an id they may not see is no one
        shown = pd.concat([chosen, shown.head(PICK_LIST_MAX - 1)])
    if len(found) > len(shown):
        st.caption(
            f"{len(found):,} patients match; the first {len(shown):,} are listed. Type more to narrow."
        )
    return shown


def chart(figure, key: str) -> None:
    """A Plotly chart without Plotly's tool bar: on a phone the bar shows all the time, over the chart's
    title. Dragging still zooms and a double tap resets; Streamlit's full-screen button stays."""
    st.plotly_chart(figure, key=key, config={"displayModeBar": False})


def series_label(measure_id: str, side: str) -> str:
    label = catalog.MEASURES[measure_id].label
    return f"{label} ({side})" if side else label


def format_value(measure_id: str, value: float | None) -> str:
    if value is None or pd.isna(value):
        return "–"
    m = catalog.MEASURES[measure_id]
    return f"{value:g} {m.unit_label}" if m.unit != "deg" else f"{value:g}°"


def show_problems(error) -> None:
    """A validation error as a table: row, column, value, what is allowed."""
    st.error(f"Nothing was saved: {counted(len(error.problems), 'problem')} to fix.")
    st.dataframe(error.frame(), hide_index=True, width="stretch")


def single_sign_on() -> None:
    """Offer st.login when .streamlit/secrets.toml has an [auth] section; map the e-mail to an account."""
    try:
        configured = "auth" in st.secrets
    except Exception:  # no secrets file at all
        configured = False
    if not configured:
        return
    st.divider()
    if not st.user.is_logged_in:
        st.button("Sign in with single sign-on", on_click=st.login)
        return
    username = store().account_by_email(str(st.user.email))
    if username is None:
        st.error("No hipdata account is linked to this e-mail address. Ask your administrator.")
        st.button("Sign out of single sign-on", on_click=st.logout)
        return
    st.session_state[TOKEN_KEY] = store().open_session(username, datetime.now())
    st.rerun()


def exercise_columns() -> dict:
    """Column settings for the exercise log editor: catalog exercises and doses within their limits."""
    from hipdata.validate import BAND_LEVELS, EXERCISE_LIMITS

    number = st.column_config.NumberColumn
    return {
        "Exercise": st.column_config.SelectboxColumn(
            options=[e.label for e in catalog.EXERCISES.values()], required=True, width="medium"
        ),
        **{
            column.capitalize(): number(step=1, help=f"{low} to {high}")
            for column, (low, high) in EXERCISE_LIMITS.items()
        },
        "Band": st.column_config.SelectboxColumn(options=list(BAND_LEVELS)),
        "Load kg": number(step=0.5),
    }


def caseload_columns() -> dict:
    """Column settings of the caseload table, in pixels: the triage (patient, days, flags) first."""
    from hipdata.caseload import flags_help

    text, number = st.column_config.TextColumn, st.column_config.NumberColumn
    return {
        "patient": text("Patient", pinned=True, width=112),
        "days_since_checkin": number("Days", width=46, help="Days since the last check-in (14 or more: inactive)"),
        "badges": text("Flags", width=166, help=flags_help()),
        "weeks_in_programme": number("Wk", width=38, help="Weeks in the programme, since the first check-in"),
        "adherence": st.column_config.ProgressColumn(
            "Done", min_value=0, max_value=100, format="%.0f%%", width=60,
            help="Adherence: exercise sessions done ÷ prescribed over the last 4 weeks",
        ),
        "rom": text(
            "ROM", width=100,
            help="Biggest change in range of motion or a field test, in MDCs (beyond ±1 is real; + is "
            "better), and the series: L/R = left/right side",
        ),
        "pain": text("Pain", width=84, help="Biggest pain change in MDCs (1 MDC = 2 points; + is better), and where"),
        "lefs": text(
            "LEFS", width=58, help="Latest LEFS score out of 80 (change since the first; 9 or more is important)"
        ),
        "plan": text(
            "Plan", width=62,
            help="The measurement plan the check-in follows: the default self-assessments, or a custom plan "
            "(Review page, Plan tab)",
        ),
        "psfs": text(
            "PSFS", width=58,
            help="Latest PSFS score: the mean rating 0-10 of the patient's own activities (change since the "
            "first; 2 points or more is real)",
        ),
    }  # fmt: skip


def metric_card(column, row) -> None:
    """Current value and change from baseline; coloured only when the change beats the MDC."""
    m = catalog.MEASURES[row.measure]
    words = STATUS_WORDS[row.status]
    real = row.status in ("improved", "worsened")
    unit = "°" if m.unit == "deg" else f" {m.unit_label}".replace(" /10", "/10")
    column.metric(
        series_label(row.measure, row.side),
        format_value(row.measure, row.current),
        delta=f"{row.change:+.3g}{unit} · {words}" if row.status != "insufficient_data" else words,
        delta_color=("normal" if m.direction > 0 else "inverse") if real else "off",
        delta_arrow="auto" if row.status != "insufficient_data" else "off",
        help=f"Baseline {format_value(row.measure, row.baseline)}; MDC {m.mdc:g}. {words}.",
        border=True,
    )


def explainer() -> None:
    """'How we read your progress' in plain words, with the MDC table and its sources."""
    with st.expander("How we read your progress"):
        st.markdown(
            "- A single measurement is noisy: a goniometer reading moves several degrees between attempts.\n"
            "- So we take the **median of each week's readings**, and compare the median of your **last 2 weeks** "
            "with the median of your **first 2 weeks** (your baseline).\n"
            "- A change counts as real only when it is at least the measure's **minimal detectable change (MDC)**: "
            "smaller changes are inside the shaded band on the charts and could be noise.\n"
            "- We need **4 weeks of data** before we call anything improved or worsened.\n"
            "- The trend per week is a robust slope (Theil–Sen): one odd week cannot swing it.\n"
            "- Weeks without readings are left as gaps, never filled in.\n"
            "- If you changed how you measure (tool, position, or who measured), the chart marks it: a jump there "
            "may be the instrument, not your hip.\n"
            "- **Your activities (PSFS)**: you name 3 to 5 activities you find hard and rate each from 0 (unable) to "
            "10 (as before); the score is their mean, asked again every 2 weeks. The same rules apply: a change of "
            "**2 points** in the mean, or **3 points** in one activity, is called improved or worsened "
            "(Stratford 1995); anything smaller could be noise."
        )
        table = catalog.measures_frame()[["label", "unit", "mdc", "typical_low", "typical_high"]].copy()
        table["source of the MDC"] = [m.mdc_source for m in catalog.MEASURES.values()]
        protocols = [catalog.PROTOCOLS[m] for m in catalog.MEASURES]
        table["protocol"] = [f"{p.text} ({p.source})" for p in protocols]
        table.columns = [
            "Measure", "Unit", "MDC", "Typical low", "Typical high", "Source of the MDC", "How it is measured",
        ]  # fmt: skip
        st.dataframe(table, hide_index=True, width="stretch")


@st.cache_resource(show_spinner=False, max_entries=256)
def _progress_figures(
    path: str, version: int, actor: Actor, patient_id: str, as_of: date, group: str, since, with_goals: bool
) -> dict:
    """The charts of one patient and measure group, the glance first. Kept as objects and shared, never
    copied: unpickling a Plotly figure (what st.cache_data does on every hit) checks all of it again, and
    cost more than the rest of the page's run. Read only: st.plotly_chart copies what it sends."""
    from hipdata import charts

    result = _cached_trends(path, version, actor, as_of, patient_id)  # the same cache key as the page
    readings = store().readings(actor, patient_id)
    goals = store().records(actor, "goals", patient_id) if with_goals else None
    figures = {"glance": charts.progress_at_a_glance(result.trends)}
    if group == "pain":
        figures["heatmap"] = charts.pain_heatmap(result.weekly)
    measures = [m for m in result.trends["measure"].unique() if catalog.MEASURES[m].group == group]
    figures.update(charts.measure_charts(measures, readings, result.weekly, result.trends, goals, since))
    return figures


def progress_view(actor: Actor, patient_id: str, with_goals: bool = True, key: str = "progress") -> None:
    """Summary cards and charts of one patient, one measure group at a time (light on a phone)."""
    as_of = date.today()
    version = patient_version(actor, patient_id)  # one read of the version for the page and its charts
    result = _cached_trends(db_path(), version, actor, as_of, patient_id)
    if result.trends.empty:
        st.info("No readings yet. After your first weekly check-in your progress appears here.")
        explainer()
        return
    span = st.segmented_control(
        "Show", ["Last 12 weeks", "All weeks"], default="Last 12 weeks", key=f"{key}-span"
    )
    since = pd.Timestamp(as_of) - pd.Timedelta(weeks=12) if span != "All weeks" else None
    groups = dict(catalog.GROUP_LABELS)
    group = (
        st.segmented_control(
            "Measures", list(groups), format_func=groups.get, default="rom", key=f"{key}-group"
        )
        or "rom"
    )
    figures = _progress_figures(db_path(), version, actor, patient_id, as_of, group, since, with_goals)
    glance, *charts = figures.items()
    chart(glance[1], key=f"{key}-glance")
    rows = result.trends[result.trends["measure"].map(lambda m: catalog.MEASURES[m].group) == group]
    columns = st.columns(2)
    for i, row in enumerate(rows.itertuples(index=False)):  # at most 8 cards: display, not analysis
        metric_card(columns[i % 2], row)
    for name, figure in charts:
        chart(figure, key=f"{key}-{name}")
    explainer()


@st.cache_resource(show_spinner=False)
def _kept_caseloads() -> tuple[dict, threading.Lock]:
    """Caseload tables kept between runs and sessions of this server process, with their versions."""
    return {}, threading.Lock()


def cached_caseload(actor: Actor, as_of: date, patient_id: str | None = None) -> pd.DataFrame:
    """The caseload table, or one patient's row of it; after a write only the changed patients' rows are
    recomputed (caseload.refreshed)."""
    from hipdata.caseload import refreshed

    kept, lock = _kept_caseloads()
    key = (db_path(), actor, as_of, patient_id)
    with lock:
        previous = kept.pop(key, None)
    current = refreshed(store(), actor, as_of, previous, patient_id)
    with lock:
        kept[key] = current  # the most recently used last
        while len(kept) > KEPT_CASELOADS:
            kept.pop(next(iter(kept)))
    return current.table


def first_steps(actor: Actor) -> None:
    """The empty-database welcome: what to do first."""
    st.info(
        "Welcome to hipdata. There are no patients yet. To start:\n\n"
        "1. **Add a patient** or **import readings** on the Data page, or\n"
        "2. **Load demo data** to explore with 12 synthetic patients."
    )
    col1, col2 = st.columns(2)
    if col1.button("Load demo data", type="primary", key="first-demo"):
        from hipdata.demo import load_demo

        with st.spinner("Creating demo patients"):
            try:
                load_demo(store(), actor)
            except PermissionError:
                st.error("The demo patients already exist and belong to another therapist.")
                return
        st.rerun()
    col2.page_link("app_pages/data.py", label="Go to the Data page", icon=":material/table:")


def add_goal(actor: Actor, patient_id: str, series: tuple[str, str], target, by) -> None:
    from hipdata.validate import clean_goal

    goal = clean_goal(series[0], series[1], target, by)
    store().add_records(actor, "goals", goal.assign(patient_id=patient_id))


def goals_table(status: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Series": [series_label(m, s) for m, s in zip(status["measure"], status["side"], strict=True)],
            "Target": [format_value(m, v) for m, v in zip(status["measure"], status["target"], strict=True)],
            "By": pd.to_datetime(status["target_date"]).dt.date,
            "Current": [
                format_value(m, v) for m, v in zip(status["measure"], status["current"], strict=True)
            ],
            "Status": status["status"],
        }
    )


def programme_table(programme: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Exercise": programme["exercise"].map(lambda e: catalog.EXERCISES[e].label),
            "Sessions per week": programme["sessions_per_week"],
            "Dose": programme["dose"],
        }
    )


def notes_timeline(notes: pd.DataFrame) -> None:
    """Therapist notes grouped by week, newest first; note text is shown literally."""
    if notes.empty:
        st.caption("No notes yet.")
        return
    for week, group in notes.sort_values(["week", "id"], ascending=False).groupby("week", sort=False):
        st.markdown(f"**Week of {pd.Timestamp(week):%d %b %Y}**")
        for note in group.itertuples():
            st.text(f"{note.text}\n— {note.entered_by}, {pd.Timestamp(note.entered_at):%d %b %Y %H:%M}")


def context_history(readings: pd.DataFrame) -> pd.DataFrame:
    from hipdata.context import context_changes

    changes = context_changes(readings)
    return changes.assign(
        date=pd.to_datetime(changes["date"]).dt.date,
        measure=[series_label(m, s) for m, s in zip(changes["measure"], changes["side"], strict=True)],
    ).drop(columns="side")


def deleted_table(deleted: pd.DataFrame) -> pd.DataFrame:
    """Deleted readings as the review page lists them: one line naming each, then when and by whom."""
    values = [format_value(m, v) for m, v in zip(deleted["measure"], deleted["value"], strict=True)]
    series = [series_label(m, s) for m, s in zip(deleted["measure"], deleted["side"], strict=True)]
    dates = pd.to_datetime(deleted["date"]).dt.strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "Reading": [
                f"#{i}, {d}: {s} {v}" for i, d, s, v in zip(deleted["id"], dates, series, values, strict=True)
            ],
            "Deleted": pd.to_datetime(deleted["deleted_at"]).dt.strftime("%Y-%m-%d %H:%M"),
            "By": deleted["deleted_by"],
        }
    )


def lefs_form(actor: Actor, patient_id: str, day: date) -> None:
    """Ask for the LEFS when it is due: at the start and every 4 weeks."""
    from hipdata import lefs

    scores = store().records(actor, "lefs", patient_id)
    if not lefs.due(scores, day):
        last = pd.to_datetime(scores["date"]).max()
        st.caption(f"LEFS questionnaire: next due {(last + lefs.INTERVAL):%d %b %Y}.")
        return
    with st.expander("The LEFS questionnaire is due: 20 questions, about 3 minutes", expanded=False):
        st.caption("Today, do you or would you have any difficulty at all with:")
        with st.form("lefs"):
            answers = [
                st.selectbox(
                    f"{i}. {item}",
                    list(lefs.ANSWERS),
                    index=None,
                    key=f"lefs-{i}",
                    format_func=lambda a: f"{a} – {lefs.ANSWERS[a]}",
                )  # fmt: skip
                for i, item in enumerate(lefs.ITEMS, start=1)
            ]
            if st.form_submit_button("Save questionnaire"):
                try:
                    total = lefs.score(answers)
                except ValueError as error:
                    st.error(str(error))
                else:
                    row = {"patient_id": [patient_id], "date": [pd.Timestamp(day)],
                           "answers": [lefs.encode(answers)], "total": [total]}  # fmt: skip
                    store().add_records(actor, "lefs", pd.DataFrame(row))
                    st.success(f"LEFS saved: {total}/80.")


def psfs_form(actor: Actor, patient_id: str, day: date) -> None:
    """The PSFS at check-in (hipdata.ui_psfs): its activities at the start, their ratings every 2 weeks."""
    from hipdata.ui_psfs import psfs_form

    psfs_form(actor, patient_id, day)
