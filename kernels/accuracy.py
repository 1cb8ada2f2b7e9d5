"""Accuracy measures: the log relative error (LRE) against certified values."""
from __future__ import annotations

import math

import numpy as np

MAX_LRE = 15.0  # NIST's convention: agreement beyond ~15 digits is not resolvable in float64


def lre(estimate, certified) -> float:
    """Worst-coefficient log relative error: digits of `estimate` agreeing with `certified`, in [0, 15].

    LRE = -log10(|e - c| / |c|), or -log10(|e - c|) where c == 0; clipped to [0, MAX_LRE].
    """
    e = np.asarray(estimate, dtype=np.float64).ravel()
    c = np.asarray(certified, dtype=np.float64).ravel()
    if e.shape != c.shape:
        raise ValueError(f"estimate has {e.size} values, certified has {c.size}")
    worst = MAX_LRE
    for ei, ci in zip(e, c):
        if not math.isfinite(ei):
            return 0.0
        err = abs(ei - ci) / (abs(ci) if ci != 0 else 1.0)
        worst = min(worst, MAX_LRE if err == 0 else -math.log10(err))
    return max(0.0, min(MAX_LRE, worst))
