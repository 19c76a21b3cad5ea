"""Plotly figure builders: DataFrames of one patient in, go.Figure out. No I/O, no database, no streamlit.

Each figure is written as one plain dict (traces, shapes, annotations, layout) and wrapped in a go.Figure
without plotly's check of every property: that check cost as much as all the rest of a chart, on every
page run that builds one. tests/test_charts.py checks every builder's figures with it instead.

The charts carry the clinical rules (CLINICAL_RULES.md sections 1, 3, 6) to the eye: weekly medians with
gaps where nothing was logged (never interpolated), the baseline +/- MDC band that a change has to leave to
be real, and markers where the measurement method, position, mode or rater changed, because a jump there
may be the instrument and not the hip. Colours are Okabe-Ito (colour-blind safe) and the two sides also
differ in marker shape, so nothing depends on colour alone.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
import plotly.io as pio

from hipdata import catalog
from hipdata.text import counted

# Okabe-Ito palette.
SIDE_COLOURS = {"left": "#0072B2", "right": "#E69F00", "": "#009E73"}
SIDE_SYMBOLS = {"left": "circle", "right": "diamond", "": "circle"}
STATUS_COLOURS = {
    "improved": "#0072B2",
    "worsened": "#D55E00",
    "no_detectable_change": "#999999",
    "insufficient_data": "#E3E3E3",
}
STATUS_TEXT = {
    "improved": "improved",
    "worsened": "worsened",
    "no_detectable_change": "no detectable change",
    "insufficient_data": "insufficient data",
}
EXERCISE_COLOURS = ("#56B4E9", "#E69F00", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999")
HEATMAP_TEXT_WEEKS = 16  # beyond this many weeks the numbers no longer fit the cells on a phone
# ColorBrewer YlOrRd, sequential: colour-blind safe, darker = more pain. Spelled out: plotly.js has its own,
# reversed, scale of that name, and the figures are not resolved by plotly.py's checks (_figure).
PAIN_COLOURSCALE = plotly.colors.get_colorscale("YlOrRd")
GROUP_ORDER = {"rom": 0, "field": 1, "pain": 2}
CONTEXT_LABELS = {"method": "method", "position": "position", "mode": "mode", "measured_by": "rater"}
BAND_NOTE = "Inside the band = no detectable change"
FONT_SIZE = 14
MAX_TICKS = 6  # date ticks per axis: six "Sep 21" labels fit a phone without rotating
TITLE_LINE = 21  # px per title line at 16 px, for the top margin
TITLE_WRAP = 36  # characters per title line that still fit a ~375 px phone screen
PAD = pd.Timedelta(days=4)  # minimum x padding so the first and last points are not cut in half
Rows = dict[str, np.ndarray]  # one series' rows: each column as an array


def _house_template() -> dict:
    """plotly_white, kept to what these charts draw: scatter, bar and heatmap traces on x and y axes.

    plotly copies a figure's whole template; the full one (maps, 3-D scenes, two dozen trace types) made
    up most of a chart's build time and half of the JSON each chart sends to the browser.
    """
    full = pio.templates["plotly_white"].to_plotly_json()
    unused = ("geo", "polar", "scene", "ternary", "coloraxis", "colorscale")
    return {
        "data": {trace: full["data"][trace] for trace in ("scatter", "bar", "heatmap")},
        "layout": {key: value for key, value in full["layout"].items() if key not in unused},
    }


TEMPLATE = _house_template()


# ---- small helpers ----------------------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{round(float(value), 1) + 0.0:g}"  # + 0.0 turns -0.0 into 0.0


def _with_unit(m: catalog.Measure, value: float) -> str:
    return {"deg": f"{_num(value)}°", "cm": f"{_num(value)} cm", "nprs": f"{_num(value)}/10"}[m.unit]


def _signed(value: float) -> str:
    return f"{round(float(value), 1) + 0.0:+.1f}".replace("+0.0", "0")


def _change_with_unit(m: catalog.Measure, value: float) -> str:
    sign = "+" if value > 0 else ""
    unit = {"deg": "°", "cm": " cm", "nprs": " points"}[m.unit]
    return f"{sign}{_num(value)}{unit}"


def _series_label(measure_id: str, side: str) -> str:
    label = catalog.MEASURES[measure_id].label
    return f"{label} ({side})" if side else label


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _dates(values) -> pd.Series:
    """Any date-like column as datetime64[ns], so dates from DuckDB, pandas and tests compare equal."""
    values = pd.Series(values)
    return values if values.dtype == "datetime64[ns]" else pd.to_datetime(values).astype("datetime64[ns]")


def _monday(when) -> pd.Timestamp:
    day = pd.Timestamp(when).normalize()
    return day - pd.Timedelta(days=day.weekday())


def _mondays(values) -> pd.Series:
    """The Monday that names each date's ISO week."""
    days = _dates(values).dt.normalize()
    return days - pd.to_timedelta(days.dt.day_of_week, unit="D")


def _pretty(values: pd.Series) -> pd.Series:
    """'phone_app' -> 'phone app' for people to read."""
    return values.astype(str).str.replace("_", " ")


def _pretty_one(value) -> str:
    return str(value).replace("_", " ")


