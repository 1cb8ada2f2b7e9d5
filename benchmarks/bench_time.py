"""Time: every kernel's solve across sizes, what a user's `fit` call costs around it, the machine's read floor,
XᵀX by BLAS, the machine's matrix-multiply rate (the compute floor), and each backend's data preparation.

Fit times `kernel.solve` alone: the conversion or host-to-device transfer (`kernel.prepare`) and any JIT
compilation happen in setup, and are timed by `Prepare` and `bench_compile` instead. Call times the whole
`kernels.fit(X, y, kernel=...)` a user makes: input checks, prepare, solve and the accuracy bound.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

import kernels

from .base import KernelBenchmark
from .common import PROFILE, call_options, check_size, data, has_own_prepare, kernel_names
from .floors import read_once

SLOW_FIT_S = 0.5
_SIZES = list(PROFILE.sizes)
_FEATURES = sorted(set(PROFILE.features) | set(PROFILE.wide))


class _KernelTimed(KernelBenchmark):
    """Every registered kernel at every (n, d); gradient descent at a fixed number of epochs."""

    params = [kernel_names(), _SIZES, _FEATURES]

    def setup(self, calibrations, name, n, d):
        super().setup(calibrations, name, n, d)
        if self.estimate > SLOW_FIT_S:
            # setup's warm-up call already compiled it; for a slow fit one sample is enough, and asv's extra
            # warm-up and second sample would each cost as much again
            self.warmup_time = 0.0
            self.min_run_count = 1


class Fit(_KernelTimed):
    """One fit (intercept included) of every registered kernel on validated, prepared data: the kernel alone."""

    prepared = True

    def time_fit(self, calibrations, name, n, d):
        self.solve()


class Call(_KernelTimed):
    """What a user's `kernels.fit(X, y, kernel=name, ...)` costs: the same fit as Fit, with the input checks, the
    option handling, prepare and the accuracy bound around it. Call / Fit is the price of the call."""

    def setup(self, calibrations, name, n, d):
        super().setup(calibrations, name, n, d)
        self.options = call_options(self.kernel, self.opts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # AccuracyWarning on float64 data is not what is timed here
            m = min(n, 100_000)  # enough values for fit's compiled input checks to compile (or load) here
            kernels.fit(self.X[:m], self.y[:m], kernel=name, **self.options)

    def time_call(self, calibrations, name, n, d):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kernels.fit(self.X, self.y, kernel=self.kernel.name, **self.options)


class _BySize:
    """A yardstick timed at every (n, d) of the profile, with the fits' rounds and samples."""

    param_names = ["n", "d"]
    params = [_SIZES, _FEATURES]
    rounds = PROFILE.rounds
    repeat = PROFILE.repeat
    timeout = 300


class ReadFloor(_BySize):
    """The machine's floor: one parallel read of X and y (benchmarks/floors.py); no fit can beat it."""

    def setup(self, n, d):
        check_size(None, n, d)
        self.X, self.y = data(n, d)
        read_once(self.X[:16], self.y[:16])  # compile (or load from numba's cache) outside the clock

    def time_read_once(self, n, d):
        read_once(self.X, self.y)


class BlasGram(_BySize):
    """XᵀX by BLAS (NumPy's X.T @ X, which calls syrk) on the same data and threads as the kernels: the
    yardstick of OLS for d > 1, whose O(n d²) products cost more than one read. The report divides OLS
    times by it; the machine section records which BLAS ran (threadpoolctl)."""

    def setup(self, n, d):
        if d == 1:
            raise NotImplementedError("d = 1: XᵀX is one dot product; the read floor is the yardstick there")
        check_size(None, n, d)
        self.X = data(n, d)[0]

    def time_xtx(self, n, d):
        self.X.T @ self.X


class ComputeFloor:
    """The machine's matrix-multiply rate in GFLOP/s: the best of five N x N float64 products by BLAS, on the
    kernels' threads. Forming the co-moments of n rows and d features costs about n·d(d+1) flops, so
    n·d(d+1) / rate is the compute floor of OLS at that size; the report divides the OLS times by it."""

    params = [[2_000]]
    param_names = ["N"]
    unit = "GFLOP/s"
    rounds = PROFILE.rounds
    timeout = 300

    def setup(self, N):
        rng = np.random.default_rng(0)
        self.A, self.B = rng.standard_normal((N, N)), rng.standard_normal((N, N))
        self.A @ self.B  # BLAS's threads started outside the measure

    def track_matmul_gflops(self, N):
        best = min(_seconds(lambda: self.A @ self.B) for _ in range(5))
        return 2.0 * N ** 3 / best / 1e9


def _seconds(call) -> float:
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


def _prepare_backends() -> list[str]:
    """One kernel per backend whose prepare converts or moves the data (lists, tensors, a device)."""
    names = kernel_names(predicate=has_own_prepare)
    by_backend: dict[str, str] = {}
    for name in names:  # prefer the OLS kernel: the cheapest fit, so the budget check skips least
        backend = name.partition("/")[2]
        if backend not in by_backend or name.startswith("ols/"):
            by_backend[backend] = name
    return sorted(by_backend.values()) or ["(none selected)"]


class Prepare(KernelBenchmark):
    """kernel.prepare alone: the list conversion of pure Python, the tensor wrap of torch, the host-to-device
    transfer of CUDA backends (synchronised). Kernels whose prepare is a no-op view are not listed."""

    params = [_prepare_backends(), _SIZES, _FEATURES]
    timeout = 300

    def time_prepare(self, calibrations, name, n, d):
        self.prepare()
