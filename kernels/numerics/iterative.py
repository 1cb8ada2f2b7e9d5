"""What every gradient-descent backend shares: the starting point, the row order, the loss bookkeeping."""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from ..contract import FitResult, Options
from ..errors import DivergenceError, InputError


def initial_params(options: Options, d: int, fit_intercept: bool) -> tuple[float, np.ndarray]:
    """(intercept, coef) to start from: options.init split, or zeros."""
    if options.init is None:
        return 0.0, np.zeros(d)
    init = np.asarray(options.init, dtype=np.float64)
    return (float(init[0]), init[1:].copy()) if fit_intercept else (0.0, init.copy())


def epoch_orders(seed: int, n: int) -> Iterator[np.ndarray]:
    """Row order of each epoch: a fresh permutation from one seeded generator, the same in every backend."""
    rng = np.random.default_rng(seed)
    while True:
        yield rng.permutation(n)


def step_size(options: Options, t: int) -> float:
    """Learning rate of update number t (1-based): constant, or learning_rate / t**power_t."""
    if options.schedule == "invscaling":
        return options.learning_rate / t ** options.power_t
    return options.learning_rate


class LossTracker:
    """Records the loss after each epoch; stops on the epoch budget or tol; raises on divergence.

    Backends call `record(loss)` with the MSE of the current iterate, before the next epoch's updates;
    it returns True when the loop must stop. loss_history[k] is then the MSE after k epochs.
    """

    def __init__(self, options: Options, kernel: str):
        self.options, self.kernel = options, kernel
        self.history: list[float] = []
        self.converged = False

    def record(self, loss: float) -> bool:
        loss = float(loss)
        epoch = len(self.history)
        if not math.isfinite(loss) and not self.history:
            # non-finite before any update: the data, not the learning rate (values whose squares overflow)
            raise InputError(
                f"{self.kernel}: the loss at the start point is {loss}: the values of X and y"
                f"{' (or init)' if self.options.init is not None else ''} are too large to square in "
                f"{self.options.dtype}; rescale X and y (e.g. divide each column by its largest value)"
            )
        if not math.isfinite(loss):
            raise DivergenceError(
                f"{self.kernel}: gradient descent diverged: the loss is {loss} after {epoch} epoch(s) "
                f"({'from the start point' if not self.history else f'it was {self.history[0]:.6g} at the start'}) "
                f"with learning_rate={self.options.learning_rate}; "
                "use a smaller learning rate, or scale the features"
            )
        self.history.append(loss)
        if epoch >= self.options.epochs:
            return True
        if epoch >= 1 and self.options.tol > 0 and abs(self.history[-2] - loss) < self.options.tol:
            self.converged = True
            return True
        return False

    def result(self, intercept: float, coef, timings: dict | None = None) -> FitResult:
        h = self.history
        # Full-batch descent on a quadratic lowers the loss every epoch while the step is stable; the
        # stochastic ones wander near the optimum, so only a large growth means divergence for them.
        # (a slack of a few ulps an epoch: started at the optimum, the loss only wobbles in its last bits)
        slack = 1.0 + 1e-12 * max(1, len(h))
        allowed = slack * h[0] if self.kernel.startswith("gd/") else 100.0 * h[0]
        if len(h) > 1 and h[-1] > allowed:
            raise DivergenceError(
                f"{self.kernel}: gradient descent diverged: the loss grew from {h[0]:.6g} to {h[-1]:.6g} "
                f"over {len(h) - 1} epoch(s) with learning_rate={self.options.learning_rate}; "
                "use a smaller learning rate, or scale the features"
            )
        return FitResult(
            intercept=float(intercept),
            coef=np.asarray(coef, dtype=np.float64).ravel().copy(),
            kernel=self.kernel,
            loss_history=np.asarray(h, dtype=np.float64),
            n_iter=len(h) - 1,
            converged=self.converged,
            timings=dict(timings or {}),
        )


def batches(order: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive slices of one epoch's row order; the last may be shorter."""
    for start in range(0, order.shape[0], batch_size):
        yield order[start:start + batch_size]


def max_stable_learning_rate(X: np.ndarray, fit_intercept: bool) -> float:
    """Largest learning rate for which full-batch gradient descent on the MSE converges: 1/λmax(AᵀA/n).

    A is X with a column of ones when fit_intercept; the MSE's Hessian is 2AᵀA/n, and a gradient step
    contracts only while learning_rate * 2λmax < 2.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    A = np.hstack([np.ones((X.shape[0], 1)), X]) if fit_intercept else X
    lam = np.linalg.eigvalsh(A.T @ A / X.shape[0])[-1]
    return float(1.0 / lam)
