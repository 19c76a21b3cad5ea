"""Chart builders: the figures carry the clinical rules to the eye (gaps, baseline +/- MDC, context changes).

Frames are built by hand here, so these tests do not depend on the trend rules or the store.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from hipdata import catalog, charts

IR = "hip_internal_rotation"
MONDAY = pd.Timestamp("2025-09-01")  # a Monday


@pytest.fixture(autouse=True)
def checked_figures(monkeypatch):
    """The builders skip plotly's check of every property: here each figure gets it, and must send the
    browser exactly what the checked figure would."""
    fast = charts._figure

    def checked(data, layout):
        figure = fast(data, layout)
        valid = go.Figure(dict(data=data, layout=layout))  # raises on a property plotly does not know
        assert json.loads(figure.to_json()) == json.loads(valid.to_json())
        return figure

    monkeypatch.setattr(charts, "_figure", checked)


def week(n: int, day: int = 0) -> pd.Timestamp:
    return MONDAY + pd.Timedelta(weeks=n, days=day)


def reading(
    n, day, side, value, method="goniometer", position="seated", measured_by="self", measure=IR, mode="active"
):
    return {"patient_id": "p1", "date": week(n, day), "measure": measure, "side": side, "value": value,
            "method": method, "position": position, "mode": mode, "measured_by": measured_by,
            "note": None}  # fmt: skip


@pytest.fixture
def readings() -> pd.DataFrame:
    """Left: weeks 0,1,2,4,5 (week 3 missing), method phone_app -> goniometer at week 2, a reading without
    context at week 4, rater self -> therapist at week 5.
    Right: weeks 0-5, position seated -> supine at week 4."""
    rows = [
        reading(0, 1, "left", 25, method="phone_app"),
        reading(0, 3, "left", 27, method="phone_app"),
        reading(1, 2, "left", 26, method="phone_app"),
        reading(2, 2, "left", 30),
        reading(4, 1, "left", 33, method=None, position=None, measured_by=None, mode=None),
        reading(5, 4, "left", 35, measured_by="therapist"),
        *(reading(n, 2, "right", 30 + n, position="supine" if n >= 4 else "seated") for n in range(6)),
        reading(0, 2, "", 4, measure="pain_low_back", method=None, position=None, measured_by=None),
    ]
    return pd.DataFrame(rows)


def weekly_of(readings: pd.DataFrame) -> pd.DataFrame:
    mondays = readings["date"] - pd.to_timedelta(readings["date"].dt.day_of_week, unit="D")
    return (
        readings.assign(week=mondays)
        .groupby(["patient_id", "measure", "side", "week"], as_index=False)
        .agg(value=("value", "median"), n=("value", "size"))
    )


@pytest.fixture
def weekly(readings) -> pd.DataFrame:
    return weekly_of(readings)


@pytest.fixture
def trends() -> pd.DataFrame:
    return pd.DataFrame(
        {"patient_id": "p1", "measure": [IR, IR], "side": ["left", "right"], "weeks": [5, 6],
         "baseline": [26.0, 30.5], "current": [34.0, 34.5], "change": [8.0, 4.0], "improvement": [8.0, 4.0],
         "mdc": [8.0, 8.0], "slope_per_week": [1.8, 1.0], "status": ["improved", "no_detectable_change"]}
    )  # fmt: skip


def trace(fig: go.Figure, name: str):
    found = [t for t in fig.data if t.name == name]
    assert len(found) == 1, f"expected one trace {name!r}, got {[t.name for t in fig.data]}"
    return found[0]


def names(fig: go.Figure) -> set[str]:
    return {t.name for t in fig.data}


def annotation_text(fig: go.Figure) -> str:
    return " ".join(a.text for a in fig.layout.annotations)


# ---- measure chart ----------------------------------------------------------------------------------------


def test_weekly_median_keeps_missing_weeks_as_gaps(readings, weekly, trends):
    fig = charts.measure_chart(IR, readings, weekly, trends)
    left = trace(fig, "left weekly median")
    x, y = pd.to_datetime(left.x), np.asarray(left.y, dtype=float)
    assert list(x) == [week(n) for n in range(6)]  # every Monday from first to last
    assert math.isnan(y[3])  # week 3 had no reading: a gap, not an interpolated value
    assert list(y[[0, 1, 2, 4, 5]]) == [26, 26, 30, 33, 35]
    assert left.connectgaps is False
    assert not np.isnan(np.asarray(trace(fig, "right weekly median").y, dtype=float)).any()


def test_every_reading_is_drawn_as_a_faint_dot(readings, weekly, trends):
    fig = charts.measure_chart(IR, readings, weekly, trends)
    for side in ("left", "right"):
        dots = trace(fig, f"{side} readings")
        own = readings[(readings["measure"] == IR) & (readings["side"] == side)].sort_values("date")
        # on the Monday of their week, in line with that week's median; the day is in the hover text
        mondays = own["date"] - pd.to_timedelta(own["date"].dt.day_of_week, unit="D")
        assert list(pd.to_datetime(dots.x)) == list(mondays)
        assert set(pd.to_datetime(dots.x)) <= set(pd.to_datetime(trace(fig, f"{side} weekly median").x))
        assert list(dots.y) == list(own["value"])
        assert dots.opacity < 0.5
    hover = trace(fig, "left readings").customdata
    assert "phone app" in hover[0][1] and "self" in hover[0][1]
    assert hover[0][2] == "Tue 02 Sep 2025"
    assert hover[4][1] == "context not recorded"


def test_one_panel_per_side_on_a_shared_week_axis_and_value_scale(readings, weekly, trends):
    fig = charts.measure_chart(IR, readings, weekly, trends)
    layout = fig.layout
    assert trace(fig, "left weekly median").yaxis == "y" and trace(fig, "right weekly median").yaxis == "y2"
    assert (
        trace(fig, "baseline ±MDC (left)").yaxis == "y" and trace(fig, "baseline ±MDC (right)").yaxis == "y2"
    )
    assert layout.xaxis2.matches == "x" and layout.yaxis.range == layout.yaxis2.range
    top, bottom = layout.yaxis.domain, layout.yaxis2.domain
    assert bottom[1] < top[0]  # stacked, not overlapping
    assert layout.xaxis.showticklabels is False and layout.xaxis2.title.text == "Week"


def test_each_panel_says_in_words_whether_that_side_changed(readings, weekly, trends):
    text = annotation_text(charts.measure_chart(IR, readings, weekly, trends))
    assert "<b>Left</b>: improved, +8° since baseline" in text
    assert "<b>Right</b>: no real change yet, +4° since baseline" in text
    few = trends.assign(status="insufficient_data")
    assert "needs 4 weeks of data" in annotation_text(charts.measure_chart(IR, readings, weekly, few))
    worse = trends.assign(status="worsened", change=-9.0)
    assert "<b>Left</b>: worsened, -9° since baseline" in annotation_text(
        charts.measure_chart(IR, readings, weekly, worse)
    )


def test_every_band_and_mark_is_explained_in_the_legend(readings, weekly, trends):
    fig = charts.measure_chart(IR, readings, weekly, trends)
    shown = {t.name for t in fig.data if t.showlegend is not False}
    assert "band: baseline ± 8° (inside = no real change)" in shown
    assert "grey bar: typical adult range 30–40°" in shown
    assert {"left weekly median", "right weekly median", "single readings"} <= shown
    assert "measured differently (method, position or rater)" in shown
    assert not any(t.showlegend for t in fig.data if t.name.startswith("baseline"))  # one key for both bands


def test_baseline_band_is_baseline_plus_minus_mdc(readings, weekly, trends):
    fig = charts.measure_chart(IR, readings, weekly, trends)
    for side, base in (("left", 26.0), ("right", 30.5)):
        band = trace(fig, f"baseline ±MDC ({side})")
        assert band.fill == "toself"
        assert set(band.y) == {base - 8, base + 8}
        assert "inside the band = no detectable change" in band.text
        assert set(trace(fig, f"baseline ({side})").y) == {base}


def test_no_band_without_a_baseline(readings, weekly):
    fig = charts.measure_chart(IR, readings, weekly, trends=pd.DataFrame())
    assert not any("MDC" in n or "band" in n for n in names(fig))
    assert "no baseline yet" in annotation_text(fig)


def test_typical_range_band_for_rom_but_not_for_pain(readings, weekly, trends):
    rom = charts.measure_chart(IR, readings, weekly, trends)
    bars = [s for s in rom.layout.shapes if s.type == "rect"]
    assert [(s.yref, s.y0, s.y1) for s in bars] == [("y", 30, 40), ("y2", 30, 40)]
    assert all(s.xref.endswith("domain") and s.x0 > 1 for s in bars)  # beside the plot, not over the data
    assert not any(t.fill for t in rom.data if "typical" in t.name)  # not a third fill
    pain = charts.measure_chart("pain_low_back", readings, weekly, trends)
    assert not any("typical" in n for n in names(pain))
    assert not [s for s in pain.layout.shapes if s.type == "rect"]
    assert "weekly median" in names(pain)  # a sideless measure: no side in the names


def test_context_change_markers_exactly_where_context_changed(readings, weekly, trends):
    fig = charts.measure_chart(IR, readings, weekly, trends)
    left, right = trace(fig, "context change (left)"), trace(fig, "context change (right)")
    # Left: phone_app -> goniometer at week 2; the blank reading at week 4 is "not recorded", not a change;
    # self -> therapist at week 5. Right: seated -> supine at week 4. Nothing else. Drawn on the week's
    # Monday, in the side's own panel, with the day in the hover text.
    assert list(pd.to_datetime(left.x)) == [week(2), week(5)] and left.yaxis == "y"
    assert list(pd.to_datetime(right.x)) == [week(4)] and right.yaxis == "y2"
    texts = {c[0]: c[1] for c in [*left.customdata, *right.customdata]}
    assert texts[f"{week(2, 2):%a %d %b %Y}"] == "method: phone app → goniometer"
    assert texts[f"{week(5, 4):%a %d %b %Y}"] == "rater: self → therapist"
    assert texts[f"{week(4, 2):%a %d %b %Y}"] == "position: seated → supine"
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert sorted((pd.Timestamp(s.x0), s.yref) for s in lines) == [
        (week(2), "y domain"),
        (week(4), "y2 domain"),
        (week(5), "y domain"),
    ]


def test_no_context_marker_when_context_never_changes(readings, weekly, trends):
    steady = readings.assign(method="goniometer", position="seated", measured_by="self")
    fig = charts.measure_chart(IR, steady, weekly, trends)
    assert not any(n.startswith("context change") for n in names(fig))
    assert not [s for s in fig.layout.shapes if s.type == "line"]


def test_sides_differ_in_colour_and_marker_shape(readings, weekly, trends):
    fig = charts.measure_chart(IR, readings, weekly, trends)
    left, right = trace(fig, "left weekly median"), trace(fig, "right weekly median")
    assert left.line.color == charts.SIDE_COLOURS["left"] != right.line.color == charts.SIDE_COLOURS["right"]
    assert left.marker.symbol != right.marker.symbol
    assert trace(fig, "left readings").marker.color == left.line.color


DUE = pd.Timestamp("2025-12-01")


def test_goals_are_stars_at_target_date_and_value(readings, weekly, trends):
    goals = pd.DataFrame(
        {"patient_id": "p1", "measure": [IR, "hip_flexion"], "side": ["left", "left"],
         "target": [40.0, 120.0], "target_date": [DUE.date(), DUE.date()],
         "status": ["on track", "behind"]}
    )  # fmt: skip
    fig = charts.measure_chart(IR, readings, weekly, trends, goals=goals)
    star = trace(fig, "goal (left)")
    assert star.marker.symbol == "star"
    assert list(pd.to_datetime(star.x)) == [DUE] and list(star.y) == [40.0]
    assert "goal" in star.text[0] and "on track" in star.text[0]
    assert "goal (right)" not in names(fig)  # goals of other measures or sides are not drawn
    lo, hi = fig.layout.yaxis.range
    assert lo <= 40 <= hi
    assert pd.Timestamp(fig.layout.xaxis.range[1]) >= DUE


def test_since_shows_whole_weeks_from_that_date_and_keeps_the_band(readings, weekly, trends):
    fig = charts.measure_chart(IR, readings, weekly, trends, since=week(2, 3))  # a Thursday of week 2
    dots = pd.to_datetime(trace(fig, "left readings").x)
    assert dots.min() == week(2)  # rounded down to the Monday: the week's median keeps all its readings
    assert list(pd.to_datetime(trace(fig, "left weekly median").x)) == [week(2), week(3), week(4), week(5)]
    assert set(trace(fig, "baseline ±MDC (left)").y) == {18.0, 34.0}  # baseline from weeks no longer shown
    marks = pd.to_datetime(trace(fig, "context change (left)").x)
    assert marks.min() >= week(2)
    assert pd.Timestamp(fig.layout.xaxis.range[0]) <= week(2)


def test_since_with_nothing_left_says_so(readings, weekly, trends):
    fig = charts.measure_chart(IR, readings, weekly, trends, since=week(20))
    assert "No readings since" in annotation_text(fig)


def test_title_and_axes_say_direction_and_unit(readings, weekly, trends):
    fig = charts.measure_chart(IR, readings, weekly, trends)
    assert "Hip internal rotation" in fig.layout.title.text and "higher is better" in fig.layout.title.text
    assert "°" in fig.layout.yaxis.title.text and fig.layout.xaxis2.title.text == "Week"
    lo, hi = fig.layout.yaxis.range
    assert lo <= 18 and hi >= 40  # band, data and typical range all visible
    ftf = charts.measure_chart(
        "fingertip_to_floor",
        pd.DataFrame([reading(0, 1, "", 10.0, measure="fingertip_to_floor")]),
        weekly_of(pd.DataFrame([reading(0, 1, "", 10.0, measure="fingertip_to_floor")])),
        pd.DataFrame(),
    )
    assert "lower is better" in ftf.layout.title.text and "cm" in ftf.layout.yaxis.title.text
    assert ftf.layout.xaxis.title.text == "Week" and "yaxis2" not in ftf.layout  # one panel, no side
    assert ftf.layout.yaxis.autorange in (None, True)  # not flipped
    assert trace(ftf, "weekly median").line.color == charts.SIDE_COLOURS[""]


def test_context_columns_may_be_missing_or_empty(weekly, trends, readings):
    bare = readings[["patient_id", "date", "measure", "side", "value"]]
    fig = charts.measure_chart(IR, bare, weekly, trends)
    assert not any(n.startswith("context change") for n in names(fig))
    assert len(trace(fig, "left readings").x) == 6


@pytest.mark.parametrize("frame", [pd.DataFrame(), None])
def test_measure_chart_without_readings_says_so(frame):
    fig = charts.measure_chart(IR, pd.DataFrame(), pd.DataFrame(), frame)
    assert "No readings yet" in annotation_text(fig)
    assert "higher is better" in fig.layout.title.text


def test_charts_of_several_measures_are_the_charts_of_each(readings, weekly, trends):
    """measure_charts shares the work on a patient's frames; each chart must stay what it is alone."""
    mode_changed = reading(3, 1, "", 5, measure="pain_low_back", mode="passive")  # pain has a change too
    readings = pd.concat([readings, pd.DataFrame([mode_changed])], ignore_index=True)
    weekly = weekly_of(readings)
    for since in (None, week(2, 3)):
        together = charts.measure_charts(
            [IR, "pain_low_back", "hip_flexion"], readings, weekly, trends, None, since
        )
        assert list(together) == [IR, "pain_low_back", "hip_flexion"]
        for measure_id, figure in together.items():
            alone = charts.measure_chart(measure_id, readings[readings["measure"] == measure_id], weekly, trends,
                                         since=since)  # fmt: skip
            assert json.loads(figure.to_json()) == json.loads(alone.to_json())
    assert "context change" in names(together["pain_low_back"])
    assert "No readings" in annotation_text(together["hip_flexion"])


