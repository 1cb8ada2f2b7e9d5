"""The base of the kernel benchmarks: a class declares its parameters and data, this supplies the setup (get the
kernel, skip what the profile does not run, load the seeded data, warm up) and the timed bodies."""
from __future__ import annotations

from kernels import Kernel

from .common import PROFILE, Estimates, check_budget, check_size, data, get, options, warm_up

_prepared: dict = {}  # one prepared input per process: asv re-runs setup before every sample


def prepared_input(kernel: Kernel, n: int, d: int, opts):
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


class KernelBenchmark(Estimates):
    """One kernel on seeded (X, y) of n rows and d features; params (kernel, n, d), or (kernel, n) with d fixed.

    Subclasses declare `params` (and `features` when d is not a parameter) and `prepared = True` when the timed
    call takes the kernel's prepared input rather than X and y.
    """

    param_names = ["kernel", "n", "d"]
    rounds = PROFILE.rounds
    repeat = PROFILE.repeat
    timeout = 600
    features: int | None = None  # d when it is not a parameter
    prepared = False

    def setup(self, calibrations, name, n, d=None):
        self.skip_unless_supported()
        kernel = get(name)
        d = self.features if d is None else d
        check_size(kernel, n, d)
        self.estimate = check_budget(kernel, n, d, calibrations)  # no data made for a fit that is not run
        self.kernel, self.opts, self.n, self.d = kernel, options(kernel), n, d
        if self.prepared:
            self.data = prepared_input(kernel, n, d, self.opts)
        else:
            self.X, self.y = data(n, d)
            warm_up(kernel, self.X, self.y)

    def skip_unless_supported(self) -> None:
        """Raise NotImplementedError (asv: skipped) where this measure cannot be taken here."""

    # -- the timed bodies: a device kernel returns before its work is done, so each waits before the clock
    def solve(self) -> None:
        self.kernel.solve(self.data, True, self.opts)
        self._sync()

    def prepare(self) -> None:
        self.kernel.prepare(self.X, self.y, self.opts)
        self._sync()

    def fit(self) -> None:
        self.kernel.solve(self.kernel.prepare(self.X, self.y, self.opts), True, self.opts)
        self._sync()

    def _sync(self) -> None:
        if self.kernel.sync:
            self.kernel.sync()
