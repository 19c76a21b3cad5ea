"""How to take each measure at home: short steps written for a patient, and a drawing of the position.

The drawings are inline SVG built here (no image files, no network). The position, instrument and mode a
how-to describes are the catalog's protocol for that measure (catalog.PROTOCOLS): what is stored with the
reading is what the patient was told to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from hipdata import catalog


@dataclass(frozen=True)
class HowTo:
    setup: str  # position and set-up
    place: str  # where the phone or the tape goes
    zero: str  # the zero reference
    move: str  # the movement
    record: str  # what number to write down
    mistakes: tuple[str, ...]  # the common mistakes, each one line

    def steps(self) -> tuple[str, ...]:
        return (self.setup, self.place, self.zero, self.move, self.record)


_SEATED = "Sit on a high bed or table. Your knees bend over the edge at a right angle. Your thigh rests flat."
_SHIN = "Hold your phone flat on the front of your shin, just above the ankle, screen facing out."
_SHIN_ZERO = "Let your shin hang straight down. Tap Set zero."
_ROTATION_MISTAKES = (
    "Thigh lifting off the table: keep it flat and still.",
    "Leaning your body to the side: sit tall, weight on both buttocks.",
    "Bouncing at the end: move slowly and hold still.",
)
_PAIN = HowTo(
    setup="Think about this week, not just today.",
    place="No phone or tape needed.",
    zero="0 means no pain at all.",
    move="10 means the worst pain you can imagine.",
    record="Enter the number that fits your usual pain this week, 0 to 10. Leave it empty if you are unsure.",
    mistakes=("Rating only the worst moment: pick the usual level.",),
)
HOWTOS: dict[str, HowTo] = {
    "hip_internal_rotation": HowTo(
        setup=_SEATED,
        place=_SHIN,
        zero=_SHIN_ZERO,
        move="Turn your foot outwards, away from the other leg. Your shin swings out. Go as far as is comfortable.",
        record="Hold still for a second. Tap Use this angle, or type the angle in degrees.",
        mistakes=_ROTATION_MISTAKES,
    ),
    "hip_external_rotation": HowTo(
        setup=_SEATED,
        place=_SHIN,
        zero=_SHIN_ZERO,
        move="Turn your foot inwards, towards the other leg. Your shin swings in. Go as far as is comfortable.",
        record="Hold still for a second. Tap Use this angle, or type the angle in degrees.",
        mistakes=_ROTATION_MISTAKES,
    ),
    "hip_flexion": HowTo(
        setup="Lie on your back on the floor. Both legs straight.",
        place="Hold your phone flat on the front of your thigh, just above the knee.",
        zero="Keep the leg flat on the floor. Tap Set zero.",
        move="Bend your knee and bring the thigh towards your chest. The other leg stays flat.",
        record="Hold still for a second. Tap Use this angle, or type the angle in degrees.",
        mistakes=(
            "The other leg lifting: keep it flat on the floor.",
            "Pulling with your hands: lift with your own muscles.",
            "Bouncing at the end: move slowly and hold still.",
        ),
    ),
    "hip_extension": HowTo(
        setup="Lie on your front on the floor. Both legs straight.",
        place="Ask someone to hold the phone flat on the back of your thigh, just above the knee.",
        zero="Keep the leg flat on the floor. Tap Set zero.",
        move="Keep the knee straight and lift the leg up behind you.",
        record="Hold still for a second. Tap Use this angle, or type the angle in degrees.",
        mistakes=(
            "Pelvis lifting or twisting: both hip bones stay on the floor.",
            "Arching the low back: lift from the hip only.",
        ),
    ),
    "hip_abduction": HowTo(
        setup="Lie on your other side. Legs straight and together, toes pointing forward.",
        place="Hold or strap the phone on the outside of your top thigh, just above the knee.",
        zero="Keep the legs together. Tap Set zero.",
        move="Lift the top leg straight up towards the ceiling.",
        record="Hold still for a second. Tap Use this angle, or type the angle in degrees.",
        mistakes=(
            "Rolling backwards: keep your hips stacked.",
            "Toes turning up: keep them pointing forward.",
        ),
    ),
    "hip_adduction": HowTo(
        setup="Lie on the side you measure. Bend the top leg and put that foot on the floor in front.",
        place="Strap the phone flat on the front of the lower shin of the bottom leg.",
        zero="Keep the bottom leg straight on the floor. Tap Set zero.",
        move="Lift the straight bottom leg up towards the ceiling.",
        record="Hold still for a second. Tap Use this angle, or type the angle in degrees.",
        mistakes=(
            "Rolling forwards or back: keep your hips stacked.",
            "Bending the knee: keep the bottom leg straight.",
        ),
    ),
    "fingertip_to_floor": HowTo(
        setup="Stand barefoot on a hard floor. Feet together, knees straight.",
        place="Put a tape measure or ruler next to your hand. A helper makes this easier.",
        zero="0 cm means your fingertips touch the floor.",
        move="Bend forward slowly. Let your arms and head hang. Hold the lowest point for two seconds.",
        record="Enter the distance from your middle fingertip to the floor in cm. Past the floor (on a step): a minus number.",
        mistakes=(
            "Bending the knees: keep them straight.",
            "Bouncing down: go slowly and hold.",
            "Measuring from the palm: measure from the middle fingertip.",
        ),
    ),
    "figure_four": HowTo(
        setup="Lie on your back on a firm floor. Both legs straight.",
        place="Keep a tape measure next to you.",
        zero="Put the ankle of the measured leg on the other knee, like a figure 4.",
        move="Relax. Let the bent knee drop towards the floor. Do not push it.",
        record="Enter the distance from the outside of the bent knee straight down to the floor, in cm.",
        mistakes=(
            "Pelvis tilting or rolling: keep both buttocks on the floor.",
            "Pushing the knee down with a hand: let it drop by itself.",
        ),
    ),
    "pain_hip": _PAIN,
    "pain_low_back": _PAIN,
    "pain_knee": _PAIN,
    "pain_ankle_foot": _PAIN,
}

# ---- drawings ----------------------------------------------------------------------------------------------

_INK, _PHONE_COLOUR, _GUIDE = "#2b3a4a", "#e4572e", "#7a8794"


def _svg(title: str, *parts: str) -> str:
    body = "".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 150" width="240" height="150" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="6" markerHeight="6" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{_PHONE_COLOUR}"/></marker></defs>'
        '<rect width="240" height="150" rx="10" fill="#f4f6f8"/>'
        f'<g font-family="sans-serif" font-size="11" fill="{_INK}">{body}</g></svg>'
    )


def _limb(*points: tuple[float, float]) -> str:
    path = " ".join(f"{x},{y}" for x, y in points)
    return (
        f'<polyline points="{path}" fill="none" stroke="{_INK}" stroke-width="7" '
        'stroke-linecap="round" stroke-linejoin="round"/>'
    )


def _head(x: float, y: float) -> str:
    return f'<circle cx="{x}" cy="{y}" r="9" fill="{_INK}"/>'


def _phone(x: float, y: float, angle: float) -> str:
    return (
        f'<rect x="{x - 5}" y="{y - 10}" width="10" height="20" rx="2" fill="{_PHONE_COLOUR}" '
        f'transform="rotate({angle} {x} {y})"/>'
    )


def _guide(x1: float, y1: float, x2: float, y2: float, label: str = "", lx: float = 0, ly: float = 0) -> str:
    text = f'<text x="{lx}" y="{ly}" fill="{_GUIDE}">{label}</text>' if label else ""
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{_GUIDE}" stroke-width="2" '
        f'stroke-dasharray="4 4"/>{text}'
    )


def _arrow(d: str) -> str:
    return f'<path d="{d}" fill="none" stroke="{_PHONE_COLOUR}" stroke-width="2.5" marker-end="url(#arrow)"/>'


def _floor(y: float = 130) -> str:
    return f'<line x1="10" y1="{y}" x2="230" y2="{y}" stroke="{_GUIDE}" stroke-width="2"/>'


def _tape(x: float, y1: float, y2: float, below: bool = False) -> str:
    """A tape measure from y1 down to y2, labelled beside it (or under the floor, where the figure is crowded)."""
    lx, ly = (x - 8, y2 + 13) if below else (x + 6, (y1 + y2) / 2 + 4)
    return (
        f'<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="#d9a400" stroke-width="4"/>'
        f'<text x="{lx}" y="{ly}" font-weight="bold">cm</text>'
    )


def _seated(title: str, foot_x: float, arc: str) -> str:
    """Front view, seated on a table edge: the right shin swings out (internal) or in (external)."""
    return _svg(
        title,
        '<rect x="60" y="78" width="120" height="8" rx="2" fill="#c9d1d9"/>',
        _head(120, 18),
        _limb((120, 30), (120, 72)),
        _limb((120, 40), (100, 66)),
        _limb((120, 40), (140, 66)),
        _limb((106, 74), (104, 124)),
        _guide(138, 74, 138, 132, "0°", 142, 132),
        _limb((138, 74), (foot_x, 120)),
        _phone((138 + foot_x) / 2 + (foot_x - 138) * 0.15, 103, -(foot_x - 138) * 1.1),
        _arrow(arc),
    )


_DRAWINGS: dict[str, str] = {
    "hip_internal_rotation": _seated("Seated: the shin swings outwards", 166, "M142,136 Q156,134 166,128"),
    "hip_external_rotation": _seated("Seated: the shin swings inwards", 112, "M134,136 Q122,134 114,128"),
    "hip_flexion": _svg(
        "Lying on the back: the bent knee comes towards the chest",
        _floor(),
        _head(28, 112),
        _limb((40, 118), (110, 120)),
        _limb((110, 120), (205, 122)),
        _guide(110, 120, 190, 120, "0°", 192, 114),
        _limb((110, 120), (122, 66), (168, 72)),
        _phone(119, 82, 13),
        _arrow("M170,112 Q160,80 134,68"),
    ),
    "hip_extension": _svg(
        "Lying on the front: the straight leg lifts",
        _floor(),
        _head(28, 112),
        _limb((40, 120), (110, 120)),
        _guide(110, 121, 200, 121, "0°", 202, 126),
        _limb((110, 120), (196, 88)),
        _phone(140, 109, 70),
        _arrow("M200,116 Q206,104 200,94"),
    ),
    "hip_abduction": _svg(
        "Lying on the side: the top leg lifts",
        _floor(),
        _head(28, 112),
        _limb((40, 120), (110, 120)),
        _limb((110, 122), (205, 122)),
        _guide(110, 118, 200, 118, "0°", 202, 112),
        _limb((110, 118), (196, 84)),
        _phone(150, 98, 69),
        _arrow("M204,108 Q210,96 202,86"),
    ),
    "hip_adduction": _svg(
        "Lying on the side: the bottom leg lifts, the top foot in front",
        _floor(),
        _head(28, 112),
        _limb((40, 120), (110, 120)),
        _limb((110, 116), (142, 98), (150, 124)),
        _guide(110, 122, 205, 122, "0°", 207, 127),
        _limb((110, 122), (200, 104)),
        _phone(180, 108, 79),
        _arrow("M212,118 Q216,110 208,104"),
    ),
    "fingertip_to_floor": _svg(
        "Standing forward bend: tape from the middle fingertip to the floor",
        _floor(),
        _limb((110, 128), (112, 70)),
        _limb((112, 70), (150, 88)),
        _head(160, 98),
        _limb((146, 86), (150, 112)),
        _tape(150, 114, 129),
        _arrow("M118,52 Q150,50 160,72"),
    ),
    "figure_four": _svg(
        "Figure 4 on the back: tape from the outside of the knee to the floor",
        _floor(),
        _head(28, 112),
        _limb((40, 118), (110, 120)),
        _limb((110, 120), (205, 122)),
        _limb((110, 118), (140, 88), (170, 114)),
        _tape(140, 93, 129, below=True),
        _arrow("M150,66 Q150,76 144,84"),
    ),
}
_SCALE = "".join(
    f'<rect x="{12 + 20 * i}" y="58" width="18" height="30" rx="3" '
    f'fill="hsl({120 - 12 * i}, 65%, 55%)"/><text x="{21 + 20 * i}" y="78" text-anchor="middle" '
    f'fill="#ffffff" font-weight="bold">{i}</text>'
    for i in range(11)
)
_PAIN_DRAWING = _svg(
    "Pain scale from 0, no pain, to 10, the worst pain",
    _SCALE,
    '<text x="12" y="106">no pain</text>',
    '<text x="228" y="106" text-anchor="end">worst pain</text>',
)


def drawing(measure_id: str) -> str:
    """The SVG drawing of a measure's position (pain measures share the 0-10 scale)."""
    if catalog.MEASURES[measure_id].group == "pain":
        return _PAIN_DRAWING
    return _DRAWINGS[measure_id]


def howto(measure_id: str) -> HowTo:
    return HOWTOS[measure_id]