def test_charts_carry_a_trimmed_white_template():
    """The house template is plotly_white kept to the traces used: the same look, a fraction of the bytes."""
    white = charts.pio.templates["plotly_white"]
    one = pd.DataFrame([reading(0, 1, "left", 30)])
    fig = charts.measure_chart(IR, one, weekly_of(one), pd.DataFrame())
    template = fig.layout.template
    assert template.layout.plot_bgcolor == white.layout.plot_bgcolor == "white"
    assert template.layout.xaxis.gridcolor == white.layout.xaxis.gridcolor
    assert template.data.scatter == white.data.scatter and not template.data.pie
    assert len(fig.to_json()) < 12_000


# ---- pain heatmap -----------------------------------------------------------------------------------------


def pain_weekly() -> pd.DataFrame:
    rows = [("pain_hip", "left", n, 6 - n) for n in (0, 1, 3)]  # week 2 missing
    rows += [("pain_low_back", "", n, 2) for n in range(4)]
    rows += [("pain_hip", "right", 0, 1), (IR, "left", 0, 30)]  # ROM is not pain: no row
    return pd.DataFrame(
        [
            {"patient_id": "p1", "measure": m, "side": s, "week": week(n), "value": v, "n": 1}
            for m, s, n, v in rows
        ]
    )


