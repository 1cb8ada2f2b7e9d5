"""The performance targets, each a ratio of two times measured side by side in one process: interleaved rounds
(each round times every entry once, in a fresh random order, so load from elsewhere hits all alike), the
median over rounds. One asv `track` per target; its label says what is divided by what, at which size, and
the target, "(target <= 1.1)" or "(target >= 2)", which the report reads back and marks met or missed.

"fit" is what a user calls (kernels.fit: input checks, prepare, solve, the accuracy bound); "kernel" is the
kernel alone on validated, prepared data (what Fit times); the read floor is one read of X and y
(benchmarks/floors.py); the compute floor n·d(d+1) flops at the machine's matrix-multiply rate, timed in the
same rounds (a 2000 x 2000 product by BLAS, on the kernels' threads); gradient descent per epoch.
"""
from __future__ import annotations

import statistics
import time
import warnings

import numpy as np

import kernels
from kernels import REGISTRY

from .common import PROFILE, check_size, data, options
from .floors import read_once

ROUNDS = 7
MATMUL_N = 2_000
GD_EPOCHS = 10


def _fit(name: str, X, y, **kw):
    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", kernels.AccuracyWarning)
            kernels.fit(X, y, kernel=name, **kw)
    return call


def _kernel(name: str, X, y, epochs: int | None = None):
    k = REGISTRY[name]
    opts = options(k, epochs=epochs) if epochs else options(k)
    data_ = k.prepare(X, y, opts)
    return lambda: k.solve(data_, True, opts)


def _gd_kw(name: str) -> dict:
    o = options(REGISTRY[name], epochs=GD_EPOCHS)
    return {"learning_rate": o.learning_rate, "epochs": o.epochs, "tol": o.tol}


def _read_floor(n, d):
    X, y = data(n, d)
    return (lambda: read_once(X, y)), 1.0


def _blas_gram(n, d):
    X = data(n, d)[0]
    return (lambda: X.T @ X), 1.0


def _compute_floor(n, d):
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((MATMUL_N, MATMUL_N)), rng.standard_normal((MATMUL_N, MATMUL_N))
    return (lambda: A @ B), n * d * (d + 1) / (2.0 * MATMUL_N ** 3)  # the floor = the product's time x this


# label -> (kernels needed, n, d, numerator(n, d) -> (call, per), denominator(n, d) -> (call, scale))
def _targets() -> dict:
    def fit_of(name, per=1, **kw):
        return lambda n, d: (_fit(name, *data(n, d), **kw), per)

    def kernel_of(name, per=1, epochs=None):
        return lambda n, d: (_kernel(name, *data(n, d), epochs=epochs), per)

    gd = "gd/numba-parallel"
    return {
        "fit ols/numba-parallel / read floor, n = 1e7, d = 1 (target <= 1.1)":
            (("ols/numba-parallel",), 10_000_000, 1, fit_of("ols/numba-parallel"), _read_floor),
        "fit ols/numba-parallel / kernel, n = 1e7, d = 1 (target <= 1.1)":
            (("ols/numba-parallel",), 10_000_000, 1, fit_of("ols/numba-parallel"),
             lambda n, d: (_kernel("ols/numba-parallel", *data(n, d)), 1.0)),
        "gd/numba-parallel kernel per epoch / read floor, n = 1e7, d = 1 (target <= 1.1)":
            ((gd,), 10_000_000, 1, kernel_of(gd, GD_EPOCHS, GD_EPOCHS), _read_floor),
        "fit gd/numba-parallel / kernel, n = 1e7, d = 1 (target <= 1.1)":
            ((gd,), 10_000_000, 1, fit_of(gd, **_gd_kw(gd)),
             lambda n, d: (_kernel(gd, *data(n, d), epochs=GD_EPOCHS), 1.0)),
        "fit ols/numba-parallel / BLAS XᵀX, n = 1e6, d = 10 (target <= 0.8)":
            (("ols/numba-parallel",), 1_000_000, 10, fit_of("ols/numba-parallel"), _blas_gram),
        "fit ols/numba-parallel / compute floor, n = 1e6, d = 100 (target <= 2)":
            (("ols/numba-parallel",), 1_000_000, 100, fit_of("ols/numba-parallel"), _compute_floor),
        "ols/sklearnex / fit ols/numba-parallel, n = 1e6, d = 100 (target >= 2)":
            (("ols/numba-parallel", "ols/sklearnex"), 1_000_000, 100, kernel_of("ols/sklearnex"),
             lambda n, d: (_fit("ols/numba-parallel", *data(n, d)), 1.0)),
    }


TARGETS = _targets()


def side_by_side(a, b, rounds: int = ROUNDS) -> float:
    """median(a) / median(b) over `rounds` interleaved rounds, after one untimed call of each."""
    calls = [a, b]
    times: list[list[float]] = [[], []]
    for c in calls:
        c()
    order = np.random.default_rng(0)
    for _ in range(rounds):
        for i in order.permutation(2):
            t0 = time.perf_counter()
            calls[i]()
            times[i].append(time.perf_counter() - t0)
    return statistics.median(times[0]) / statistics.median(times[1])


class Targets:
    """Each performance target as a ratio measured side by side (see the module's docstring)."""

    params = [list(TARGETS)]
    param_names = ["target"]
    unit = "ratio"
    rounds = 1
    number = 1
    timeout = 600

    def setup(self, target):
        if PROFILE.name not in ("quick", "full"):
            raise NotImplementedError(f"the targets' sizes are not run in profile {PROFILE.name}")
        needs, n, d, num, den = TARGETS[target]
        missing = [k for k in needs if k not in REGISTRY]
        if missing:
            raise NotImplementedError(f"{', '.join(missing)}: not registered here")
        check_size(None, n, d)
        (self.a, self.per), (self.b, self.scale) = num(n, d), den(n, d)

    def track_ratio(self, target):
        return side_by_side(self.a, self.b) / self.per / self.scale
