"""Realistic synthetic patients (gradual change + measurement noise) for the demo and for benchmarks.

Every patient gets a weekly check-in on about the same weekday, with one reading for every series of the
catalog (`catalog.series_keys()`), and a short exercise log. The "true" value of each series follows the
patient's course (improving, flat, worsening, or improving then plateauing); each reading adds Gaussian
measurement noise with SD = SEM = MDC / 2.77 (cut at 3 SEM), is rounded the way a person writes it down,
and is kept inside the measure's plausible range. How far a course may move is bounded, with the reasons,
at COURSE_WEEKS below. Pain follows the range of motion: it falls as the hip frees up and rises when it
stiffens. Most readings are taken at home with the patient's usual method; some weeks a therapist measures
in the clinic (goniometer, passive range), and some patients change instrument part way through, so the
charts have context changes to show.

Generation is vectorised over arrays of shape (patients, weeks, series): no Python loop per patient, week
or reading. Same seed and end date -> identical frames.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hipdata import catalog
from hipdata.contract import READING_COLUMNS

if TYPE_CHECKING:  # only for load_demo's annotations; keeps the generator free of database imports
    from hipdata.auth import Actor
    from hipdata.store import ImportResult, Store

PRESCRIBED_SESSIONS = 4
COURSES = ("improving", "flat", "worsening", "plateau")
COURSE_WEIGHTS = (0.40, 0.20, 0.15, 0.25)
EXERCISE_LOG_COLUMNS = (
    "patient_id",
    "week",
    "exercise",
    "sessions",
    "sets",
    "reps",
    "seconds",
    "band_level",
    "load_kg",
)
BAND_LEVELS = ("light", "medium", "heavy")
SEM_PER_MDC = 1 / (1.96 * np.sqrt(2))  # MDC95 = 1.96 * sqrt(2) * SEM

# Where a stiff-hip patient starts: (value of the least stiff patient, value of the stiffest patient).
BASELINE_RANGE: dict[str, tuple[float, float]] = {
    "hip_flexion": (118, 95),
    "hip_extension": (16, 0),
    "hip_abduction": (44, 25),
    "hip_adduction": (28, 15),
    "hip_internal_rotation": (35, 20),
    "hip_external_rotation": (50, 30),
    "fingertip_to_floor": (0, 20),
    "figure_four": (12, 25),
    "pain_hip": (2, 7),
}
# How far a course moves, and why. Real courses over a programme of weeks change a hip by a few degrees,
# one to two MDCs; a demo that lost 20 degrees in four months would not be believed. Observed changes
# (median of the last 2 weekly values - median of the first 2) add the noise of four readings (SD about
# 0.36 MDC) and an occasional clinic visit in one of those weeks (up to about 1 MDC for rotation read in
# another position); the noise is cut at 3 SEM so no run of bad luck breaks the "for all" bounds. So the
# true course stays well inside what a test asserts over COURSE_WEEKS weeks on any seed (tests/test_demo.py,
# on several seeds; 40 seeds of 12 and of 60 patients each stayed within 2.2 / 3.1 MDC for gains (95 % / all),
# 1.3 / 2.3 for losses and 2.5 / 4.5 points for pain):
#   gains: observed within 2.5 MDC for 95 % of ROM series and within 3.5 for all; the true gain is
#     1.3-2 MDC, reached steadily at week COURSE_WEEKS and kept after it (an improving patient still
#     moves in the last six weeks, so is not taken for a plateau), or by a plateau course at its plateau,
#     rising fast at first (time constant 5-10 weeks) as stiffness usually eases;
#   losses: observed within 1.5 MDC for 95 % and 2.5 for all; the true loss is 0.8-1.15 MDC, creeping in
#     linearly over COURSE_WEEKS weeks, then staying there (enough for a worsening flag, not a collapse);
#   values: readings are kept inside the measure's PLAUSIBLE_RANGE, and no course takes the true value
#     within NOISE_MARGIN_SEM SEMs of its edge, so clipping almost never touches the noise;
#   pain: moves with the hip, by 1-1.6 points per MDC (hip) or 0.3-0.6 (elsewhere), at most
#     PAIN_CHANGE_MAX points.
COURSE_WEEKS = 16
IMPROVING_GAIN_MDC = (1.3, 2.0)
WORSENING_LOSS_MDC = (0.8, 1.15)
GAIN_TIME_CONSTANT_WEEKS = (5.0, 10.0)
NOISE_MARGIN_SEM = 2.0
PAIN_CHANGE_MAX = 3.0
# What a person with a stiff hip records (a range of motion of 0 degrees, or 20 degrees short of neutral
# extension, belongs in a different clinic). Readings are clipped to it.
PLAUSIBLE_RANGE: dict[str, tuple[float, float]] = {
    "hip_flexion": (80, 135),
    "hip_extension": (-15, 35),
    "hip_abduction": (15, 60),
    "hip_adduction": (5, 45),
    "hip_internal_rotation": (8, 50),
    "hip_external_rotation": (15, 65),
    "fingertip_to_floor": (-15, 35),
    "figure_four": (3, 35),
}

# Pain outside the hip: present for some patients only, then starting between 1 and 5.
OTHER_PAIN_PREVALENCE = {"pain_low_back": 0.45, "pain_knee": 0.30, "pain_ankle_foot": 0.25}
OTHER_PAIN_RANGE = (1.0, 5.0)

# Context. Home readings use the patient's own instrument; the clinic uses a goniometer, passive range.
HOME_ROM_METHODS = ("phone_app", "inclinometer", "goniometer", "visual_estimate")
HOME_ROM_METHOD_WEIGHTS = (0.5, 0.2, 0.2, 0.1)
# Home position options (with weights) per measure; the first option is the clinic's position.
POSITION_OPTIONS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "hip_flexion": (("supine",), (1.0,)),
    "hip_extension": (("prone", "side_lying"), (0.5, 0.5)),
    "hip_abduction": (("supine", "side_lying"), (0.7, 0.3)),
    "hip_adduction": (("supine",), (1.0,)),
    "hip_internal_rotation": (("supine", "seated", "prone"), (0.25, 0.6, 0.15)),
    "hip_external_rotation": (("supine", "seated", "prone"), (0.25, 0.6, 0.15)),
    "fingertip_to_floor": (("standing",), (1.0,)),
    "figure_four": (("supine",), (1.0,)),
}
# ROM read in one position differs from another (Kouyoumdjian 2012: IR seated 37.9, prone 35.2, supine 29.6;
# ER supine 38.5, prone 41.8), so a clinic reading in another position jumps by the difference.
POSITION_OFFSET: dict[tuple[str, str], float] = {
    ("hip_internal_rotation", "seated"): 8.0,
    ("hip_internal_rotation", "prone"): 5.5,
    ("hip_external_rotation", "prone"): 3.0,
    ("hip_external_rotation", "seated"): 1.5,
}
FIELD_CONTEXT = {"fingertip_to_floor": ("tape_measure", "active"), "figure_four": ("tape_measure", "passive")}

FIRST_NAMES = (
    "Alex", "Amara", "Ana", "Ben", "Carla", "Chen", "Chris", "Dana", "David", "Elena", "Emma", "Fatima",
    "Felix", "Grace", "Hannah", "Hugo", "Ingrid", "Isaac", "Jamal", "Jana", "Jonas", "Julia", "Kai", "Kenji",
    "Laura", "Leo", "Lina", "Luca", "Maya", "Marco", "Mei", "Miguel", "Nadia", "Nina", "Noah", "Olga",
    "Omar", "Paula", "Priya", "Rafael", "Rosa", "Ruth", "Sam", "Sara", "Simon", "Sofia", "Tariq", "Tess",
    "Theo", "Uma", "Victor", "Vera", "Wen", "Yara", "Yusuf", "Zoe",
)  # fmt: skip
LAST_INITIALS = "ABCDEFGHJKLMNOPRSTVWZ"

_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True, eq=False)
class Demo:
    """Synthetic data: one row per patient, readings in the CSV contract's long format, exercise log."""

    patients: pd.DataFrame
    readings: pd.DataFrame
    exercise_log: pd.DataFrame