def _joined(parts: list[pd.Series], sep: str) -> pd.Series:
    """Row by row, the non-empty strings of `parts` joined by `sep` (a loop over the columns, not the rows)."""
    text = parts[0]
    for part in parts[1:]:
        text = text + np.where(text.ne("") & part.ne(""), sep, "") + part
    return text


def _wrap(text: str, width: int = TITLE_WRAP) -> str:
    """Break a long title for a phone, keeping a trailing '(... is better)' hint on a line of its own."""
    if len(text) <= width:
        return text
    main, paren, hint = text.rpartition(" (")
    if not paren:
        return "<br>".join(textwrap.wrap(text, width))
    return "<br>".join([*textwrap.wrap(main, width), "(" + hint])


def _layout(title: str, height: int, meta: dict | None = None, top: int = 0, **more) -> dict:
    """The house style: clean template, phone-friendly margins, a horizontal legend under the plot.

    top: extra room above the plot (for a note under the title); more: further layout properties.
    """
    title = _wrap(title)
    return dict(
        template=TEMPLATE,
        height=height,
        font=dict(size=FONT_SIZE),
        # Plotly anchors a multi-line title by its first line: centre that line one line from the top.
        title=dict(
            text=title,
            x=0,
            xref="container",
            xanchor="left",
            pad=dict(l=12),
            y=1 - TITLE_LINE / height,
            yref="container",
            yanchor="middle",
            font=dict(size=16),
        ),
        margin=dict(l=56, r=16, t=TITLE_LINE * (1 + title.count("<br>")) + 20 + top, b=16),
        # Anchored to the figure's bottom edge, not the plot's, so it never collides with the x axis title.
        legend=dict(
            orientation="h",
            x=0,
            xanchor="left",
            xref="container",
            y=0,
            yanchor="bottom",
            yref="container",
            traceorder="normal",
            font=dict(size=13),
        ),
        hoverlabel=dict(font=dict(size=13)),
        meta=meta or {},
        **more,
    )


def _week_ticks(first, last) -> dict:
    """x axis ticks on Mondays (the day that names a week; plotly's default is Sundays), a whole number of
    weeks apart and few enough to stay horizontal on a phone."""
    weeks = max((pd.Timestamp(last) - pd.Timestamp(first)).days / 7, 1)
    step = int(np.ceil(weeks / MAX_TICKS))
    return dict(tick0=_monday(first), dtick=step * 7 * 86_400_000)  # dtick in milliseconds


def _figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure of plain trace and layout dicts, taken as they are (see the module docstring)."""
    return go.Figure(dict(data=data, layout=layout), _validate=False)


def _empty(title: str, message: str, meta: dict | None = None) -> go.Figure:
    """A figure that says there is nothing to draw yet, instead of an empty grid."""
    note = dict(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                font=dict(size=15, color="#555555"))  # fmt: skip
    layout = _layout(title, 260, {**(meta or {}), "empty": True}, annotations=[note],
                     xaxis=dict(visible=False), yaxis=dict(visible=False))  # fmt: skip
    return _figure([], layout)


def _band(x0, x1, low: float, high: float, **trace) -> dict:
    """A horizontal band as a closed filled polygon: a trace (not a shape), so it has a name, hover text
    and, where wanted, a legend entry."""
    return dict(
        type="scatter",
        x=[x0, x1, x1, x0, x0],
        y=[low, low, high, high, low],
        mode="lines",
        fill="toself",
        line=dict(width=0),
        hoveron="fills",
        **trace,
    )


# ---- measure chart ----------------------------------------------------------------------------------------


def _context_changes(readings: pd.DataFrame) -> pd.DataFrame:
    """Readings whose method, position, mode or rater differs from the last known one of the same series.

    A blank context is "not recorded", not a new context: it neither raises a marker nor resets the
    comparison, so phone_app, (blank), goniometer is one change, at the goniometer reading.
    """
    columns = [c for c in CONTEXT_LABELS if c in readings.columns]
    if readings.empty or not columns:
        return readings.iloc[0:0].assign(change="")
    ordered, starts = _in_series_order(readings, "date", *(["id"] if "id" in readings.columns else []))
    # On whole arrays: for each reading, the row of the last known value of each column before it in its
    # series (a forward fill and a shift within each series, without a groupby).
    rows = np.arange(len(ordered))
    is_start = np.zeros(len(ordered), dtype=bool)
    is_start[starts] = True
    first = np.maximum.accumulate(np.where(is_start, rows, 0))
    context, previous, changed = {}, {}, {}
    for c in columns:
        values = ordered[c].to_numpy(object)
        known = pd.notna(values) & (values != "")
        before = np.r_[-1, np.maximum.accumulate(np.where(known, rows, -1))[:-1]]
        seen = before >= first
        context[c], previous[c] = np.where(known, values, None), np.where(seen, values[before], None)
        changed[c] = known & seen & (values != values[before])
    rows = np.logical_or.reduce([changed[c] for c in columns])
    if not rows.any():  # the usual case: text is only built for the few readings where something changed
        return ordered.iloc[0:0].assign(change="")
    text = [
        "<br>".join(
            f"{CONTEXT_LABELS[c]}: {_pretty_one(previous[c][i])} → {_pretty_one(context[c][i])}"
            for c in columns
            if changed[c][i]
        )
        for i in np.flatnonzero(rows)
    ]  # the few readings where the context changed
    return ordered[rows].assign(change=text)


def _context_text(readings: pd.DataFrame) -> pd.Series:
    """'goniometer · seated · active · by therapist' for hover, skipping what was not recorded."""
    columns = [c for c in CONTEXT_LABELS if c in readings.columns]
    if not columns or readings.empty:
        return pd.Series("context not recorded", index=readings.index, dtype=object)
    # A patient has a handful of distinct contexts: each is written once, then taken by its readings.
    key = np.zeros(len(readings), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(readings[column])  # missing as -1
        key = key * (len(uniques) + 1) + codes + 1
    _, first, which = np.unique(key, return_index=True, return_inverse=True)
    text = []
    for context in readings[columns].iloc[first].itertuples(index=False):  # the few distinct contexts
        words = [("by " if c == "measured_by" else "") + str(v).replace("_", " ")
                 for c, v in zip(columns, context, strict=True) if pd.notna(v) and v != ""]  # fmt: skip
        text.append(" · ".join(words) or "context not recorded")
    text = np.array(text, dtype=object)
    return pd.Series(text[which], index=readings.index, dtype=object)


def _weekly_with_gaps(weekly: Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One series' weekly values (a row per week, in week order) on every Monday from the first to the
    last week: (mondays, values, counts), NaN and 0 where nothing was logged (a gap, never a guess)."""
    weeks = weekly["week"].astype("datetime64[ns]")
    seven_days = np.timedelta64(7, "D")
    at = (weeks - weeks[0]) // seven_days
    mondays = weeks[0] + np.arange(at[-1] + 1) * seven_days
    values, counts = np.full(len(mondays), np.nan), np.zeros(len(mondays), dtype=np.int64)
    values[at], counts[at] = weekly["value"].astype(float), weekly["n"].astype(np.int64)
    return mondays, values, counts


