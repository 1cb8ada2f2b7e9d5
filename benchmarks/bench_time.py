"""Time: every kernel's solve across sizes, the machine's read floor, XᵀX by BLAS, and each backend's data
preparation.

The timed call is `kernel.solve` alone: the conversion or host-to-device transfer (`kernel.prepare`) and any
JIT compilation happen in setup, and are timed by `Prepare` and `bench_compile` instead.
"""
from __future__ import annotations

from benchmarks.floors import read_once

from .common import (PROFILE, Estimates, check_budget, check_size, data, get, has_own_prepare, kernel_names,
                     options, warm_up)

SLOW_FIT_S = 0.5
_SIZES = list(PROFILE.sizes)
_FEATURES = sorted(set(PROFILE.features) | set(PROFILE.wide))
_prepared: dict = {}  # one prepared input per process: asv re-runs setup before every sample


def _prepared_for(kernel, n: int, d: int, opts):
    """kernel.prepare(X, y) for this size, made once per process (a transfer or list conversion is slow)."""
    key = (kernel.name, n, d)
    if key not in _prepared:
        _prepared.clear()  # free the previous size's copy first
        X, y = data(n, d)
        warm_up(kernel, X, y)
        _prepared[key] = kernel.prepare(X, y, opts)
        if kernel.sync:
            kernel.sync()
    return _prepared[key]


class Fit(Estimates):
    """One fit (intercept included) of every registered kernel; gradient descent at a fixed number of epochs."""

    param_names = ["kernel", "n", "d"]
    params = [kernel_names(), _SIZES, _FEATURES]
    rounds = PROFILE.rounds
    repeat = PROFILE.repeat
    timeout = 600

    def setup(self, calibrations, name, n, d):
        kernel = get(name)
        check_size(kernel, n, d)
        if check_budget(kernel, n, d, calibrations) > SLOW_FIT_S:
            # setup's warm-up call already compiled it; for a slow fit one sample is enough, and asv's extra
            # warm-up and second sample would each cost as much again
            self.warmup_time = 0.0
            self.min_run_count = 1
        self.kernel, self.opts = kernel, options(kernel)
        self.data = _prepared_for(kernel, n, d, self.opts)

    def time_fit(self, calibrations, name, n, d):
        self.kernel.solve(self.data, True, self.opts)
        if self.kernel.sync:  # a GPU kernel returns before its work is done: wait for it before the clock
            self.kernel.sync()


class _BySize:
    """A yardstick timed at every (n, d) of the profile, with the fits' rounds and samples."""

    param_names = ["n", "d"]
    params = [_SIZES, _FEATURES]
    rounds = PROFILE.rounds
    repeat = PROFILE.repeat
    timeout = 300


class ReadFloor(_BySize):
    """The machine's floor: one parallel read of X and y (kernels.floor.read_once); no fit can beat it."""

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


class Prepare(Estimates):
    """kernel.prepare alone: the list conversion of pure Python, the tensor wrap of torch, the host-to-device
    transfer of CUDA backends (synchronised). Kernels whose prepare is a no-op view are not listed."""

    param_names = ["kernel", "n", "d"]
    params = [_prepare_backends(), _SIZES, _FEATURES]
    rounds = PROFILE.rounds
    repeat = PROFILE.repeat
    timeout = 300

    def setup(self, calibrations, name, n, d):
        kernel = get(name)
        check_size(kernel, n, d)
        check_budget(kernel, n, d, calibrations)  # no conversion for a fit that is not run
        self.kernel, self.opts = kernel, options(kernel)
        self.X, self.y = data(n, d)
        warm_up(kernel, self.X, self.y)

    def time_prepare(self, calibrations, name, n, d):
        self.kernel.prepare(self.X, self.y, self.opts)
        if self.kernel.sync:
            self.kernel.sync()
