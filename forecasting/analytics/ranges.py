"""STAND-IN for the `learned` helper's ranges (deleted when wip-learned is merged)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Range:
    p10: float
    p50: float
    p90: float


@dataclass
class Ranges:
    periods: list[Range]
    total: Range


def simulate(
    *,
    amounts: np.ndarray,
    probabilities: np.ndarray,
    shares: np.ndarray,
    draws: int = 2000,
    seed: int = 0,
) -> Ranges:
    rng = np.random.default_rng(seed)
    n, k = shares.shape
    won = rng.random((draws, n)) < probabilities
    cum = np.cumsum(shares, axis=1)
    pick = (rng.random((draws, n, 1)) < cum[None]).argmax(axis=2)
    landed = (rng.random((draws, n, 1)) < cum[None]).any(axis=2)
    sums = np.zeros((draws, k))
    for j in range(k):
        sums[:, j] = ((won & landed & (pick == j)) * amounts).sum(axis=1)

    def q(a: np.ndarray) -> Range:
        p = np.percentile(a, [10, 50, 90])
        return Range(float(p[0]), float(p[1]), float(p[2]))

    return Ranges([q(sums[:, j]) for j in range(k)], q(sums.sum(axis=1)))
