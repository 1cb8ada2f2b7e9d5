"""Iterative refinement carried to convergence: each correction solves with residuals (and Aᵀr) formed in
double-double, and the loop stops when one more step could not change the rounded answer, or when the
corrections stop shrinking. The last correction then bounds the error left (a-posteriori)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np

from .error_bounds import U64

MAX_STEPS = 10


@dataclass
class Refinement:
    """theta: the refined iterate (exact Fractions); steps: corrections applied; contraction: max(the a-priori
    bound, the largest observed ratio of successive correction norms); converged: the corrections shrank until
    the next could not move the rounded answer; error: then a bound on ‖scale∘(theta - theta*)‖, else None."""

    theta: list
    steps: int
    contraction: float
    converged: bool
    error: float | None


def refine(theta: list, step: Callable[[list], np.ndarray], contraction: float, scale: np.ndarray,
           max_steps: int = MAX_STEPS) -> Refinement:
    """Apply corrections theta += step(theta) until converged; `contraction`: the a-priori bound of the step's
    error contraction (a correction is measured as ‖scale∘δ‖, scale the column norms of the design).

    A correction larger than the one before is not applied (the iteration diverges there); one that shrank by
    less than half ends the loop unconverged. Converged: ‖error‖ <= c/(1 - c)·‖scale∘δ_last‖ + the rounding
    of theta to float64, c the a-priori bound where it is below 1/2, else (where the bound proves nothing,
    e.g. cond² times the solver's error above 1) the largest ratio observed over at least two ratios."""
    prev, worst, steps = math.inf, 0.0, 0
    for k in range(max_steps):
        delta = np.asarray(step(theta), dtype=np.float64)
        if not np.all(np.isfinite(delta)):
            break
        nu = float(np.linalg.norm(scale * delta))
        if k and nu >= prev:
            break  # diverging: keep the iterate before this correction
        ratio = nu / prev if k else 0.0
        worst = max(worst, ratio)
        theta = [t + Fraction(float(d)) for t, d in zip(theta, delta.tolist())]
        steps += 1
        if ratio > 0.5:
            break
        # The a-priori bound where it proves contraction; else, after two observed ratios, the worst of them
        # (corrections that keep shrinking geometrically: the gradient, exact to u², goes to zero).
        c = max(contraction, worst) if contraction < 0.5 else (worst if k >= 2 else math.inf)
        th = np.array([float(t) for t in theta])
        if nu == 0.0 or (c < 0.5 and np.all(c * np.abs(delta) <= U64 / 8 * np.abs(th))):
            return Refinement(theta, steps, c, True, c / (1.0 - c) * nu)
        prev = nu
    return Refinement(theta, steps, max(contraction, worst), False, None)
