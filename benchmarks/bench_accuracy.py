"""Accuracy (asv track_): LRE against NIST's certified values, coefficient error against statsmodels,
and gradient descent's distance from the least-squares solution and excess loss per epoch.

All values are computed once, in one setup_cache shared by the classes (asv runs it once and hands the result
to every parameter combination); a kernel that refuses a problem (e.g. singular to working precision) is skipped
with its reason, not recorded as a number.
"""
from __future__ import annotations

import warnings

import numpy as np

from kernels import fit
from kernels.datasets import load_nist, make_regression, nist_problems
from kernels.errors import DataFileError, KernelError

from .accuracy_experiments import GENERATED, generated_problem, lre
from .common import BATCH_SIZE, EPOCHS, LEARNING_RATES, PROFILE, get, kernel_names

_NO_NIST = "(NIST data not found)"
_REFUSED = "refused: "


def _nist_names() -> list[str]:
    """NIST's problems present, then the generated ones of the same families (accuracy_experiments.GENERATED:
    large residuals, higher degrees; those on a NIST design only where its file is present)."""
    try:
        present = nist_problems()
    except DataFileError:
        return [_NO_NIST]  # setup skips it, saying where the data was looked for
    return present + [g for g in GENERATED
                      if g.startswith("HardPoly") or g.split("~")[0].split("-deg")[0] in present]


def _load(problem: str):
    """The problem's float64 Dataset, with its certified values (the generated ones': their exact solution)."""
    return generated_problem(problem) if problem in GENERATED else load_nist(problem)


