"""The benchmark's data: the demo generator's readings, and a second shape that is harder on every step.

The second shape has a repeated trial in about a fifth of the weeks (so weekly medians of 2-3 readings),
notes with commas, quotes, line breaks and non-ASCII text on one reading in ten, and rows in random order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hipdata import catalog, demo

NOTES = (
    "stiff after a long drive, better by evening",
    'felt a "pinch" at the end of the stretch',
    "slept badly\nback ok after warm-up",
    "Knie leicht gereizt — Treppe, danach gut",
    "did it twice, kept the second, first was cold",
)


def demo_readings(patients: int, weeks: int, seed: int) -> pd.DataFrame:
    return demo.generate(patients, weeks, seed).readings


def mixed_readings(patients: int, weeks: int, seed: int) -> pd.DataFrame:
    base = demo_readings(patients, weeks, seed)
    rng = np.random.default_rng(seed + 1)
    frame = catalog.measures_frame().set_index("measure")
    extra = base.sample(frac=0.2, random_state=seed).copy()
    measure = extra["measure"].astype(str)
    step = np.where(frame.loc[measure, "group"].to_numpy() == "field", 0.5, 1.0)
    jitter = rng.integers(-3, 4, len(extra)) * step
    low, high = frame.loc[measure, "valid_min"].to_numpy(), frame.loc[measure, "valid_max"].to_numpy()
    extra["value"] = np.clip(extra["value"].to_numpy() + jitter, low, high)
    out = pd.concat([base, extra], ignore_index=True)
    noted = rng.random(len(out)) < 0.1
    notes = pd.Series(np.array(NOTES, dtype=object)[rng.integers(0, len(NOTES), len(out))])
    out["note"] = notes.where(noted, out["note"].astype(object))
    return out.sample(frac=1.0, random_state=seed + 2, ignore_index=True)


SHAPES = {"demo": demo_readings, "mixed": mixed_readings}


def write(shape: str, patients: int, weeks: int, seed: int, path: str) -> None:
    demo.write_csv(demo.Demo(pd.DataFrame(), SHAPES[shape](patients, weeks, seed), pd.DataFrame()), path)