def _title(m: catalog.Measure) -> str:
    return f"{m.label} ({'↑ higher' if m.better == 'higher' else '↓ lower'} is better)"


def _axis_title(m: catalog.Measure) -> str:
    return {"deg": "Angle (°)", "cm": "Distance (cm)", "nprs": "Pain (0-10)"}[m.unit]


def _tidy(frame: pd.DataFrame | None, date_column: str | None = None) -> pd.DataFrame:
    """Side '' rather than missing, dates as datetime64; no rows at all as an empty frame with the keys."""
    if frame is None or frame.empty:
        return pd.DataFrame(columns=["measure", "side", *([date_column] if date_column else [])])
    out = frame.assign(measure=frame["measure"].astype(str), side=frame["side"].fillna("").astype(str))
    if date_column:
        out[date_column] = _dates(out[date_column]).to_numpy()
    return out


def _in_series_order(frame: pd.DataFrame, *within: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows grouped by series (measure and side), each series' rows in `within` order (else as they
    came), and the position where each series starts: one stable sort on integer codes, not on text."""
    measure, side = pd.factorize(frame["measure"])[0], pd.factorize(frame["side"])[0]
    order = np.lexsort([*(frame[c].to_numpy() for c in reversed(within)), side, measure])
    series = (measure * (side.max() + 1) + side)[order]
    return frame.iloc[order], np.flatnonzero(np.r_[True, series[1:] != series[:-1]])


def _by_series(frame: pd.DataFrame, order: str | None = None) -> dict[str, dict[str, Rows]]:
    """{measure: {side: rows}}, each series' rows in `order` (else as they came): one sort, each column
    taken out of the frame once, and a slice of those arrays per series (a column of a frame costs far
    more to read than a slice of an array)."""
    if frame.empty:
        return {}
    frame, starts = _in_series_order(frame, *([order] if order else []))
    columns = {c: frame[c].to_numpy() for c in frame.columns}
    measure, side = columns["measure"][starts], columns["side"][starts]
    parts: dict[str, dict[str, Rows]] = {}
    for k, (a, b) in enumerate(zip(starts, [*starts[1:], len(frame)], strict=True)):
        parts.setdefault(measure[k], {})[side[k]] = {c: values[a:b] for c, values in columns.items()}
    return parts


def measure_chart(
    measure_id: str,
    readings: pd.DataFrame,
    weekly: pd.DataFrame,
    trends: pd.DataFrame,
    goals: pd.DataFrame | None = None,
    since=None,
) -> go.Figure:
    """One measure, both sides: single readings, weekly medians with gaps, baseline +/- MDC, typical range,
    context changes and goals. `since` shows whole weeks from the Monday of that date on (so every weekly
    median shown has all its readings shown), while the baseline band stays where the baseline is."""
    return measure_charts([measure_id], readings, weekly, trends, goals, since)[measure_id]


def measure_charts(
    measure_ids: list[str],
    readings: pd.DataFrame,
    weekly: pd.DataFrame,
    trends: pd.DataFrame,
    goals: pd.DataFrame | None = None,
    since=None,
) -> dict[str, go.Figure]:
    """measure_chart of each measure of one patient; the work on the patient's frames is done once."""
    readings = _tidy(readings, "date")
    # Hover text and the Monday each reading is drawn on, for all measures at once; the few distinct days
    # are formatted once each.
    codes, days = pd.factorize(readings["date"])
    day_text = (
        pd.DatetimeIndex(days).strftime("%a %d %b %Y").to_numpy(dtype=object)[codes] if len(days) else []
    )
    readings = readings.assign(
        context=_context_text(readings), week=_mondays(readings["date"]).to_numpy(), day=day_text
    )
    # Context changes are found on the full history so a change right at `since` is still seen.
    changes = _context_changes(readings)
    weekly = _tidy(weekly, "week")
    if "n" not in weekly.columns:
        weekly["n"] = 1
    goals = _tidy(goals, "target_date")
    if "target" not in goals.columns:
        goals["target"] = pd.Series(dtype=float)
    start = _monday(since) if since is not None else None
    if start is not None:
        readings = readings[readings["date"] >= start]
        weekly = weekly[weekly["week"] >= start]
        changes = changes[changes["date"] >= start]
    trends = _tidy(trends)
    by_series = {}  # the first trend row of each series, as a dict: a row as a Series costs far more
    if "baseline" in trends.columns:
        for row in trends.drop_duplicates(["measure", "side"]).to_dict("records"):
            by_series.setdefault(row["measure"], {})[row["side"]] = row
    split = [_by_series(readings, "date"), _by_series(weekly, "week"), by_series, _by_series(goals),
             _by_series(changes)]  # fmt: skip
    return {
        measure_id: _measure_figure(catalog.MEASURES[measure_id], start, *[part.get(measure_id, {}) for part in split])
        for measure_id in measure_ids
    }  # fmt: skip


