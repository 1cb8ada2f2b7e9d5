"""The kernel contract: what goes in (Options), what comes out (FitResult), what a kernel is (Kernel)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

ALGORITHMS = ("ols", "gd", "sgd", "minibatch")
ITERATIVE = ("gd", "sgd", "minibatch")
DTYPES = ("float64", "float32")
SCHEDULES = ("constant", "invscaling")


@dataclass(frozen=True)
class Options:
    """Options shared by every backend, with one meaning and one default everywhere.

    learning_rate: step size; the loss is the mean squared error, so the gradient is 2/n Xᵀ(Xw + b - y).
    epochs: passes over the data (gd: one update each; sgd: n updates; minibatch: ceil(n/batch_size)).
    tol: stop after an epoch whose loss changed by less than tol (0 = always run every epoch).
    seed: seeds the row order of sgd and minibatch (numpy.random.default_rng(seed).permutation per epoch).
    batch_size: rows per update for minibatch.
    dtype: "float64" (default) or "float32" where the backend supports it.
    init: starting point, an array of length d (+1 first for the intercept when fit_intercept); zeros if None.
    schedule: sgd only: "constant" or scikit-learn's "invscaling" (eta_t = learning_rate / t**power_t).
    power_t: exponent of the invscaling schedule.
    scheduler: dask kernels only: a Dask scheduler address ("tcp://host:8786") or a distributed.Client;
        None: $LRBENCH_SCHEDULER, else the local cluster (kernels/cluster.py).
    """

    learning_rate: float = 0.01
    epochs: int = 1000
    tol: float = 0.0
    seed: int = 0
    batch_size: int = 32
    dtype: str = "float64"
    init: Any = None
    schedule: str = "constant"
    power_t: float = 0.25
    scheduler: Any = None

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)


OLS_OPTIONS = ("dtype",)
ITERATIVE_OPTIONS = ("learning_rate", "epochs", "tol", "seed", "dtype", "init")
OPTIONS_BY_ALGORITHM = {
    "ols": OLS_OPTIONS,
    "gd": tuple(o for o in ITERATIVE_OPTIONS if o != "seed"),  # full batch: no row order to seed
    "sgd": ITERATIVE_OPTIONS + ("schedule", "power_t"),
    "minibatch": ITERATIVE_OPTIONS + ("batch_size",),
}


@dataclass
class FitResult:
    """What every kernel returns: the fitted line plus what the iterative kernels learned on the way."""

    intercept: float
    coef: np.ndarray  # (d,)
    kernel: str = ""
    loss_history: np.ndarray | None = None  # (n_iter + 1,): loss_history[k] = MSE after k epochs
    n_iter: int | None = None  # epochs run
    converged: bool | None = None  # iterative kernels: stopped by tol before the epoch budget
    cond: float | None = None  # OLS kernels: estimated condition number of the (scaled) design
    digits: float | None = None  # OLS kernels: correct digits the kernel vouches for (a conservative
    #   component-wise forward-error bound, see kernels/numerics/error_bounds.py); fit() warns below WARN_DIGITS
    digits_as_given: float | None = None  # the same bound when the input values are exact as given (not
    #   roundings of other data): what fit() reports instead when it finds no rounded value in the input
    timings: dict[str, float] = field(default_factory=dict)  # seconds: "prepare" (conversion/transfer), "solve"
    refined: bool | None = None  # OLS kernels that can refine (numba): whether this fit took the second pass

    @property
    def params(self) -> np.ndarray:
        """(intercept, coef...) as one float64 vector."""
        return np.concatenate([[self.intercept], self.coef])

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        return X @ self.coef + self.intercept


# solve(data, fit_intercept, options) -> FitResult ; prepare(X, y, options) -> data
SolveFn = Callable[[Any, bool, Options], FitResult]
PrepareFn = Callable[[np.ndarray, np.ndarray, Options], Any]


def prepare_numpy(X: np.ndarray, y: np.ndarray, options: Options) -> tuple[np.ndarray, np.ndarray]:
    """Default prepare step: C-contiguous arrays in the requested dtype (no copy when already so)."""
    dt = options.np_dtype
    return np.ascontiguousarray(X, dtype=dt), np.ascontiguousarray(y, dtype=dt)


@dataclass(frozen=True)
class Kernel:
    """One registered implementation: an algorithm written for one backend."""

    name: str
    algorithm: str
    backend: str
    solve: SolveFn
    prepare: PrepareFn = prepare_numpy
    device: str = "cpu"
    reference: bool = False
    dtypes: tuple[str, ...] = ("float64",)
    description: str = ""
    sync: Callable[[], None] | None = None  # blocks until queued device work is done (CUDA)
    lazy: bool = False  # takes Dask arrays as they are: fit checks shapes only, the kernel checks values in its pass
    extra_options: tuple[str, ...] = ()  # options this backend takes beyond its algorithm's (dask: scheduler)
    # finds non-finite values, constant, all-zero and repeated columns from its own sums (float64 input), with
    # the errors fit's scan gives: fit skips that separate pass (validation.check_moments)
    checks_values: bool = False
    # (X, y) -> centred XᵀX (d, d) in one compiled pass, for fit's rank check (gradient descent): the backend's
    # co-moments instead of the check's own two or three passes
    gram: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def run(self, X: np.ndarray, y: np.ndarray, fit_intercept: bool, options: Options) -> FitResult:
        """prepare + solve without validation: for benchmarks that already validated their data."""
        return self.solve(self.prepare(X, y, options), fit_intercept, options)
