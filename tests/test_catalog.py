"""The catalog against the reference table (shared/reference/measures.csv and exercises.csv), hard-coded here
so the tests do not depend on files outside the repository."""

from __future__ import annotations

import pytest

from hipdata import catalog

LR = ("left", "right")

# id: (label, group, unit, sides, better, valid_min, valid_max, typical_low, typical_high, mdc)
EXPECTED_MEASURES = {
    "hip_flexion": ("Hip flexion", "rom", "deg", LR, "higher", 0, 160, 110, 120, 10),
    "hip_extension": ("Hip extension", "rom", "deg", LR, "higher", -40, 60, 10, 30, 13),
    "hip_abduction": ("Hip abduction", "rom", "deg", LR, "higher", 0, 90, 30, 50, 10),
    "hip_adduction": ("Hip adduction", "rom", "deg", LR, "higher", 0, 60, 20, 30, 10),
    "hip_internal_rotation": ("Hip internal rotation", "rom", "deg", LR, "higher", 0, 90, 30, 40, 8),
    "hip_external_rotation": ("Hip external rotation", "rom", "deg", LR, "higher", 0, 90, 40, 60, 8),
    "fingertip_to_floor": (
        "Forward fold: fingertip-to-floor distance", "field", "cm", (), "lower", -30, 80, 0, 5, 4.5,
    ),
    "figure_four": (  # the one label not as in the reference (knee-to-table): the patient lies on the floor
        "Figure-four (FABER): knee-to-floor distance", "field", "cm", LR, "lower", 0, 60, 9.6, 15.2, 3.7,
    ),
    "pain_hip": ("Hip pain", "pain", "nprs", LR, "lower", 0, 10, 0, 0, 2),
    "pain_low_back": ("Low back pain", "pain", "nprs", (), "lower", 0, 10, 0, 0, 2),
    "pain_knee": ("Knee pain", "pain", "nprs", LR, "lower", 0, 10, 0, 0, 2),
    "pain_ankle_foot": ("Ankle / Achilles / foot pain", "pain", "nprs", LR, "lower", 0, 10, 0, 0, 2),
}  # fmt: skip

EXPECTED_EXERCISES = {
    "ninety_ninety": ("90/90 hip switch (dynamic)", "hip internal and external rotation", "reps per side"),
    "kneeling_hip_flexor_stretch": (
        "Tall kneeling hip flexor stretch", "iliopsoas and hip flexors", "seconds per side",
    ),
    "banded_glute_bridge": ("Glute bridge with band", "hip extension and glute activation", "reps; band level"),
    "lateral_band_walk": ("Lateral band walk", "lateral hip stability", "steps each way; band level"),
    "banded_hip_distraction": (
        "Banded hip distraction", "joint capsule mobility", "seconds per side; band level",
    ),
    "banded_hip_ap_glide": (
        "Banded anterior-posterior glide", "joint capsule mobility", "reps per side; band level",
    ),
    "banded_hip_lateral_mobilization": (
        "Banded lateral mobilization", "lateral hip flexibility", "reps per side; band level",
    ),
    "bulgarian_split_squat": ("Bulgarian split squat", "strength through range", "reps per side; load kg"),
    "figure_four_stretch": ("Figure-four stretch", "hip external rotators", "seconds per side"),
    "foam_rolling": ("Foam rolling", "soft tissue", "minutes"),
}  # fmt: skip


def test_exactly_the_twelve_reference_measures_in_reference_order():
    assert list(catalog.MEASURES) == list(EXPECTED_MEASURES)
    assert len(catalog.MEASURES) == 12


@pytest.mark.parametrize("measure_id", list(EXPECTED_MEASURES))
def test_measure_matches_reference(measure_id):
    m = catalog.MEASURES[measure_id]
    label, group, unit, sides, better, vmin, vmax, tlow, thigh, mdc = EXPECTED_MEASURES[measure_id]
    assert m.id == measure_id
    assert (m.label, m.group, m.unit, tuple(m.sides), m.better) == (label, group, unit, sides, better)
    assert (m.valid_min, m.valid_max) == (vmin, vmax)
    assert (m.typical_low, m.typical_high) == (tlow, thigh)
    assert m.mdc == mdc
    assert m.mdc_source.strip(), "every MDC keeps its source"
    assert m.valid_min <= m.typical_low <= m.typical_high <= m.valid_max
    assert m.sided == bool(sides)
    assert m.direction == (1 if better == "higher" else -1)
    assert m.whole_numbers == (group == "pain")


def test_unit_labels():
    assert catalog.MEASURES["hip_flexion"].unit_label == "°"
    assert catalog.MEASURES["figure_four"].unit_label == "cm"
    assert catalog.MEASURES["pain_hip"].unit_label == "/10"


def test_measure_lookup_and_unknown_id():
    assert catalog.measure("pain_knee") is catalog.MEASURES["pain_knee"]
    with pytest.raises(KeyError):
        catalog.measure("hip_wiggle")


def test_exactly_the_ten_reference_exercises():
    assert list(catalog.EXERCISES) == list(EXPECTED_EXERCISES)
    for exercise_id, (label, targets, dose) in EXPECTED_EXERCISES.items():
        e = catalog.EXERCISES[exercise_id]
        assert (e.id, e.label, e.targets, e.dose) == (exercise_id, label, targets, dose)


