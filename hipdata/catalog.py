"""The measure and exercise catalog: what may be recorded, in which unit, and how to read a change.

MDC = minimal detectable change (MDC95 = 1.96 x sqrt(2) x SEM). A change smaller than the MDC cannot be
told apart from measurement noise. Sources for every MDC and typical range are kept on each measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

SIDES = ("left", "right")


@dataclass(frozen=True)
class Measure:
    id: str
    label: str
    group: str  # "rom", "field" or "pain"
    unit: str
    sides: tuple[str, ...]  # ("left", "right") or () for a single midline measure
    better: str  # "higher" or "lower"
    valid_min: float
    valid_max: float
    typical_low: float
    typical_high: float
    mdc: float
    mdc_source: str
    typical_source: str = ""

    @property
    def sided(self) -> bool:
        return bool(self.sides)

    @property
    def direction(self) -> int:
        """+1 where higher is better, -1 where lower is better."""
        return 1 if self.better == "higher" else -1

    @property
    def whole_numbers(self) -> bool:
        return self.group == "pain"

    @property
    def unit_label(self) -> str:
        return {"deg": "°", "cm": "cm", "nprs": "/10"}[self.unit]


@dataclass(frozen=True)
class Exercise:
    id: str
    label: str
    targets: str
    dose: str


_PUA = "Pua 2008 Arch Phys Med Rehabil (PMID 18503813)"
_GRADOZ = "Gradoz 2018 J Sport Rehabil: MDC 6.1-8.6 deg (hip and knee at 90 deg)"
_NPRS = "Childs 2005 Spine 30:1331: NPRS MDC 2 points; Farrar 2001 Pain 94:149: important = 2 points or 30%"
_LR = SIDES

MEASURES: dict[str, Measure] = {
    m.id: m
    for m in (
        Measure("hip_flexion", "Hip flexion", "rom", "deg", _LR, "higher", 0, 160, 110, 120, 10,
                f"{_PUA}: SEM 3.5 deg -> MDC95 9.7",
                "Wilson 2014 Am Fam Physician 89:27 (110-120 supine); AAOS commonly cited 120"),
        Measure("hip_extension", "Hip extension", "rom", "deg", _LR, "higher", -40, 60, 10, 30, 13,
                f"{_PUA}: SEM 4.7 deg -> MDC95 13.0",
                "Wilson 2014 (10-15 side-lying); AAOS commonly cited 30"),
        Measure("hip_abduction", "Hip abduction", "rom", "deg", _LR, "higher", 0, 90, 30, 50, 10,
                f"{_PUA}: SEM 3.1-4.7 deg across motions -> MDC95 8.6-13.0",
                "Wilson 2014 (30-50 supine)"),
        Measure("hip_adduction", "Hip adduction", "rom", "deg", _LR, "higher", 0, 60, 20, 30, 10,
                f"{_PUA} range; Nussbaumer 2010 BMC Musculoskelet Disord 11:194: adduction least reliable",
                "Wilson 2014 (20-30 supine)"),
        Measure("hip_internal_rotation", "Hip internal rotation", "rom", "deg", _LR, "higher", 0, 90, 30, 40, 8,
                f"{_GRADOZ}; Krause: seated inclinometer MDC 5.4 deg",
                "Wilson 2014 (30-40); Kouyoumdjian 2012: seated 37.9, supine 29.6, prone 35.2"),
        Measure("hip_external_rotation", "Hip external rotation", "rom", "deg", _LR, "higher", 0, 90, 40, 60, 8,
                _GRADOZ,
                "Wilson 2014 (40-60); Kouyoumdjian 2012: supine 38.5, prone 41.8"),
        Measure("fingertip_to_floor", "Forward fold: fingertip-to-floor distance", "field", "cm", (), "lower",
                -30, 80, 0, 5, 4.5,
                "Ekedahl 2012 Arch Phys Med Rehabil 93:2210: MDC 4.5 cm; Perret 2001: ICC 0.99",
                "0 = fingertips touch the floor; negative = past the floor (standing on a step)"),
        # The reference table says knee-to-table (Bagwell 2016 measured on a clinic plinth); a patient does the
        # test at home lying on a firm floor (the protocol and the how-to), and the distance from the knee to
        # the surface lain on is the same measurement, so the label names what the patient measures.
        Measure("figure_four", "Figure-four (FABER): knee-to-floor distance", "field", "cm", _LR, "lower",
                0, 60, 9.6, 15.2, 3.7,
                "Bagwell 2016 Int J Sports Phys Ther: MDC 3.7 cm; same-rater ICC 0.76-0.86",
                "Bagwell 2016 healthy mean 12.4 +/- 2.8 cm"),
        Measure("pain_hip", "Hip pain", "pain", "nprs", _LR, "lower", 0, 10, 0, 0, 2, _NPRS),
        Measure("pain_low_back", "Low back pain", "pain", "nprs", (), "lower", 0, 10, 0, 0, 2, _NPRS),
        Measure("pain_knee", "Knee pain", "pain", "nprs", _LR, "lower", 0, 10, 0, 0, 2, _NPRS),
        Measure("pain_ankle_foot", "Ankle / Achilles / foot pain", "pain", "nprs", _LR, "lower", 0, 10, 0, 0, 2,
                _NPRS),
    )
}  # fmt: skip

EXERCISES: dict[str, Exercise] = {
    e.id: e
    for e in (
        Exercise("ninety_ninety", "90/90 hip switch (dynamic)", "hip internal and external rotation",
                 "reps per side"),
        Exercise("kneeling_hip_flexor_stretch", "Tall kneeling hip flexor stretch", "iliopsoas and hip flexors",
                 "seconds per side"),
        Exercise("banded_glute_bridge", "Glute bridge with band", "hip extension and glute activation",
                 "reps; band level"),
        Exercise("lateral_band_walk", "Lateral band walk", "lateral hip stability", "steps each way; band level"),
        Exercise("banded_hip_distraction", "Banded hip distraction", "joint capsule mobility",
                 "seconds per side; band level"),
        Exercise("banded_hip_ap_glide", "Banded anterior-posterior glide", "joint capsule mobility",
                 "reps per side; band level"),
        Exercise("banded_hip_lateral_mobilization", "Banded lateral mobilization", "lateral hip flexibility",
                 "reps per side; band level"),
        Exercise("bulgarian_split_squat", "Bulgarian split squat", "strength through range",
                 "reps per side; load kg"),
        Exercise("figure_four_stretch", "Figure-four stretch", "hip external rotators", "seconds per side"),
        Exercise("foam_rolling", "Foam rolling", "soft tissue", "minutes"),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Protocol:
    """How a patient takes a measure at home: the context stored with the reading, and where it comes from."""

    position: str | None  # one of POSITIONS; None for pain, which has no position
    method: str | None  # one of METHODS; the instrument a patient uses at home
    mode: str | None  # one of MODES
    text: str  # the protocol in one line, for therapists
    source: str


# The phone is placed so that every movement turns it about a horizontal axis (side-lying where the motion
# would otherwise stay level): the inclinometer reads the angle between gravity at zero and now.
_PHONE = "Phone inclinometer: Charlton 2015 J Sci Med Sport 18:262 (ICC > 0.88 vs 3-D motion capture)"
_SEATED = (
    "Seated, hips and knees at 90 deg, thigh supported and level; phone flat on the front of the shin above "
    "the ankle, zero with the shin hanging vertical"
)
PROTOCOLS: dict[str, Protocol] = {
    "hip_flexion": Protocol("supine", "inclinometer", "active",
        "Supine; phone on the front of the thigh above the knee, zero with the leg flat; knee bent, thigh "
        "drawn towards the chest; the other leg stays flat", f"{_PHONE}; Wilson 2014 (supine)"),
    "hip_extension": Protocol("prone", "inclinometer", "active",
        "Prone; phone on the back of the thigh above the knee, zero with the leg flat; straight leg lifted, "
        "pelvis kept on the floor", _PHONE),
    "hip_abduction": Protocol("side_lying", "inclinometer", "active",
        "Side-lying on the other side; phone on the outside of the thigh above the knee, zero with the legs "
        "together; straight top leg lifted, toes forward", f"{_PHONE}; side-lying so the motion tilts the phone"),
    "hip_adduction": Protocol("side_lying", "inclinometer", "active",
        "Side-lying on the measured side, top foot placed in front; phone in a band on the front of the lower "
        "shin, zero with the leg on the floor; straight lower leg lifted",
        f"{_PHONE}; side-lying so the motion tilts the phone"),
    "hip_internal_rotation": Protocol("seated", "inclinometer", "active",
        f"{_SEATED}; foot turned outwards (shin swings out), thigh still",
        f"Gradoz 2018 J Sport Rehabil (hip and knee at 90 deg, the MDC source); Kouyoumdjian 2012 (seated); {_PHONE}"),
    "hip_external_rotation": Protocol("seated", "inclinometer", "active",
        f"{_SEATED}; foot turned inwards (shin swings in), thigh still",
        f"Gradoz 2018 J Sport Rehabil (hip and knee at 90 deg, the MDC source); {_PHONE}"),
    "fingertip_to_floor": Protocol("standing", "tape_measure", "active",
        "Standing barefoot, feet together, knees straight; slow forward bend, arms hanging; tape from the tip "
        "of the middle finger to the floor (negative past the floor, standing on a step)",
        "Perret 2001 Arch Phys Med Rehabil 82:1566; Ekedahl 2012 Arch Phys Med Rehabil 93:2210"),
    "figure_four": Protocol("supine", "tape_measure", "passive",
        "Supine on a firm floor; ankle on the other knee, the bent knee relaxed towards the floor; tape from "
        "the outside of the knee straight down to the floor", "Bagwell 2016 Int J Sports Phys Ther (the MDC source)"),
    **{
        m: Protocol(None, None, None, "Numeric pain rating 0-10: the usual pain in that region this week",
                    "Childs 2005 Spine 30:1331; Farrar 2001 Pain 94:149")
        for m in ("pain_hip", "pain_low_back", "pain_knee", "pain_ankle_foot")
    },
}  # fmt: skip

# Measurement context (CLINICAL_RULES section 6): a change of any of these can move a reading by itself.
METHODS = ("goniometer", "inclinometer", "phone_app", "visual_estimate", "tape_measure")
POSITIONS = ("seated", "supine", "prone", "standing", "side_lying")
MODES = ("active", "passive")
RATERS = ("self", "therapist")
CONTEXT_CHOICES: dict[str, tuple[str, ...]] = {
    "method": METHODS,
    "position": POSITIONS,
    "mode": MODES,
    "measured_by": RATERS,
}

GROUP_LABELS = {"rom": "Hip range of motion", "field": "Field tests", "pain": "Pain (0-10)"}

# LEFS (Binkley 1999): 20 items 0-4, total 0-80, higher is better; MDC and MCID 9 points.
LEFS_MDC = 9


def measure(measure_id: str) -> Measure:
    return MEASURES[measure_id]


def series_keys() -> list[tuple[str, str]]:
    """Every (measure, side) a patient can log; side is '' for a measure without sides."""
    return [(m.id, side) for m in MEASURES.values() for side in (m.sides or ("",))]


@cache
def measures_frame() -> pd.DataFrame:
    """The catalog as one row per measure, for vectorised joins in analysis."""
    import pandas as pd  # analysis has it loaded already; the import command never needs it

    return pd.DataFrame(
        {
            "measure": m.id,
            "label": m.label,
            "group": m.group,
            "unit": m.unit,
            "sided": m.sided,
            "direction": m.direction,
            "valid_min": float(m.valid_min),
            "valid_max": float(m.valid_max),
            "typical_low": float(m.typical_low),
            "typical_high": float(m.typical_high),
            "mdc": float(m.mdc),
            "whole_numbers": m.whole_numbers,
        }
        for m in MEASURES.values()
    )