PANEL_HEIGHT = 210  # px of plot per side
PANEL_GAP = 0.16  # share of the plot height between two panels: room for the lower panel's label
PANEL_VERDICT = {
    "improved": "improved",
    "worsened": "worsened",
    "no_detectable_change": "no real change yet",
    "insufficient_data": "needs 4 weeks of data",
}


def _panel_label(m: catalog.Measure, side: str, trend: dict | None) -> str:
    """'Left: improved, +9° since baseline': the answer each panel gives, in words."""
    name = f"<b>{side.capitalize()}</b>: " if side else ""
    if trend is None or pd.isna(trend.get("baseline")):
        return f"{name}no baseline yet"
    status = str(trend.get("status", ""))
    verdict = PANEL_VERDICT.get(status, status.replace("_", " "))
    change = trend.get("change")
    if status == "insufficient_data" or pd.isna(change):
        return f"{name}{verdict}"
    return f"{name}{verdict}, {_change_with_unit(m, change)} since baseline"


def _legend_key(name: str, **style) -> dict:
    """A legend entry only (no data): explains a mark drawn in every panel, once."""
    return dict(type="scatter", x=[None], y=[None], name=name, showlegend=True, hoverinfo="skip", **style)


Sides = dict[str, Rows]  # one measure's rows of a frame, by side