def _strings(vocabulary, codes: np.ndarray) -> pd.Series:
    """A string column built by taking codes from a small vocabulary (fast for millions of rows)."""
    words = vocabulary.tolist() if isinstance(vocabulary, np.ndarray) else list(vocabulary)
    return pd.Series(pd.array(words, dtype="str").take(np.asarray(codes, dtype=np.intp)))


def _pick(rng: np.random.Generator, weights, size) -> np.ndarray:
    return rng.choice(len(weights), size=size, p=np.asarray(weights) / np.sum(weights))


def _end_date(end: date | datetime | pd.Timestamp | str | None) -> date:
    return date.today() if end is None else pd.Timestamp(end).date()


def generate(patients: int = 12, weeks: int = 16, seed: int = 7, end: date | None = None) -> Demo:
    """Synthetic patients over `weeks` weeks ending with the ISO week that contains `end` (default today).

    Readings: one per series per check-in, one check-in per patient per week on about the same weekday.
    A check-in that would fall after `end` has not happened yet and is left out, as are missed weeks
    (5-10 %) and everything after a drop-out (about 10 % of patients stop 3-7 weeks before the last week).
    """
    if patients < 0 or weeks < 1:
        raise ValueError("need patients >= 0 and weeks >= 1")
    rng = np.random.default_rng(seed)
    end_day = _end_date(end)
    P, W = int(patients), int(weeks)
    last_monday = np.datetime64(end_day, "D") - end_day.weekday()
    mondays = last_monday - 7 * np.arange(W - 1, -1, -1)  # (W,) datetime64[D]

    # ---- patients --------------------------------------------------------------------------------
    width = max(4, len(str(P)))
    ids = np.char.mod(f"P%0{width}d", np.arange(1, P + 1))
    if len(COURSES) <= P:  # every course present, the rest drawn by weight
        course = np.concatenate([np.arange(len(COURSES)), _pick(rng, COURSE_WEIGHTS, P - len(COURSES))])
        course = rng.permutation(course)
    else:
        course = _pick(rng, COURSE_WEIGHTS, P)
    first = rng.integers(0, len(FIRST_NAMES), P)
    initial = rng.integers(0, len(LAST_INITIALS), P)
    names = np.char.add(
        np.char.add(np.array(FIRST_NAMES)[first], " "), np.array(list(LAST_INITIALS))[initial]
    )
    names = np.char.add(names, ".")
    patients_frame = pd.DataFrame(
        {
            "patient_id": pd.array(ids.tolist(), dtype="str"),
            "display_name": pd.array(names.tolist(), dtype="str"),
            "course": _strings(COURSES, course),
        }
    )

    # ---- when each patient checks in -------------------------------------------------------------
    usual_day = _pick(rng, (0.12, 0.08, 0.1, 0.1, 0.1, 0.22, 0.28), P)  # weekends are popular
    jitter = _pick(rng, (0.05, 0.15, 0.6, 0.15, 0.05), (P, W)) - 2
    day = np.clip(usual_day[:, None] + jitter, 0, 6)  # (P, W) day of the week, 0 = Monday
    day_ns = (mondays.astype("datetime64[ns]").astype(np.int64)[None, :] + day * _NS_PER_DAY).astype(np.int64)
    present = rng.random((P, W)) >= rng.uniform(0.02, 0.13, P)[:, None]  # missed check-ins
    present[:, 0] = True  # everyone starts with a baseline check-in
    n_stop = max(min(2, P // 4), round(0.1 * P))
    stopped = np.zeros(P, dtype=bool)
    stopped[rng.permutation(P)[:n_stop]] = True
    last_week = np.where(stopped, np.maximum(W - 1 - rng.integers(3, 8, P), min(3, W - 1)), W - 1)
    week_index = np.arange(W)
    if W >= 3:  # patients still logging have not missed the last two weeks: they must not look inactive
        present[~stopped, -2:] = True
    present &= week_index[None, :] <= last_week[:, None]
    present &= (mondays[None, :] + day) <= np.datetime64(end_day, "D")  # not yet this week: not logged

    # ---- series ----------------------------------------------------------------------------------
    keys = catalog.series_keys()
    measure_ids = list(catalog.MEASURES)
    S = len(keys)
    ms = [catalog.MEASURES[m] for m, _ in keys]
    s_measure = np.array([measure_ids.index(m) for m, _ in keys])
    s_side = np.array([("", "left", "right").index(side) for _, side in keys])
    s_group = np.array([m.group for m in ms])
    s_dir = np.array([m.direction for m in ms], dtype=float)
    s_mdc = np.array([m.mdc for m in ms], dtype=float)
    s_sem = s_mdc * SEM_PER_MDC
    plaus_low, plaus_high = np.array([_plausible(m) for m in ms], dtype=float).T
    margin = NOISE_MARGIN_SEM * s_sem  # the true value keeps this far inside the plausible range
    is_rom, is_field, is_pain = s_group == "rom", s_group == "field", s_group == "pain"
    moves = ~is_pain  # series that follow the course directly; pain follows them
    is_hip_pain = np.array([m == "pain_hip" for m, _ in keys])
    s_step = np.where(s_group == "field", 0.5, 1.0)  # cm to 0.5, degrees and pain whole numbers

    # ---- baselines (P, S): stiffer patients start worse, one side stiffer than the other -------------
    per_measure = rng.normal(0, 0.15, (P, len(measure_ids)))[:, s_measure]  # shared by both sides
    stiffness = np.clip(rng.beta(2.0, 2.0, P)[:, None] + per_measure + rng.normal(0, 0.04, (P, S)), 0, 1)
    loose, stiff = np.array([_baseline_range(m) for m in ms]).T
    base = loose + stiffness * (stiff - loose)
    other_pain = is_pain & ~is_hip_pain
    prevalence = np.array([OTHER_PAIN_PREVALENCE.get(m.id, 0.3) for m in ms])
    has_pain = rng.random((P, S)) < prevalence
    low, high = OTHER_PAIN_RANGE
    base = np.where(other_pain, np.where(has_pain, low + stiffness * (high - low), 0.0), base)
    stiff_side = rng.integers(1, 3, P)  # 1 = left, 2 = right
    # About a third of patients have one clearly stiffer side (1-1.6 MDC worse), the rest nearly symmetric.
    asymmetry = np.where(rng.random(P) < 0.35, rng.uniform(1.0, 1.6, P), rng.uniform(0.0, 0.4, P))
    side_share = np.where(
        s_side[None, :] == 0, 0.0, np.where(s_side[None, :] == stiff_side[:, None], 0.7, -0.3)
    )  # the stiffer side takes most of the difference
    shift = asymmetry[:, None] * s_mdc * side_share * np.where(other_pain & ~has_pain, 0.0, 1.0)
    base = base - s_dir * shift  # the stiffer side is worse in the measure's own direction
    floor = np.minimum(loose, stiff) - np.where(s_dir > 0, 0.75, 0.5) * s_mdc  # keep baselines plausible
    ceiling = np.maximum(loose, stiff) + np.where(s_dir > 0, 0.5, 0.75) * s_mdc
    base = np.where(moves, np.clip(base, floor, ceiling), base)
    base = np.where(moves, np.clip(base, plaus_low + margin, plaus_high - margin), base)

    # ---- course: the true change in the good direction, in MDC units, as a function of time ---------
    # See COURSE_WEEKS: improving and worsening courses move steadily (linearly) over COURSE_WEEKS weeks,
    # a plateau course rises fast at first (1 - exp(-t / tau)) and then stops, all capped so the true
    # value stays inside the plausible range with room for the noise.
    t = week_index[None, :] + day / 7.0  # (P, W) weeks since the first Monday
    gain_mdc = rng.uniform(*IMPROVING_GAIN_MDC, (P, S))
    loss_mdc = rng.uniform(*WORSENING_LOSS_MDC, (P, S))
    tau = rng.uniform(*GAIN_TIME_CONSTANT_WEEKS, P)[:, None]  # (P, 1)
    plateau_at = np.maximum(rng.uniform(0.5, 0.7, P) * (W - 1), 1.0)[:, None]
    is_plateau = (course == 3)[:, None]
    reach = np.where(is_plateau, plateau_at, float(COURSE_WEEKS))  # when the full gain is reached
    t_gain = np.where(is_plateau, np.minimum(t, plateau_at), t)
    rise = (1 - np.exp(-t_gain / tau)) / (1 - np.exp(-reach / tau))  # 0 at the start, 1 at `reach`
    creep = np.minimum(t / COURSE_WEEKS, 1.0)
    shape = np.select(
        [(course == 2)[:, None], (course == 1)[:, None], (course == 0)[:, None]],
        [-creep, np.zeros_like(t), creep],
        rise,
    )  # (P, W): worsening, flat, improving, plateau
    amount = np.where((course == 2)[:, None], loss_mdc, gain_mdc) * s_mdc  # (P, S) in the unit
    room_up = np.where(s_dir > 0, plaus_high - margin - base, base - (plaus_low + margin))
    room_down = np.where(s_dir > 0, base - (plaus_low + margin), plaus_high - margin - base)
    limit = np.where((course == 2)[:, None], room_down, room_up)
    amount = np.clip(np.minimum(amount, limit), 0.0, None)
    gain = shape[:, :, None] * amount[:, None, :]  # (P, W, S)
    # Pain follows the hip: progress in MDC units averaged over ROM and field tests, times a per-series
    # factor (points per MDC), and moves by at most PAIN_CHANGE_MAX points.
    progress = (gain[:, :, moves] / s_mdc[moves]).mean(axis=2)  # (P, W)
    pain_factor = np.where(is_hip_pain, rng.uniform(1.0, 1.6, (P, S)), rng.uniform(0.3, 0.6, (P, S)))
    pain_factor = np.where(other_pain & ~has_pain, 0.0, pain_factor)
    pain_change = np.clip(pain_factor[:, None, :] * progress[:, :, None], -PAIN_CHANGE_MAX, PAIN_CHANGE_MAX)
    true = np.where(
        moves,
        base[:, None, :] + s_dir * gain,
        np.clip(base[:, None, :] - pain_change, 0, 10),
    )  # (P, W, S)

    # ---- context: home method and position, a method switch for some, clinic visits for some ----------
    method_home = _pick(rng, HOME_ROM_METHOD_WEIGHTS, P)
    switches = rng.random(P) < 0.25
    switch_week = rng.integers(max(W // 4, 1), max(3 * W // 4, 2), P)
    method_new = (method_home + rng.integers(1, len(HOME_ROM_METHODS), P)) % len(HOME_ROM_METHODS)
    switched = switches[:, None] & (week_index[None, :] >= switch_week[:, None])  # (P, W)
    rom_method = np.where(switched, method_new[:, None], method_home[:, None])  # (P, W) index
    sees_therapist = rng.random(P) < 0.4
    every = rng.integers(3, 7, P)
    phase = rng.integers(0, 100, P)
    clinic = sees_therapist[:, None] & ((week_index[None, :] + phase[:, None]) % every[:, None] == 0)
    clinic &= rng.random((P, W)) < 0.8

    position_home = np.zeros((P, S), dtype=np.intp)  # index into catalog.POSITIONS, -1 = none
    position_clinic = np.full(S, -1, dtype=np.intp)
    offset_home = np.zeros((P, S))
    offset_clinic = np.zeros(S)
    patient_pick = rng.random(P)  # one draw per patient: IR and ER share a position, for instance
    for s, m in enumerate(ms):  # a loop over the catalog's series, not over patients
        options, weights = POSITION_OPTIONS.get(m.id, ((), ()))
        if not options:
            position_home[:, s] = -1
            continue
        cumulative = np.cumsum(weights) / np.sum(weights)
        chosen = np.minimum(np.searchsorted(cumulative, patient_pick, side="right"), len(options) - 1)
        codes = np.array([catalog.POSITIONS.index(o) for o in options])
        position_home[:, s] = codes[chosen]
        offset_home[:, s] = np.array([POSITION_OFFSET.get((m.id, o), 0.0) for o in options])[chosen]
        position_clinic[s] = codes[0]
        offset_clinic[s] = POSITION_OFFSET.get((m.id, options[0]), 0.0)

    # Systematic differences: the clinic's passive goniometer reading, another rater, another instrument.
    clinic_bias = np.where(
        is_rom,
        offset_clinic - offset_home + rng.uniform(1.0, 4.0, (P, S)) + rng.normal(0, 0.5, (P, S)) * s_sem,
        np.where(is_field, rng.normal(0, 0.5, (P, S)) * s_sem, 0.0),
    )
    switch_bias = np.where(is_rom, rng.normal(0, 0.5, (P, S)) * s_sem, 0.0)
    in_clinic = clinic[:, :, None] & moves  # (P, W, S)
    bias = np.where(in_clinic, clinic_bias[:, None, :], 0.0) + np.where(
        switched[:, :, None] & ~in_clinic, switch_bias[:, None, :], 0.0
    )

    # ---- readings: noise, rounding as written down, valid range ------------------------------------
    noisy = true + bias + np.clip(rng.standard_normal((P, W, S)), -3, 3) * s_sem  # no wild tails
    visual = HOME_ROM_METHODS.index("visual_estimate")
    step = np.where(is_rom & ~in_clinic & (rom_method == visual)[:, :, None], 5.0, s_step)
    value = np.clip(np.round(noisy / step) * step, plaus_low, plaus_high) + 0.0  # + 0.0 turns -0.0 into 0.0

    methods = ("", *catalog.METHODS)
    home_method_codes = np.array([methods.index(m) for m in HOME_ROM_METHODS])
    field_method = np.array([methods.index(FIELD_CONTEXT.get(m.id, ("", ""))[0]) for m in ms])
    method = np.where(
        is_rom,
        np.where(in_clinic, methods.index("goniometer"), home_method_codes[rom_method][:, :, None]),
        field_method,
    )
    position = np.where(in_clinic, position_clinic, position_home[:, None, :]) + 1  # 0 = ''
    modes = ("", *catalog.MODES)
    field_mode = np.array([modes.index(FIELD_CONTEXT.get(m.id, ("", ""))[1]) for m in ms])
    mode = np.where(is_rom, np.where(in_clinic, modes.index("passive"), modes.index("active")), field_mode)
    raters = ("", *catalog.RATERS)
    rater = np.where(in_clinic, raters.index("therapist"), raters.index("self"))

    rows = np.flatnonzero(present.ravel())  # check-ins that happened, in patient then week order
    n = rows.size * S

    def flat(a: np.ndarray) -> np.ndarray:
        return np.broadcast_to(a, (P, W, S)).reshape(P * W, S)[rows].ravel()

    series = np.tile(np.arange(S), rows.size)
    readings = pd.DataFrame(
        {
            "patient_id": _strings(ids, np.repeat(rows // W, S)),
            "date": pd.Series(np.repeat(day_ns.ravel()[rows], S).view("datetime64[ns]")),
            "measure": _strings(measure_ids, s_measure[series]),
            "side": _strings(("", "left", "right"), s_side[series]),
            "value": flat(value),
            "method": _strings(methods, flat(method)),
            "position": _strings(("", *catalog.POSITIONS), flat(position)),
            "mode": _strings(modes, flat(mode)),
            "measured_by": _strings(raters, flat(rater)),
            "note": _strings(("",), np.zeros(n, dtype=np.intp)),
        }
    )

    exercise_log = _exercise_log(rng, ids, course, present, mondays, week_index)
    return Demo(patients=patients_frame, readings=readings, exercise_log=exercise_log)


def _baseline_range(m: catalog.Measure) -> tuple[float, float]:
    if m.id in BASELINE_RANGE:
        return BASELINE_RANGE[m.id]
    if m.group == "pain":
        return OTHER_PAIN_RANGE
    if m.direction > 0:  # a measure added to the catalog later: start at or below the typical range
        return m.typical_low + 0.5 * m.mdc, m.typical_low - 1.25 * m.mdc
    return m.typical_high - 0.5 * m.mdc, m.typical_high + 2.5 * m.mdc


def _plausible(m: catalog.Measure) -> tuple[float, float]:
    """Values a person with a stiff hip records: PLAUSIBLE_RANGE, else the valid range."""
    return PLAUSIBLE_RANGE.get(m.id, (m.valid_min, m.valid_max))


def _exercise_log(
    rng: np.random.Generator,
    ids: np.ndarray,
    course: np.ndarray,
    present: np.ndarray,
    mondays: np.ndarray,
    week_index: np.ndarray,
) -> pd.DataFrame:
    """3-5 catalog exercises per patient, logged for every week with a check-in."""
    P, W = present.shape
    exercises = list(catalog.EXERCISES.values())
    E = len(exercises)
    slots = min(5, E)
    chosen = np.argsort(rng.random((P, E)), axis=1)[:, :slots]  # (P, slots) exercise index
    count = rng.integers(min(3, slots), slots + 1, P)
    doses = [e.dose for e in exercises]
    uses_reps = np.array(["reps" in d or "steps" in d for d in doses])
    uses_seconds = np.array(["seconds" in d for d in doses])
    uses_minutes = np.array(["minutes" in d for d in doses])
    uses_band = np.array(["band" in d for d in doses])
    uses_load = np.array(["load" in d for d in doses])

    # Adherence per week: high and steady, dropping off after some week, or low and erratic.
    # Patients who improve tend to be the adherent ones.
    kind_weights = np.array([[0.7, 0.15, 0.15], [0.4, 0.3, 0.3], [0.2, 0.45, 0.35], [0.55, 0.3, 0.15]])
    cumulative = np.cumsum(kind_weights[course], axis=1)
    kind = (rng.random(P)[:, None] > cumulative).sum(axis=1)
    start = np.where(kind == 2, rng.uniform(0.35, 0.65, P), rng.uniform(0.8, 1.0, P))
    drop_from = rng.uniform(0.2, 0.6, P) * W
    decay = rng.uniform(0.05, 0.15, P)
    adherence = start[:, None] - np.where(
        kind[:, None] == 1, decay[:, None] * np.maximum(week_index[None, :] - drop_from[:, None], 0), 0.0
    )
    noise_sd = np.where(kind == 2, 0.15, 0.06)
    adherence = np.clip(adherence + rng.normal(0, 1, (P, W)) * noise_sd[:, None], 0.0, 1.0)
    planned = rng.integers(3, 6, (P, slots))  # sessions a week the patient aims for
    chance = np.clip(adherence[:, :, None] * planned[:, None, :] / 7.0, 0.0, 1.0)
    sessions = rng.binomial(7, chance)  # (P, W, slots), 0-7

    ex = chosen
    sets = np.where(uses_minutes[ex], -1, rng.integers(2, 4, (P, slots)))
    reps = np.where(uses_reps[ex], rng.integers(8, 16, (P, slots)), -1)
    seconds = np.where(
        uses_seconds[ex],
        np.array([30, 45, 60, 90])[rng.integers(0, 4, (P, slots))],
        np.where(uses_minutes[ex], 60 * rng.integers(2, 11, (P, slots)), -1),
    )
    # Progression: a heavier band or 2 kg more every few weeks of training.
    every = rng.integers(3, 7, (P, slots))
    steps_up = week_index[None, :, None] // every[:, None, :]  # (P, W, slots)
    band = np.where(
        uses_band[ex][:, None, :], 1 + np.minimum(rng.integers(0, 2, (P, slots))[:, None, :] + steps_up, 2), 0
    )
    start_load = np.array([0.0, 4.0, 6.0, 8.0, 10.0, 12.0])[rng.integers(0, 6, (P, slots))]
    load = np.where(uses_load[ex][:, None, :], start_load[:, None, :] + 2.0 * np.minimum(steps_up, 6), np.nan)

    keep = present[:, :, None] & (np.arange(slots)[None, None, :] < count[:, None, None])  # (P, W, slots)
    p_idx, w_idx, s_idx = np.nonzero(keep)
    e_idx = chosen[p_idx, s_idx]

    def dose(a: np.ndarray) -> pd.Series:
        values = a[p_idx, s_idx]
        return pd.Series(pd.array(np.where(values < 0, 0, values), dtype="Int64")).mask(values < 0)

    return pd.DataFrame(
        {
            "patient_id": _strings(ids, p_idx),
            "week": pd.Series(mondays[w_idx].astype("datetime64[ns]")),
            "exercise": _strings([e.id for e in exercises], e_idx),
            "sessions": sessions[p_idx, w_idx, s_idx].astype(np.int64),
            "sets": dose(sets),
            "reps": dose(reps),
            "seconds": dose(seconds),
            "band_level": _strings(("", *BAND_LEVELS), band[p_idx, w_idx, s_idx]),
            "load_kg": load[p_idx, w_idx, s_idx],
        }
    )


def write_csv(demo: Demo, path: str | os.PathLike) -> None:
    """Write the readings as a readings CSV (the import/export contract): ISO dates, shortest exact floats."""
    frame = demo.readings.loc[:, list(READING_COLUMNS)]
    codes, days = pd.factorize(frame["date"])  # few distinct days: format each once
    text = pd.DatetimeIndex(days).strftime("%Y-%m-%d")
    out = frame.assign(date=pd.Series(pd.array(list(text), dtype="str").take(codes), index=frame.index))
    out.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def load_demo(
    store: Store,
    actor: Actor,
    patients: int = 12,
    weeks: int = 16,
    seed: int = 7,
    end: date | None = None,
) -> ImportResult:
    """Put a demo into the store in one transaction: patients with names, readings, exercise logs, programmes.

    Interrupted at any moment, it leaves nothing; loading the same demo again adds only what is missing
    (readings already stored are skipped; a patient's log and programme are written when they have none).
    """
    demo = generate(patients=patients, weeks=weeks, seed=seed, end=end)
    clean = demo.readings.astype({c: object for c in READING_COLUMNS if c not in ("date", "value")})
    for column in ("method", "position", "mode", "measured_by", "note"):
        clean[column] = clean[column].where(clean[column] != "", None)
    log = demo.exercise_log.astype({"patient_id": object, "exercise": object, "band_level": object})
    log = log.assign(band_level=log["band_level"].where(log["band_level"] != "", None))
    # The programme they were prescribed: the exercises they log, 4 sessions a week each.
    programme = log.drop_duplicates(["patient_id", "exercise"])[["patient_id", "exercise"]]
    programme = programme.assign(
        sessions_per_week=PRESCRIBED_SESSIONS,
        dose=programme["exercise"].map(lambda e: catalog.EXERCISES[e].dose).astype(object),
    )
    return store.add_demo(
        actor,
        demo.patients.astype({"patient_id": object, "display_name": object}),
        clean,
        {"exercise_log": log, "programme": programme},
    )