def test_heatmap_has_a_row_per_pain_series_and_blank_missing_weeks():
    fig = charts.pain_heatmap(pain_weekly())
    heat = fig.data[0]
    assert list(heat.y) == ["Hip pain (left)", "Hip pain (right)", "Low back pain"]
    assert list(pd.to_datetime(heat.x)) == [week(n) for n in range(4)]
    z = np.asarray(heat.z, dtype=float)
    assert list(z[0]) == pytest.approx([6, 5, np.nan, 3], nan_ok=True)
    assert np.isnan(z[1, 1:]).all()  # right hip: one week only, the rest blank
    assert (heat.zmin, heat.zmax) == (0, 10)
    assert heat.hoverongaps is False
    assert "/10" in heat.hovertemplate
    assert fig.layout.title.text == "Pain by region and week"


def test_heatmap_without_pain_says_so():
    only_rom = pain_weekly().query("measure == @IR")
    assert "No pain readings yet" in annotation_text(charts.pain_heatmap(only_rom))
    assert "No pain readings yet" in annotation_text(charts.pain_heatmap(pd.DataFrame()))


# ---- progress at a glance ---------------------------------------------------------------------------------


def glance_trends() -> pd.DataFrame:
    rows = [
        ("pain_hip", "left", 4, 5.0, 2.0, -3.0, 3.0, 2.0, "improved"),
        (IR, "right", 6, 30.0, 31.0, 1.0, 1.0, 8.0, "no_detectable_change"),
        ("fingertip_to_floor", "", 5, 10.0, 16.0, 6.0, -6.0, 4.5, "worsened"),
        (IR, "left", 6, 26.0, 38.0, 12.0, 12.0, 8.0, "improved"),
        ("hip_flexion", "left", 2, 100.0, 104.0, 4.0, 4.0, 10.0, "insufficient_data"),
        ("hip_extension", "left", 0, np.nan, np.nan, np.nan, np.nan, 13.0, "insufficient_data"),
    ]
    cols = ["measure", "side", "weeks", "baseline", "current", "change", "improvement", "mdc", "status"]
    return pd.DataFrame(rows, columns=cols).assign(patient_id="p1", slope_per_week=np.nan)