def _measure_figure(
    m: catalog.Measure,
    start: pd.Timestamp | None,
    readings: Sides,
    weekly: Sides,
    trends: dict[str, dict],
    goals: Sides,
    changes: Sides,
) -> go.Figure:
    """The chart of one measure from its rows by side, tidied and cut to `start` by measure_charts.

    One panel per side, stacked on one shared week axis and one value scale: each panel has only its own
    baseline +/- MDC band, so a glance tells whether that side has left it. Single readings are drawn on
    the Monday of their week, in line with that week's median (the day is in the hover text). The
    typical adult range is a grey bar at the right edge, not a fill over the data.
    """
    title = _title(m)
    meta = {"chart": "measure", "measure": m.id}
    if not readings and not weekly:
        message = "No readings yet" if start is None else f"No readings since {start:%d %b %Y}"
        return _empty(title, message, meta)

    def column(sides: Sides, name: str, kind: str) -> np.ndarray:
        return np.concatenate([rows[name].astype(kind) for rows in sides.values()] or [np.array([], kind)])

    shown = np.concatenate([column(readings, "week", "datetime64[ns]"), column(weekly, "week", "datetime64[ns]"),
                            column(goals, "target_date", "datetime64[ns]")])  # fmt: skip
    x0 = start if start is not None else pd.Timestamp(shown.min())
    x1 = pd.Timestamp(shown.max())
    pad = max(PAD, (x1 - x0) * 0.03)
    x_range = [x0 - pad, x1 + pad]
    y_values = [column(readings, "value", "float64"), column(weekly, "value", "float64"),
                column(goals, "target", "float64")]  # fmt: skip
    has_typical = m.typical_high > m.typical_low  # pain has no "typical" range (0..0)
    if has_typical:
        y_values.append(np.array([m.typical_low, m.typical_high], dtype=float))

    logged = set(readings) | set(weekly) | set(goals)
    sides = [side for side in (m.sides or ("",)) if side in logged] or list(m.sides or ("",))
    n = len(sides)
    gap = PANEL_GAP if n > 1 else 0.0
    height = (1 - gap * (n - 1)) / n
    traces, shapes, notes, axes = [], [], [], {}
    any_band = False
    for i, side in enumerate(sides):
        k = "" if i == 0 else str(i + 1)
        xa, ya = f"x{k}", f"y{k}"
        top = 1 - i * (height + gap)
        colour, symbol = SIDE_COLOURS[side], SIDE_SYMBOLS[side]
        prefix, suffix = (f"{side} ", f" ({side})") if side else ("", "")
        trend = trends.get(side)
        on = dict(xaxis=xa, yaxis=ya)

        if trend is not None and pd.notna(trend["baseline"]):
            any_band = True
            base = float(trend["baseline"])
            low, high = base - m.mdc, base + m.mdc
            traces.append(
                _band(*x_range, low, high, name=f"baseline ±MDC{suffix}", fillcolor=_rgba(colour, 0.16),
                      showlegend=False, hoverinfo="text", **on,
                      text=f"baseline{suffix} {_with_unit(m, base)} ± MDC {_num(m.mdc)}: {BAND_NOTE.lower()}")
            )  # fmt: skip
            traces.append(
                dict(type="scatter", x=x_range, y=[base, base], mode="lines", name=f"baseline{suffix}",
                     showlegend=False, line=dict(color=colour, width=1.5, dash="dash"), hoverinfo="skip", **on)
            )  # fmt: skip
            y_values.append(np.array([low, high]))

        own = readings.get(side)
        if own is not None:
            values = own["value"].astype(float)
            text = np.array([_with_unit(m, v) for v in values], dtype=object)
            traces.append(
                dict(type="scatter", x=own["week"], y=values, mode="markers", name=f"{prefix}readings",
                     showlegend=False, opacity=0.35, marker=dict(color=colour, symbol=symbol, size=7),
                     customdata=np.column_stack([text, own["context"], own["day"]]), **on,
                     hovertemplate=f"%{{customdata[2]}} · {side or 'reading'}<br><b>%{{customdata[0]}}"
                     "</b><br>%{customdata[1]}<extra></extra>")
            )  # fmt: skip
        if side in weekly:
            mondays, values, counts = _weekly_with_gaps(weekly[side])
            text = np.array(["" if np.isnan(v) else _with_unit(m, v) for v in values], dtype=object)
            custom = np.column_stack([text, counts.astype(object)])
            traces.append(
                dict(type="scatter", x=mondays, y=values, mode="lines+markers", connectgaps=False,
                     name=f"{prefix}weekly median", legendrank=1 + i, line=dict(color=colour, width=2.5),
                     marker=dict(color=colour, symbol=symbol, size=9), customdata=custom, **on,
                     hovertemplate=f"Week of %{{x|%d %b %Y}}<br>{side or 'weekly'} median "
                     "<b>%{customdata[0]}</b> (n=%{customdata[1]})<extra></extra>")
            )  # fmt: skip

        moved = changes.get(side)
        if moved is not None:
            traces.append(
                dict(type="scatter", x=moved["week"], y=moved["value"].astype(float), mode="markers",
                     name=f"context change{suffix}",
                     showlegend=False, marker=dict(symbol="square-open", size=15, line=dict(width=2), color=colour),
                     customdata=np.column_stack([moved["day"], moved["change"]]), **on,
                     hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>"
                     "a jump here may be the measurement, not the hip<extra>context change</extra>")
            )  # fmt: skip
            shapes += [
                dict(type="line", x0=pd.Timestamp(when), x1=pd.Timestamp(when), xref=xa, y0=0, y1=1, yref=f"{ya} domain", layer="below",
                     line=dict(color="#777777", width=1, dash="dot"))
                for when in pd.unique(moved["week"])
            ]  # fmt: skip

        target = goals.get(side)
        if target is not None:
            status = target["status"].astype(str) if "status" in target else [""] * len(target["target"])
            text = [
                f"goal{suffix}: {_with_unit(m, t)} by {pd.Timestamp(d):%d %b %Y}" + (f" ({s})" if s else "")
                for t, d, s in zip(target["target"], target["target_date"], status, strict=True)
            ]
            traces.append(
                dict(type="scatter", x=target["target_date"], y=target["target"], mode="markers",
                     name=f"goal{suffix}", showlegend=False, text=text, hovertemplate="%{text}<extra></extra>",
                     marker=dict(symbol="star", size=17, color=colour, line=dict(color="#333333", width=1)), **on)
            )  # fmt: skip

        if has_typical:  # a quiet bar just outside the plot's right edge
            shapes.append(
                dict(type="rect", xref=f"{xa} domain", x0=1.012, x1=1.04, yref=ya, y0=m.typical_low,
                     y1=m.typical_high, fillcolor="#BBBBBB", line=dict(width=0), layer="below")
            )  # fmt: skip
        notes.append(
            dict(text=_panel_label(m, side, trend), x=0, xref="paper", xanchor="left", y=top, yref="paper",
                 yanchor="bottom", yshift=2, showarrow=False, align="left", font=dict(size=14, color="#222222"))
        )  # fmt: skip
        axes[f"xaxis{k}"] = dict(
            range=x_range, anchor=ya, showticklabels=i == n - 1, **_week_ticks(*x_range),
            **({"matches": "x"} if i else {}),
            **({"title": dict(text="Week")} if i == n - 1 else {}),
        )  # fmt: skip
        axes[f"yaxis{k}"] = dict(
            title=dict(text=_axis_title(m)), anchor=xa, domain=[max(top - height, 0), top], zeroline=False
        )

    keys = [
        _legend_key("single readings", mode="markers", marker=dict(color="#777777", size=7), opacity=0.35,
                    legendrank=10),
    ]  # fmt: skip
    if any_band:
        keys.append(
            _legend_key(f"band: baseline ± {_with_unit(m, m.mdc).replace('/10', ' points')} (inside = no real change)", mode="lines",
                        line=dict(width=8, color=_rgba("#777777", 0.3)), legendrank=11)
        )  # fmt: skip
    if has_typical:
        keys.append(
            _legend_key(f"grey bar: typical adult range {_num(m.typical_low)}–{_with_unit(m, m.typical_high)}",
                        mode="lines", line=dict(width=8, color="#BBBBBB"), legendrank=12)
        )  # fmt: skip
    if changes:
        keys.append(
            _legend_key("measured differently (method, position or rater)", mode="markers", legendrank=13,
                        marker=dict(symbol="square-open", size=13, line=dict(width=2), color="#555555"))
        )  # fmt: skip
    if goals:
        keys.append(_legend_key("goal", mode="markers", legendrank=14,
                                marker=dict(symbol="star", size=15, color="#777777")))  # fmt: skip

    values = np.concatenate(y_values)
    low, high = np.nanmin(values), np.nanmax(values)
    pad = max((high - low) * 0.08, m.mdc / 2)
    y_range = [-0.5, 10.5] if m.group == "pain" else [low - pad, high + pad]
    for i in range(n):
        axes["yaxis" + ("" if i == 0 else str(i + 1))]["range"] = y_range
    if shapes:
        axes["shapes"] = shapes
    layout = _layout(title, 150 + n * PANEL_HEIGHT + (n - 1) * 40, meta, top=24, annotations=notes, **axes)
    layout["margin"]["r"] = 26  # room for the typical-range bar
    return _figure([*traces, *keys], layout)


