"""Time: every kernel's solve across sizes, the machine's read floor, XᵀX by BLAS, and each backend's data
preparation.

The timed call is `kernel.solve` alone: the conversion or host-to-device transfer (`kernel.prepare`) and any
JIT compilation happen in setup, and are timed by `Prepare` and `bench_compile` instead.
"""
from __future__ import annotations

from .base import KernelBenchmark
from .common import PROFILE, check_size, data, has_own_prepare, kernel_names
from .floors import read_once

SLOW_FIT_S = 0.5
_SIZES = list(PROFILE.sizes)
_FEATURES = sorted(set(PROFILE.features) | set(PROFILE.wide))


class Fit(KernelBenchmark):
    """One fit (intercept included) of every registered kernel; gradient descent at a fixed number of epochs."""

    params = [kernel_names(), _SIZES, _FEATURES]
    prepared = True

    def setup(self, calibrations, name, n, d):
        super().setup(calibrations, name, n, d)
        if self.estimate > SLOW_FIT_S:
            # setup's warm-up call already compiled it; for a slow fit one sample is enough, and asv's extra
            # warm-up and second sample would each cost as much again
            self.warmup_time = 0.0
            self.min_run_count = 1

    def time_fit(self, calibrations, name, n, d):
        self.solve()


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
    yardstick of OLS for d > 1, whose O(n d²) products cost more than one read (issue 4, target 2: the best
    OLS kernel within 2x of it at n = 1e6, d = 100). The report divides OLS times by it; the machine section
    records which BLAS ran (threadpoolctl)."""

    def setup(self, n, d):
        if d == 1:
            raise NotImplementedError("d = 1: XᵀX is one dot product; the read floor is the yardstick there")
        check_size(None, n, d)
        self.X = data(n, d)[0]

    def time_xtx(self, n, d):
        self.X.T @ self.X


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