def test_glance_bars_are_improvement_in_mdcs_sorted_by_group_then_label():
    trends = glance_trends()
    fig = charts.progress_at_a_glance(trends)
    bars = {y: x for t in fig.data for x, y in zip(t.x, t.y, strict=True)}
    expected = {
        "Hip pain (left)": 3 / 2,
        "Hip internal rotation (right)": 1 / 8,
        "Forward fold: fingertip-to-floor distance": -6 / 4.5,
        "Hip internal rotation (left)": 12 / 8,
        "Hip flexion (left)": 4 / 10,
    }
    assert bars == pytest.approx(expected)  # hip extension (no baseline yet) is left out
    assert list(fig.layout.yaxis.categoryarray) == [
        "Hip flexion (left)",
        "Hip internal rotation (left)",
        "Hip internal rotation (right)",
        "Forward fold: fingertip-to-floor distance",
        "Hip pain (left)",
    ]
    assert fig.layout.yaxis.autorange == "reversed"  # first in the list at the top


def test_glance_colours_by_status_and_shows_the_no_change_band():
    fig = charts.progress_at_a_glance(glance_trends())
    assert trace(fig, "improved").marker.color == "#0072B2"
    assert trace(fig, "worsened").marker.color == "#D55E00"
    assert trace(fig, "insufficient data").marker.pattern.shape == "/"
    assert len({t.marker.color for t in fig.data}) == len(fig.data)
    band = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [(s.x0, s.x1) for s in band] == [(-1, 1)]
    assert sorted(s.x0 for s in fig.layout.shapes if s.type == "line") == [-1, 1]
    assert "no detectable change" in annotation_text(fig)
    assert "in MDCs" in fig.layout.xaxis.title.text and "right = better" in fig.layout.xaxis.title.text
    hover = dict(zip(trace(fig, "worsened").y, trace(fig, "worsened").hovertext, strict=True))
    assert "+6 cm" in hover["Forward fold: fingertip-to-floor distance"]
    assert "MDC 4.5 cm" in hover["Forward fold: fingertip-to-floor distance"]