# ---- pain heatmap -----------------------------------------------------------------------------------------


def pain_heatmap(weekly: pd.DataFrame) -> go.Figure:
    """Pain measures as rows, weeks as columns; blank cells are weeks without a pain reading."""
    title = "Pain by region and week"
    meta = {"chart": "pain_heatmap"}
    groups = {mid: m.group for mid, m in catalog.MEASURES.items()}
    pain = weekly[weekly["measure"].map(groups).eq("pain")] if weekly is not None and len(weekly) else None
    if pain is None or pain.empty:
        return _empty(title, "No pain readings yet", meta)
    pain = pain.assign(side=pain["side"].fillna("").astype(str), week=_dates(pain["week"]).to_numpy())
    pain = pain.assign(
        row=[_series_label(mid, side) for mid, side in zip(pain["measure"], pain["side"], strict=True)]
    )
    # Catalog order (hip first), only the series this patient has logged.
    rows = [_series_label(mid, side) for mid, side in catalog.series_keys() if groups[mid] == "pain"]
    logged = set(pain["row"])
    rows = [r for r in rows if r in logged]
    mondays = pd.date_range(pain["week"].min(), pain["week"].max(), freq="7D")
    table = pain.pivot_table(index="row", columns="week", values="value", aggfunc="median")
    table = table.reindex(index=rows, columns=mondays)
    heatmap = dict(type="heatmap", z=table.to_numpy(dtype=float), x=mondays, y=rows, zmin=0, zmax=10,
                   colorscale=PAIN_COLOURSCALE, hoverongaps=False, xgap=2, ygap=2,
                   # Numbers in the cells so the scale does not rest on colour alone, while they still fit.
                   texttemplate="%{z:.0f}" if len(mondays) <= HEATMAP_TEXT_WEEKS else None,
                   textfont=dict(size=13),
                   hovertemplate="Week of %{x|%d %b %Y}<br>%{y}<br>pain <b>%{z}/10</b><extra></extra>",
                   colorbar=dict(orientation="h", x=0, xanchor="left", y=0, yanchor="bottom",
                                 yref="container", len=0.8, thickness=12, tickvals=[0, 5, 10],
                                 ticktext=["0 no pain", "5", "10 worst"]))  # fmt: skip
    layout = _layout(
        title, 200 + 34 * len(rows), meta,
        xaxis=dict(title=dict(text="Week"), showgrid=False, **_week_ticks(mondays[0], mondays[-1])),
        yaxis=dict(autorange="reversed", showgrid=False),
    )  # fmt: skip
    return _figure([heatmap], layout)


# ---- progress at a glance ---------------------------------------------------------------------------------


