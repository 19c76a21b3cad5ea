"""The phone inclinometer: a Streamlit component (HTML, CSS and JavaScript in hipdata/static, nothing fetched).

"Measure with phone" opens it (and, on iOS, asks for motion access: that needs a tap), "Set zero" takes the
start position, "Use this angle" sends the steady angle back, which the caller puts into the number field.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import streamlit as st

_STATIC = Path(__file__).with_name("static")


@cache
def _component():
    read = lambda name: (_STATIC / name).read_text(encoding="utf-8")  # noqa: E731
    return st.components.v2.component(
        "hipdata_inclinometer",
        html=read("inclinometer.html"),
        css=read("inclinometer.css"),
        js=read("inclinometer.js"),
    )


@cache
def _big_fields():
    # Styles only, not isolated, so they reach the page's own number fields (our CSS: no user content).
    css = (_STATIC / "big-fields.css").read_text(encoding="utf-8")
    return st.components.v2.component("hipdata_big_fields", css=css, isolate_styles=False)


@cache
def _step_top():
    return st.components.v2.component(
        "hipdata_step_top", js=(_STATIC / "step-top.js").read_text(encoding="utf-8")
    )


def step_top(step: int) -> None:
    """Scroll the step's title into view when the step changes (a phone keeps its place across reruns)."""
    _step_top()(key="step-top", data={"step": step}, height=0)


def big_number_fields() -> None:
    """Big digits in the step-by-step check-in's number fields: they are what a patient types on a phone."""
    _big_fields()(key="big-number-fields", height=0)


def inclinometer(key: str, series: str) -> float | None:
    """Mount the inclinometer; the angle the patient chose to use, on the run right after the tap, else None.

    `series` names the field it fills (the element carries it, so a test can tell one step's from the next).
    """
    result = _component()(key=key, data={"series": series}, on_angle_change=lambda: None)
    angle = result.get("angle") if result is not None else None
    return None if angle is None else float(angle)