def test_series_keys_cover_every_side_once():
    keys = catalog.series_keys()
    assert len(keys) == len(set(keys)) == 10 * 2 + 2  # ten sided measures, two midline ones
    assert ("fingertip_to_floor", "") in keys
    assert ("pain_low_back", "") in keys
    assert ("hip_flexion", "left") in keys and ("hip_flexion", "right") in keys
    assert ("fingertip_to_floor", "left") not in keys


def test_measures_frame_matches_the_catalog():
    frame = catalog.measures_frame()
    assert list(frame["measure"]) == list(EXPECTED_MEASURES)
    by_id = frame.set_index("measure")
    for measure_id, (
        _,
        group,
        unit,
        sides,
        better,
        vmin,
        vmax,
        tlow,
        thigh,
        mdc,
    ) in EXPECTED_MEASURES.items():
        row = by_id.loc[measure_id]
        assert (row["group"], row["unit"], bool(row["sided"])) == (group, unit, bool(sides))
        assert row["direction"] == (1 if better == "higher" else -1)
        assert (row["valid_min"], row["valid_max"], row["mdc"]) == (vmin, vmax, mdc)
        assert (row["typical_low"], row["typical_high"]) == (tlow, thigh)
        assert bool(row["whole_numbers"]) == (group == "pain")
    assert frame["valid_min"].dtype == "float64" and frame["mdc"].dtype == "float64"


def test_context_choices():
    assert catalog.CONTEXT_CHOICES == {
        "method": ("goniometer", "inclinometer", "phone_app", "visual_estimate", "tape_measure"),
        "position": ("seated", "supine", "prone", "standing", "side_lying"),
        "mode": ("active", "passive"),
        "measured_by": ("self", "therapist"),
    }
    assert catalog.SIDES == ("left", "right")
    assert catalog.LEFS_MDC == 9


# ---- home protocols and how-tos -------------------------------------------------------------------------


def test_every_measure_has_a_protocol_with_a_source_and_valid_context():
    from hipdata import howto

    assert set(catalog.PROTOCOLS) == set(catalog.MEASURES) == set(howto.HOWTOS)
    for measure_id, p in catalog.PROTOCOLS.items():
        m = catalog.MEASURES[measure_id]
        assert p.text and p.source, measure_id
        if m.group == "pain":
            assert (p.position, p.method, p.mode) == (None, None, None)
            continue
        assert p.position in catalog.POSITIONS and p.mode in catalog.MODES, measure_id
        assert p.method == ("inclinometer" if m.group == "rom" else "tape_measure"), measure_id


def test_the_protocols_follow_the_mdc_sources_and_the_phone_can_see_every_motion():
    p = catalog.PROTOCOLS
    # rotation seated with hip and knee at 90 degrees, as in the MDC source (Gradoz 2018)
    for m in ("hip_internal_rotation", "hip_external_rotation"):
        assert p[m].position == "seated" and "90" in p[m].text and "Gradoz 2018" in p[m].source
    # side-lying where the motion would stay level lying on the back: the phone must tilt against gravity
    assert p["hip_abduction"].position == p["hip_adduction"].position == "side_lying"
    assert (
        p["fingertip_to_floor"].position == "standing"
        and "middle finger to the floor" in p["fingertip_to_floor"].text
    )
    assert (
        "Bagwell 2016" in p["figure_four"].source
        and "Bagwell 2016" in catalog.MEASURES["figure_four"].mdc_source
    )


def test_every_how_to_names_the_set_up_the_zero_the_movement_what_to_record_and_mistakes():
    from hipdata import howto

    for measure_id, guide in howto.HOWTOS.items():
        assert all(guide.steps()) and 1 <= len(guide.mistakes) <= 3, measure_id
        assert all(len(step) < 160 for step in guide.steps()), measure_id  # short sentences
        if catalog.PROTOCOLS[measure_id].method == "inclinometer":
            assert "Set zero" in guide.zero and "Use this angle" in guide.record, measure_id


def test_every_measure_has_a_drawing_that_is_self_contained_svg():
    import xml.etree.ElementTree as ET

    from hipdata import howto

    for measure_id in catalog.MEASURES:
        svg = howto.drawing(measure_id)
        root = ET.fromstring(svg)  # well-formed
        assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("aria-label"), measure_id
        assert "href" not in svg and "http://" not in svg.replace("http://www.w3.org/2000/svg", ""), (
            measure_id
        )


def test_the_figure_four_label_how_to_drawing_and_chart_all_measure_to_the_floor():
    import pandas as pd

    from hipdata import charts, howto

    empty = pd.DataFrame(columns=["measure", "side", "date", "value"])
    chart = charts.measure_chart("figure_four", empty, empty.rename(columns={"date": "week"}), pd.DataFrame())
    texts = {
        "label": catalog.MEASURES["figure_four"].label,
        "protocol": catalog.PROTOCOLS["figure_four"].text,
        "how-to": " ".join(howto.howto("figure_four").steps()),
        "drawing": howto.drawing("figure_four"),
        "chart title": chart.layout.title.text,
    }
    for name, text in texts.items():
        assert "floor" in text and "table" not in text, name