def progress_at_a_glance(trends: pd.DataFrame, title: str = "Progress at a glance") -> go.Figure:
    """Every series on one scale: improvement / MDC, so beyond +/-1 is a real change and right is better."""
    meta = {"chart": "progress_at_a_glance"}
    if trends is None or trends.empty:
        return _empty(title, "No readings yet", meta)
    data = trends.dropna(subset=["improvement", "mdc"])  # no baseline yet: nothing to compare
    data = data[data["mdc"] > 0]
    if data.empty:
        return _empty(title, "Not enough readings to compare yet", meta)
    data = data.assign(
        side=data["side"].fillna("").astype(str),
        group=data["measure"].map(lambda mid: GROUP_ORDER[catalog.MEASURES[mid].group]),
        x=data["improvement"] / data["mdc"],
    )
    data = data.assign(
        label=[_series_label(a, b) for a, b in zip(data["measure"], data["side"], strict=True)]
    )
    data = data.sort_values(["group", "label"], kind="stable").reset_index(drop=True)
    hover = [
        f"<b>{r.label}</b><br>change {_change_with_unit(catalog.MEASURES[r.measure], r.change)}"
        f" ({'better' if r.improvement > 0 else 'worse' if r.improvement < 0 else 'no change'})"
        f"<br>MDC {_with_unit(catalog.MEASURES[r.measure], r.mdc).replace('/10', ' points')}"
        f"<br>= {_signed(r.x)} MDCs · {STATUS_TEXT.get(r.status, r.status)}"
        + (f" ({counted(int(r.weeks), 'week')})" if "weeks" in data.columns and pd.notna(r.weeks) else "")
        for r in data.itertuples()
    ]  # a handful of rows per patient: formatting, not analysis
    data = data.assign(hover=hover)

    bars = []
    for status, text in STATUS_TEXT.items():
        part = data[data["status"] == status]
        if part.empty:
            continue
        pale = status == "insufficient_data"
        bars.append(
            dict(type="bar", x=part["x"], y=part["label"], orientation="h", name=text, hovertext=part["hover"],
                   hoverinfo="text", text=part["x"].map(_signed), textposition="outside", cliponaxis=False,
                   textfont=dict(size=13),
                   marker=dict(color=STATUS_COLOURS[status],
                               line=dict(color="#888888" if pale else STATUS_COLOURS[status], width=1),
                               pattern=dict(shape="/" if pale else "", fgcolor="#AAAAAA")))
        )  # fmt: skip
    # Each label sits above its bar across the full width instead of in a left column: on a phone a
    # column of labels would leave the bars no room.
    labels = [
        dict(text=label, x=0, xref="paper", xanchor="left", y=label, yshift=21, showarrow=False,
             font=dict(size=13, color="#333333"))
        for label in data["label"]
    ]  # fmt: skip
    band_note = dict(text="no detectable change", x=0, y=1, xref="x", yref="paper", yanchor="bottom",
                     showarrow=False, font=dict(size=13, color="#444444"))  # fmt: skip
    band = dict(type="rect", x0=-1, x1=1, xref="x", y0=0, y1=1, yref="y domain", fillcolor="rgba(0,0,0,0.07)",
                line=dict(width=0), layer="below")  # fmt: skip
    edges = [
        dict(type="line", x0=edge, x1=edge, xref="x", y0=0, y1=1, yref="y domain",
             line=dict(color="#666666", width=1, dash="dash"))
        for edge in (-1, 1)
    ]  # fmt: skip
    extent = max(1.6, float(data["x"].abs().max()) * 1.25)  # room for the value outside the bar
    layout = _layout(
        title, 210 + 56 * len(data), meta, top=22, annotations=[*labels, band_note], shapes=[band, *edges],
        barmode="overlay", bargap=0.5,
        xaxis=dict(
            title=dict(text="Change from baseline, in MDCs<br>(beyond ±1 = real change; right = better)"),
            range=[-extent, extent], zeroline=True, zerolinecolor="#444444",
        ),
        yaxis=dict(categoryorder="array", categoryarray=data["label"].tolist(), autorange="reversed",
                   showticklabels=False, showgrid=False),
    )  # fmt: skip
    layout["margin"]["l"] = 16
    return _figure(bars, layout)


# ---- exercise adherence -----------------------------------------------------------------------------------


def adherence_chart(exercise_log: pd.DataFrame, programme: pd.DataFrame) -> go.Figure:
    """Sessions done per week, stacked by exercise, against the sessions the programme asks for."""
    title = "Exercise sessions per week"
    meta = {"chart": "adherence"}
    if exercise_log is None or exercise_log.empty:
        return _empty(title, "No exercise sessions logged yet", meta)
    log = exercise_log.assign(week=_mondays(exercise_log["week"]).to_numpy())
    done = log.pivot_table(index="week", columns="exercise", values="sessions", aggfunc="sum")
    done = done.reindex(pd.date_range(done.index.min(), done.index.max(), freq="7D"))
    prescribed = (
        programme.groupby("exercise")["sessions_per_week"].sum()
        if programme is not None and len(programme)
        else pd.Series(dtype=float)
    )
    # Programme exercises first (in programme order), then anything done on top of it.
    exercises = [e for e in prescribed.index if e in done.columns] + [
        c for c in done.columns if c not in prescribed
    ]
    traces = []
    for i, exercise in enumerate(exercises):
        label = catalog.EXERCISES[exercise].label if exercise in catalog.EXERCISES else str(exercise)
        traces.append(
            dict(type="bar", x=done.index, y=done[exercise], name=label, marker=dict(color=EXERCISE_COLOURS[i % 8]),
                   hovertemplate=f"{label}: %{{y}} sessions<extra></extra>")
        )  # fmt: skip
    if len(prescribed):
        total = float(prescribed.sum())
        x_range = [done.index.min() - pd.Timedelta(days=3.5), done.index.max() + pd.Timedelta(days=3.5)]
        traces.append(
            dict(type="scatter", x=x_range, y=[total, total], mode="lines", name="prescribed per week",
                       line=dict(color="#000000", width=2, dash="dash"),
                       hovertemplate=f"prescribed: {_num(total)} session{'' if total == 1 else 's'} per week<extra></extra>")
        )  # fmt: skip
    layout = _layout(
        title, 420, meta, barmode="stack", hovermode="x unified",
        xaxis=dict(title=dict(text="Week"), **_week_ticks(done.index[0], done.index[-1])),
        yaxis=dict(title=dict(text="Sessions"), rangemode="tozero"),
    )  # fmt: skip
    return _figure(traces, layout)