def _fit_params(name: str, X, y, fit_intercept: bool = True, **opts) -> np.ndarray:
    """(intercept, coef...) of one validated fit, or coef alone without an intercept."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # AccuracyWarning: the measured error is the point here
        r = fit(X, y, kernel=name, fit_intercept=fit_intercept, **opts)
    return r.params if fit_intercept else r.coef


def _nist_runs(kernels: list[str], problems: list[str]) -> dict:
    """LRE of every OLS kernel on every NIST problem, or why there is none."""
    values = {}
    for problem in problems:
        try:
            ds = _load(problem)
        except DataFileError as exc:
            values.update({(k, problem): f"no data: {exc}" for k in kernels})
            continue
        for name in kernels:
            try:
                est = _fit_params(get(name).name, ds.X, ds.y, ds.fit_intercept)
            except (KernelError, NotImplementedError) as exc:
                values[(name, problem)] = _REFUSED + str(exc)
                continue
            values[(name, problem)] = lre(est, ds.certified)
    return values


_CASES = {"well-conditioned": 0.0, "collinear 0.999": 0.999}


def _coef_kernels() -> list[str]:
    return kernel_names(("ols",), predicate=lambda k: k.backend != "statsmodels")


class _AccuracyCache:
    """One setup_cache for every accuracy benchmark (asv keys it by this one function, so it runs once per run,
    in one process): every kernel is fitted once per problem."""

    def setup_cache(self):
        return {"nist": _nist_runs(kernel_names(("ols",)), _nist_names()), "coef": _coef_runs(_coef_kernels()),
                "iterative": _iterative_runs()}

    setup_cache.timeout = 1800


class NistLRE(_AccuracyCache):
    """Digits of agreement (LRE, 0-15) of each OLS kernel's coefficients with NIST's certified values, and with
    the exact solutions of the generated problems of the same families."""

    param_names = ["kernel", "problem"]
    params = [kernel_names(("ols",)), _nist_names()]
    rounds = 1
    timeout = 600

    def setup(self, cache, name, problem):
        v = cache["nist"][(name, problem)]
        if isinstance(v, str):
            raise NotImplementedError(v)

    def track_lre(self, cache, name, problem):
        return cache["nist"][(name, problem)]

    track_lre.unit = "digits"




def _coef_runs(kernels: list[str]) -> dict:
    """Relative coefficient error of every OLS kernel against statsmodels, per case."""
    values = {}
    for case, rho in _CASES.items():
        ds = make_regression(PROFILE.accuracy_rows, 10, collinearity=rho, seed=1)
        try:
            ref = _fit_params(get("ols/statsmodels").name, ds.X, ds.y)
        except NotImplementedError as exc:
            values.update({(k, case): f"no reference: {exc}" for k in kernels})
            continue
        for name in kernels:
            try:
                est = _fit_params(get(name).name, ds.X, ds.y)
            except (KernelError, NotImplementedError) as exc:
                values[(name, case)] = _REFUSED + str(exc)
                continue
            values[(name, case)] = float(np.max(np.abs(est - ref)) / np.max(np.abs(ref)))
    return values


class CoefErrorVsStatsmodels(_AccuracyCache):
    """max |β - β_statsmodels| / max |β_statsmodels| over (intercept, coef) on seeded synthetic data, d = 10."""

    param_names = ["kernel", "case"]
    params = [_coef_kernels(), list(_CASES)]
    rounds = 1
    timeout = 600

    def setup(self, cache, name, case):
        v = cache["coef"][(name, case)]
        if isinstance(v, str):
            raise NotImplementedError(v)

    def track_coef_error(self, cache, name, case):
        return cache["coef"][(name, case)]

    track_coef_error.unit = "relative"


def _iterative_runs():
    """Every iterative kernel at EPOCHS epochs on the accuracy data: distance from OLS and excess loss curve."""
    out = {}
    for d in PROFILE.features:
        ds = make_regression(PROFILE.accuracy_rows, d, seed=2)
        A = np.hstack([np.ones((ds.X.shape[0], 1)), ds.X])
        ols, *_ = np.linalg.lstsq(A, ds.y, rcond=None)  # SVD: the reference solution
        r = A @ ols - ds.y
        best = float(r @ r) / ds.y.shape[0]
        for name in kernel_names(("gd", "sgd", "minibatch")):
            try:
                k = get(name)
                opts = {"learning_rate": LEARNING_RATES[k.algorithm], "epochs": EPOCHS, "tol": 0.0}
                if k.algorithm == "minibatch":
                    opts["batch_size"] = BATCH_SIZE
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = fit(ds.X, ds.y, kernel=name, **opts)
            except (KernelError, NotImplementedError) as exc:
                out[(name, d)] = _REFUSED + str(exc)
                continue
            out[(name, d)] = {
                "distance": float(np.linalg.norm(res.params - ols) / np.linalg.norm(ols)),
                "excess": [(float(v) - best) / best for v in res.loss_history],
            }
    return out


class GdDistanceFromOLS(_AccuracyCache):
    """‖θ - θ_OLS‖ / ‖θ_OLS‖ after EPOCHS epochs, θ = (intercept, coef), on seeded synthetic data."""

    param_names = ["kernel", "d"]
    params = [kernel_names(("gd", "sgd", "minibatch")), list(PROFILE.features)]
    rounds = 1
    timeout = 600

    def setup(self, cache, name, d):
        if isinstance(cache["iterative"][(name, d)], str):
            raise NotImplementedError(cache["iterative"][(name, d)])

    def track_distance(self, cache, name, d):
        return cache["iterative"][(name, d)]["distance"]

    track_distance.unit = "relative"


class GdLossCurve(_AccuracyCache):
    """(MSE after k epochs - least-squares MSE) / least-squares MSE, k = 0..EPOCHS, at the largest d."""

    param_names = ["kernel", "epoch"]
    params = [kernel_names(("gd", "sgd", "minibatch")), list(range(EPOCHS + 1))]
    rounds = 1
    timeout = 600

    def setup(self, cache, name, epoch):
        run = cache["iterative"][(name, max(PROFILE.features))]
        if isinstance(run, str):
            raise NotImplementedError(run)

    def track_excess_loss(self, cache, name, epoch):
        return cache["iterative"][(name, max(PROFILE.features))]["excess"][epoch]

    track_excess_loss.unit = "relative"
