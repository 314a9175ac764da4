"""The compiled core and its pure-Python source give identical events, deals and
refusals for random command sequences: plain flow, time in force (IOC, FOK, AON, good
till date with expiries), quality-first routing, quotes, cancels, replaces and refused
input. Each side runs in its own process (the two cannot share one)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from marketplace.compiled import COMPILED, built

ROOT = Path(__file__).resolve().parents[2]
SEQUENCES = 120


def command(rng: random.Random, placed: int) -> list[Any]:
    roll = rng.random()
    if roll < 0.4:
        tif = rng.choice([0, 0, 0, 1, 5, 2])
        until = rng.choice([50, 500]) if tif == 2 or (tif == 0 and rng.random() < 0.2) else 0
        return ["offer", rng.choice(["s1", "s2", "s3"]), rng.randint(90, 110), rng.randint(0, 6),
                rng.choice([0, 0, 1, 2, 3, 4]), tif, until]  # fmt: skip
    if roll < 0.8:
        tif = rng.choice([0, 0, 1, 3, 4, 5, 2, 9])
        until = rng.choice([50, 500]) if tif == 2 else 0
        return ["request", rng.choice(["b1", "b2", "s1"]), rng.randint(85, 115), rng.randint(1, 8),
                rng.choice(["platinum", "gold", "gold", "silver", "bronze", "nope"]), tif,
                rng.choice([0, 0, 1, 2]), until, rng.random() < 0.1]  # fmt: skip
    if roll < 0.88:
        return ["cancel", rng.choice(["s1", "b1", "b2"]), rng.randrange(placed + 1)]
    if roll < 0.96:
        return ["replace", rng.choice(["s1", "s2", "b1"]), rng.randrange(placed + 1),
                rng.choice([None, rng.randint(90, 110)]), rng.choice([None, rng.randint(0, 6)])]  # fmt: skip
    return ["tick", rng.choice([10, 100, 1000])]


def sequences(seed: int) -> list[list[list[Any]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(SEQUENCES):
        seq: list[list[Any]] = []
        for _ in range(rng.randint(1, 80)):
            seq.append(command(rng, len(seq)))
        out.append(seq)
    return out


def trace(data: str, pure: bool) -> dict[str, Any]:
    env = {**os.environ, "IXCHANGE_PURE_PYTHON": "1" if pure else "0"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.unit.engine_trace"],
        input=data, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler: ixchange runs as pure Python here")
@pytest.mark.parametrize("seed", [1, 2])
def test_compiled_and_pure_python_engines_agree(seed: int) -> None:
    missing = [m for m in COMPILED if built(m) is None]
    assert not missing, f"a compiler is here but these were not built (make build): {missing}"
    data = json.dumps(sequences(seed))
    compiled, pure = trace(data, pure=False), trace(data, pure=True)
    assert all(compiled["compiled"].values()), compiled["compiled"]
    assert not any(pure["compiled"].values()), pure["compiled"]
    deals = sum(len(step[2]) for t in compiled["traces"] for step in t if step[0] == "outcome")
    refused = sum(1 for t in compiled["traces"] for step in t if step[0] == "refused")
    assert deals > 100 and refused > 20  # the sequences do trade, and do get refused
    for number, (a, b) in enumerate(zip(compiled["traces"], pure["traces"], strict=True)):
        assert a == b, f"sequence {number} differs"