# ---- LEFS -------------------------------------------------------------------------------------------------


def lefs_chart(lefs: pd.DataFrame) -> go.Figure:
    """LEFS total over time with the +/- 9 point band (MDC and MCID) around the first score."""
    title = "Lower Extremity Functional Scale (higher is better)"
    meta = {"chart": "lefs"}
    if lefs is None or lefs.empty:
        return _empty(title, "No LEFS scores yet", meta)
    scores = lefs.assign(date=_dates(lefs["date"]).to_numpy()).sort_values("date", kind="stable")
    first = float(scores["total"].iloc[0])
    x_range = [scores["date"].min() - PAD, scores["date"].max() + PAD]
    low, high = max(first - catalog.LEFS_MDC, 0), min(first + catalog.LEFS_MDC, 80)
    band = (
        _band(*x_range, low, high, name=f"first score ±{catalog.LEFS_MDC} (MCID)",
              fillcolor=_rgba("#009E73", 0.13), hoverinfo="text",
              text=f"first score {_num(first)} ± {catalog.LEFS_MDC}: inside = no important change")
    )  # fmt: skip
    change = scores["total"] - first
    line = (
        dict(type="scatter", x=scores["date"], y=scores["total"], mode="lines+markers", name="LEFS total",
                   line=dict(color="#009E73", width=2.5), marker=dict(size=9), customdata=change,
                   hovertemplate="%{x|%d %b %Y}<br>LEFS <b>%{y}/80</b><br>change from first %{customdata:+d}"
                   "<extra></extra>")
    )  # fmt: skip
    layout = _layout(
        title, 400, meta, xaxis=dict(title=dict(text="Date"), range=x_range),
        yaxis=dict(title=dict(text="LEFS total (0-80)"), range=[0, 80]),
    )  # fmt: skip
    return _figure([band, line], layout)


# ---- PSFS -------------------------------------------------------------------------------------------------


def psfs_chart(rows: pd.DataFrame, trend: pd.DataFrame) -> go.Figure:
    """PSFS mean over time with the baseline +/- 2 point band (MDC), each activity as a faint line."""
    from hipdata import psfs

    title = "Patient-Specific Functional Scale (your activities, higher is better)"
    meta = {"chart": "psfs"}
    if rows is None or rows.empty:
        return _empty(title, "No PSFS ratings yet", meta)
    scores = rows.assign(date=_dates(rows["date"]).to_numpy()).sort_values("date", kind="stable")
    x_range = [scores["date"].min() - PAD, scores["date"].max() + PAD]
    mean = trend[trend["series"] == psfs.MEAN].iloc[0]
    low, high = max(mean["baseline"] - psfs.MDC, 0), min(mean["baseline"] + psfs.MDC, 10)
    traces = [
        _band(*x_range, low, high, name=f"baseline ±{psfs.MDC:g} (MDC)", fillcolor=_rgba("#0072B2", 0.13),
              hoverinfo="text",
              text=f"baseline {_num(mean['baseline'])} ± {psfs.MDC:g}: inside = no detectable change")
    ]  # fmt: skip
    items = psfs.items(scores)
    for n, (activity, group) in enumerate(items.groupby("activity", sort=False)):  # 3 to 5 activities
        traces.append(
            dict(type="scatter", x=group["date"], y=group["rating"], mode="lines+markers", name=str(activity),
                 line=dict(width=1.2, dash="dot", color=EXERCISE_COLOURS[n % len(EXERCISE_COLOURS)]), marker=dict(size=5),
                 opacity=0.6, hovertemplate="%{x|%d %b %Y}<br>%{fullData.name}: %{y}/10<extra></extra>")
        )  # fmt: skip
    traces.append(
        dict(type="scatter", x=scores["date"], y=scores["score"], mode="lines+markers", name="PSFS score (mean)",
             line=dict(color="#0072B2", width=3), marker=dict(size=9),
             hovertemplate="%{x|%d %b %Y}<br>PSFS <b>%{y:.2f}/10</b><extra></extra>")
    )  # fmt: skip
    layout = _layout(
        title, 420, meta, xaxis=dict(title=dict(text="Date"), range=x_range),
        yaxis=dict(title=dict(text="Rating (0 = unable, 10 = as before)"), range=[0, 10.5]),
    )  # fmt: skip
    return _figure(traces, layout)
