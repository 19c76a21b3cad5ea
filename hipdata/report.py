"""A self-contained HTML progress report for one patient: opens offline and prints well to PDF.

plotly.js is inlined once; nothing is loaded from the network. Every piece of user text is HTML-escaped.
"""

from __future__ import annotations

from datetime import date
from html import escape
from pathlib import Path

import pandas as pd
from plotly.offline import get_plotlyjs

from hipdata import catalog, charts, lefs, plan, psfs
from hipdata.analysis import progress
from hipdata.auth import Actor
from hipdata.caseload import adherence
from hipdata.csv_io import readings_csv
from hipdata.goals import goal_status
from hipdata.store import AccessDenied, Store

STATUS_TEXT = {
    "improved": "improved",
    "worsened": "worsened",
    "no_detectable_change": "no detectable change",
    "insufficient_data": "needs 4 weeks of data",
}

MEASURE_CHART_HEIGHT = 490  # px: two of them and their gaps fit an A4 page (about 1,030 px printable)

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 680px;
       color: #1b1b1b; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
     border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { border-bottom: 1px solid #e3e3e3; padding: .3rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.improved { color: #0072B2; font-weight: 600; } .worsened { color: #D55E00; font-weight: 600; }
.muted { color: #666; font-size: .85rem; }
.chart, .block, table, tr, .note { page-break-inside: avoid; break-inside: avoid; }
.note { white-space: pre-wrap; margin: .3rem 0 .8rem; }
/* The page is as wide as A4's printable width (186 mm at 12 mm margins), so the charts drawn on screen are
   the charts printed; every chart is shorter than a page, and none is split between two. */
@page { size: A4; margin: 12mm; }
@media print { body { margin: 0 auto; padding: 0; } h2 { page-break-after: avoid; break-after: avoid; } }
"""


def _catalog_order(measures: pd.Series) -> pd.Series:
    """Range of motion first, then field tests, then pain: the order of the catalog."""
    return measures.map({m: i for i, m in enumerate(catalog.MEASURES)})


def _fmt(value, digits: int = 1) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(figure) -> str:
    figure.update_layout(width=None, autosize=True)
    return (
        '<div class="chart">'
        + figure.to_html(
            full_html=False, include_plotlyjs=False, config={"responsive": True, "displaylogo": False}
        )
        + "</div>"
    )


def _psfs_section(store: Store, actor: Actor, patient_id: str, as_of: date) -> list[str]:
    """The PSFS: score, change judged against the MDC in words, one row per activity, and the chart."""
    parts = ["<h2>Patient-Specific Functional Scale (PSFS)</h2>"]
    rows = store.records(actor, "psfs", patient_id)
    rows = rows[pd.to_datetime(rows["date"]) <= pd.Timestamp(as_of)]
    if rows.empty:
        return [*parts, "<p>No PSFS recorded.</p>"]
    trend = psfs.trend(rows, as_of)
    table = [
        [escape("Score (mean)" if t.series == psfs.MEAN else t.series), str(t.weeks), _fmt(t.baseline),
         _fmt(t.current), _fmt(t.change), _fmt(t.mdc), f'<span class="{t.status}">{STATUS_TEXT[t.status]}</span>']
        for t in trend.itertuples()
    ]  # fmt: skip
    headers = ["Activity", "Weeks", "Baseline", "Current", "Change", "MDC", "Status"]
    parts.append("<p>The patient's own activities, rated 0 (unable) to 10 (as before the problem). A change of "
                 f"{psfs.MDC:g} points in the mean, or {psfs.MDC_ACTIVITY:g} in one activity, is beyond measurement "
                 "noise (Stratford 1995).</p>")  # fmt: skip
    parts.append(_table(headers, table, numeric={1, 2, 3, 4, 5}))
    parts.append(_chart(charts.psfs_chart(rows, trend)))
    return parts


def report_html(store: Store, actor: Actor, patient_id: str, as_of: date | None = None) -> str:
    """The whole report as one HTML string; it names only this patient."""
    as_of = as_of or date.today()
    if not store.may_see(actor, patient_id):
        raise AccessDenied(f"no patient {patient_id} that {actor.username} may see")
    result = progress(store, actor, as_of, patient_id)
    readings = store.readings(actor, patient_id, as_of)
    patient = store.patients(actor).set_index("patient_id").loc[patient_id]
    # Notes and LEFS about weeks after as_of are left out, so a report for a past day can be reproduced.
    until = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    goals = store.records(actor, "goals", patient_id)
    notes = store.records(actor, "notes", patient_id)
    notes = notes[pd.to_datetime(notes["week"]) < until]
    programme = store.records(actor, "programme", patient_id)
    log = store.records(actor, "exercise_log", patient_id)
    scores = store.records(actor, "lefs", patient_id)
    scores = scores[pd.to_datetime(scores["date"]) < until]
    name = escape(patient_id) + (f" · {escape(patient['display_name'])}" if patient["display_name"] else "")

    parts = [f"<h1>Progress report: {name}</h1>", f'<p class="muted">Readings up to {as_of:%d %B %Y}. '
             "A change counts as real only when it is at least the measure's minimal detectable change (MDC); "
             "baseline = median of the first 2 weeks with data, current = median of the last 2.</p>"]  # fmt: skip

    parts.append("<h2>Summary</h2>")
    ordered = result.trends.sort_values("measure", key=_catalog_order, kind="stable")
    headers = ["Series", "Unit", "Weeks", "Baseline", "Current", "Change", "MDC", "Slope / week", "Status"]
    group = ordered["measure"].map(lambda m: catalog.MEASURES[m].group)
    for key, label in catalog.GROUP_LABELS.items():  # one table per group: each fits a printed page
        rows = [
            [
                escape(catalog.MEASURES[r.measure].label + (f" ({r.side})" if r.side else "")),
                escape(catalog.MEASURES[r.measure].unit_label),
                str(r.weeks), _fmt(r.baseline), _fmt(r.current), _fmt(r.change), _fmt(r.mdc),
                _fmt(r.slope_per_week, 2), f'<span class="{r.status}">{STATUS_TEXT[r.status]}</span>',
            ]
            for r in ordered[group == key].itertuples()
        ]  # fmt: skip
        if rows:
            table = _table(headers, rows, numeric={2, 3, 4, 5, 6, 7})
            parts.append(f'<div class="block"><h3>{escape(label)}</h3>{table}</div>')
    if ordered.empty:
        parts.append("<p>No readings yet.</p>")
    flags = result.flags
    if len(flags):
        f = flags.iloc[0]
        raised = [n for n in ("inactive", "worsening", "pain_rising", "plateau") if f[n]]
        raised += [f"asymmetry: {', '.join(f['asymmetry'])}"] if len(f["asymmetry"]) else []
        parts.append(f"<p><b>Flags:</b> {escape(', '.join(raised) or 'none')}</p>")
    in_force = plan.current(store.records(actor, "plans", patient_id), patient_id)
    asked = ", ".join(catalog.MEASURES[m].label + (f" ({side})" if side else "") for m, side in in_force)
    parts.append(f"<p><b>Measurement plan:</b> {escape(plan.name(in_force))}: {escape(asked)}</p>")

    if len(result.trends):
        parts.append("<h2>Charts</h2>")
        # One glance chart per group, so each fits a printed page (all series at once can be taller).
        group = result.trends["measure"].map(lambda m: catalog.MEASURES[m].group)
        for key, label in catalog.GROUP_LABELS.items():
            if (group == key).any():
                title = f"Progress at a glance: {label}"
                parts.append(_chart(charts.progress_at_a_glance(result.trends[group == key], title)))
        measures = list(result.trends["measure"].unique())
        figures = charts.measure_charts(measures, readings, result.weekly, result.trends, goals)
        # Two measure charts to a printed page.
        parts += [_chart(figure.update_layout(height=MEASURE_CHART_HEIGHT)) for figure in figures.values()]
        if result.weekly["measure"].map(lambda m: catalog.MEASURES[m].group == "pain").any():
            parts.append(_chart(charts.pain_heatmap(result.weekly)))

    parts.append("<h2>Goals</h2>")
    if len(goals):
        status = goal_status(goals, result.trends, as_of)
        goal_rows = [
            [escape(catalog.MEASURES[g.measure].label + (f" ({g.side})" if g.side else "")), _fmt(g.target),
             f"{pd.Timestamp(g.target_date):%d %b %Y}", _fmt(g.current), escape(g.status)]
            for g in status.itertuples()
        ]  # fmt: skip
        parts.append(_table(["Series", "Target", "By", "Current", "Status"], goal_rows, numeric={1, 3}))
    else:
        parts.append("<p>No goals set.</p>")

    parts.append("<h2>Exercise programme and adherence</h2>")
    if len(programme):
        done = adherence(log, programme, as_of)
        share = done.get(patient_id)
        parts.append(_table(
            ["Exercise", "Sessions per week", "Dose"],
            [[escape(catalog.EXERCISES[p.exercise].label), str(p.sessions_per_week), escape(p.dose)]
             for p in programme.itertuples()],
            numeric={1},
        ))  # fmt: skip
        parts.append(
            f"<p>Adherence over the last 4 weeks: {_fmt(None if share is None else 100 * share, 0)} %</p>"
        )
        parts.append(_chart(charts.adherence_chart(log, programme)))
    else:
        parts.append("<p>No programme set.</p>")

    parts.append("<h2>Lower Extremity Functional Scale (LEFS)</h2>")
    if len(scores):
        s = lefs.summary(scores).iloc[0]
        verdict = "a clinically important change" if s.lefs_important else "not a clinically important change"
        parts.append(f"<p>First {s.lefs_first}/80, latest {s.lefs_latest}/80: change {s.lefs_change:+d} ({verdict}; "
                     "9 points or more is important).</p>")  # fmt: skip
        parts.append(_chart(charts.lefs_chart(scores)))
    else:
        parts.append("<p>No LEFS recorded.</p>")

    parts += _psfs_section(store, actor, patient_id, as_of)

    parts.append("<h2>Notes</h2>")
    if len(notes):
        for n in notes.sort_values(["week", "id"]).itertuples():
            parts.append(f"<p><b>Week of {pd.Timestamp(n.week):%d %b %Y}</b> ({escape(n.entered_by)})</p>"
                         f'<div class="note">{escape(n.text)}</div>')  # fmt: skip
    else:
        parts.append("<p>No notes.</p>")

    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>hipdata report {escape(patient_id)}</title><style>{CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        + "\n".join(parts)
        + f'<p class="muted">Generated by hipdata on {date.today():%d %B %Y}.</p></body></html>'
    )


def write_report(store: Store, actor: Actor, patient_id: str, path: Path, as_of: date | None = None) -> Path:
    """Write the HTML report and, beside it, a CSV of the readings it reads (up to as_of); return the CSV's path."""
    path = Path(path)
    as_of = as_of or date.today()
    path.write_text(report_html(store, actor, patient_id, as_of), encoding="utf-8")
    csv_path = path.with_name(f"{path.stem}-readings.csv")
    # the readings behind the report: the same as_of cut as the HTML
    csv_path.write_bytes(readings_csv(store.readings(actor, patient_id, as_of)))
    return csv_path