def test_glance_grows_with_rows_and_handles_empty():
    small = charts.progress_at_a_glance(glance_trends().head(2))
    large = charts.progress_at_a_glance(glance_trends())
    assert large.layout.height > small.layout.height
    assert "No readings yet" in annotation_text(charts.progress_at_a_glance(pd.DataFrame()))


# ---- adherence and LEFS -----------------------------------------------------------------------------------


def test_adherence_stacks_sessions_against_the_prescription():
    log = pd.DataFrame(
        {"week": [week(0).date(), week(0).date(), week(2).date()],
         "exercise": ["ninety_ninety", "foam_rolling", "ninety_ninety"], "sessions": [3, 1, 2]}
    )  # fmt: skip
    programme = pd.DataFrame(
        {"exercise": ["ninety_ninety", "banded_glute_bridge"], "sessions_per_week": [3, 2]}
    )
    fig = charts.adherence_chart(log, programme)
    assert fig.layout.barmode == "stack" and fig.layout.title.text == "Exercise sessions per week"
    ninety = trace(fig, catalog.EXERCISES["ninety_ninety"].label)
    assert list(pd.to_datetime(ninety.x)) == [week(0), week(1), week(2)]
    assert list(np.asarray(ninety.y, dtype=float)) == pytest.approx([3, np.nan, 2], nan_ok=True)
    assert set(trace(fig, "prescribed per week").y) == {5}
    assert "No exercise sessions" in annotation_text(charts.adherence_chart(log.iloc[0:0], programme))


def test_lefs_band_is_first_score_plus_minus_mcid():
    scores = pd.DataFrame({"date": [week(4).date(), week(0).date()], "total": [60, 48]})
    fig = charts.lefs_chart(scores)
    line = trace(fig, "LEFS total")
    assert list(line.y) == [48, 60]  # in date order
    band = [t for t in fig.data if t.fill == "toself"][0]
    assert set(band.y) == {48 - catalog.LEFS_MDC, 48 + catalog.LEFS_MDC}
    assert tuple(fig.layout.yaxis.range) == (0, 80)
    assert fig.layout.title.text.startswith("Lower Extremity Functional Scale")
    assert "No LEFS" in annotation_text(charts.lefs_chart(pd.DataFrame(columns=["date", "total"])))


# ---- house style ------------------------------------------------------------------------------------------


def test_house_style_is_phone_friendly(readings, weekly, trends):
    figures = [
        charts.measure_chart(IR, readings, weekly, trends),
        charts.pain_heatmap(pain_weekly()),
        charts.progress_at_a_glance(glance_trends()),
        charts.measure_chart(IR, pd.DataFrame(), pd.DataFrame(), pd.DataFrame()),
    ]
    for fig in figures:
        assert fig.layout.legend.orientation == "h"
        assert fig.layout.font.size >= 13 and fig.layout.legend.font.size >= 13
        assert all(a.font.size is None or a.font.size >= 13 for a in fig.layout.annotations)
        assert fig.layout.template.layout.paper_bgcolor == "white"  # plotly_white
        assert fig.layout.meta["chart"]
        fig.to_json()  # serialisable as st.plotly_chart and the report need
