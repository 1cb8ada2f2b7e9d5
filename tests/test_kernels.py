"""Every registered kernel against the references, against each other, and against the tutorial's numbers."""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import pytest
import statsmodels.api as sm

import kernels
from benchmarks.accuracy_experiments import condition_number, lre
from kernels import REGISTRY, datasets, fit
from kernels.backends.exact_rational import fit_exact
from tests.helpers import kernel_params, random_problem, tolerance

TUTORIAL_INTERCEPT = 0.21519170068625
TUTORIAL_SLOPE = 0.55340884157653


def statsmodels_params(X, y, fit_intercept):
    A = sm.add_constant(X, has_constant="add") if fit_intercept else X
    p = np.asarray(sm.OLS(y, A).fit().params)
    return (p[0], p[1:]) if fit_intercept else (0.0, p)


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("d", [1, 3, 10])
@pytest.mark.parametrize("name", kernel_params("ols"))
def test_ols_agrees_with_statsmodels_float64(name, d, fit_intercept):
    X, y = random_problem(200, d, seed=d)
    b0, w0 = statsmodels_params(X, y, fit_intercept)
    r = fit(X, y, kernel=name, fit_intercept=fit_intercept)
    assert r.coef.shape == (d,) and isinstance(r.intercept, float)
    # statsmodels solves by QR/SVD, some kernels by the normal equations: κ² covers both
    tol = tolerance(dtype="float64", cond=condition_number(X, fit_intercept) ** 2,
                    scale=float(np.abs(np.append(w0, b0)).max()))
    np.testing.assert_allclose(r.coef, w0, **tol)
    np.testing.assert_allclose(r.intercept, b0, **tol)
    if not fit_intercept:
        assert r.intercept == 0.0


@pytest.mark.filterwarnings("ignore::kernels.AccuracyWarning")  # float32 normal equations vouch for < 6 digits
@pytest.mark.parametrize("d", [1, 3, 10])
@pytest.mark.parametrize("name", kernel_params("ols", dtype="float32"))
def test_ols_float32_within_dtype_tolerance(name, d):
    X, y = random_problem(500, d, seed=10 + d)
    b0, w0 = statsmodels_params(X.astype(np.float32).astype(np.float64), y.astype(np.float32).astype(np.float64), True)
    cond = np.linalg.cond((X - X.mean(0)) / X.std(0)) ** 2  # the centred normal equations, in float32
    r = fit(X, y, kernel=name, dtype="float32")
    scale = np.abs(np.concatenate([[b0], w0])).max()
    tol = tolerance(dtype="float32", cond=cond, scale=scale)
    np.testing.assert_allclose(r.coef, w0, **tol)
    np.testing.assert_allclose(r.intercept, b0, **tol)


def test_float32_path_really_runs_in_float32():
    """A float32 request must change the result (by rounding), or the dtype option is being ignored."""
    X, y = random_problem(300, 3, seed=5)
    for name in ("ols/numpy", "gd/numpy"):
        opts = {} if name.startswith("ols") else {"learning_rate": 0.05, "epochs": 50}
        r64 = fit(X, y, kernel=name, **opts)
        r32 = fit(X, y, kernel=name, dtype="float32", **opts)
        assert not np.array_equal(r64.coef, r32.coef)
        tol = tolerance(dtype="float32", cond=condition_number(X) ** 2, scale=float(np.abs(r64.params).max()))
        np.testing.assert_allclose(r32.params, r64.params, **tol)


ITERATIVE_OPTIONS = {
    "gd": {"learning_rate": 0.05, "epochs": 3000},
    "sgd": {"learning_rate": 0.01, "epochs": 300},
    "minibatch": {"learning_rate": 0.05, "epochs": 1000, "batch_size": 16},
}


@pytest.mark.parametrize("name", kernel_params("gd") + kernel_params("sgd") + kernel_params("minibatch"))
def test_iterative_converges_to_ols(name):
    """Noise-free data: the OLS solution fits exactly, so every descent method converges to it."""
    algorithm = REGISTRY[name].algorithm
    noise = 0.1 if algorithm == "gd" else 0.0  # sgd/minibatch only settle exactly where the fit is exact
    X, y = random_problem(200, 3, seed=7, noise=noise)
    X = (X - X.mean(0)) / X.std(0)
    ref = fit(X, y, kernel="ols/numpy")
    r = fit(X, y, kernel=name, **ITERATIVE_OPTIONS[algorithm])
    np.testing.assert_allclose(r.params, ref.params, rtol=0, atol=1e-6)
    assert r.n_iter == ITERATIVE_OPTIONS[algorithm]["epochs"]
    assert r.loss_history.shape == (r.n_iter + 1,)
    assert r.loss_history[-1] < r.loss_history[0]


AGREE_OPTIONS = {
    "gd": {"learning_rate": 0.05, "epochs": 40, "init": [0.1, -0.2, 0.3, 0.0]},
    "sgd": {"learning_rate": 0.005, "epochs": 5, "seed": 3, "schedule": "invscaling"},
    "minibatch": {"learning_rate": 0.03, "epochs": 6, "seed": 4, "batch_size": 7},
}


def _same_iterate_kernels(algorithm):
    # sgd/sklearn shuffles with its own generator, minibatch/dask visits rows chunk by chunk: they are compared
    # on the loss reached (tests/test_dask.py for minibatch/dask), not on iterates
    return [p for p in kernel_params(algorithm) if p.values[0] not in ("sgd/sklearn", "minibatch/dask")]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("algorithm", ["gd", "sgd", "minibatch"])
def test_kernels_of_one_algorithm_produce_the_same_iterates(algorithm, dtype):
    X, y = random_problem(150, 3, seed=11)
    opts = dict(AGREE_OPTIONS[algorithm], dtype=dtype)
    names = [p.values[0] for p in _same_iterate_kernels(algorithm) if dtype in REGISTRY[p.values[0]].dtypes]
    assert f"{algorithm}/numpy" in names and len(names) >= 3
    base = fit(X, y, kernel=f"{algorithm}/numpy", **opts)
    cond = condition_number(X) ** 2
    for name in names:
        r = fit(X, y, kernel=name, **opts)
        np.testing.assert_allclose(r.loss_history, base.loss_history, err_msg=name,
                                   **tolerance(dtype=dtype, cond=cond, scale=base.loss_history.max()))
        np.testing.assert_allclose(r.params, base.params, err_msg=name,
                                   **tolerance(dtype=dtype, cond=cond, scale=float(np.abs(base.params).max())))


def test_sgd_sklearn_reaches_the_same_loss_with_invscaling():
    """Like for like: scikit-learn's SGDRegressor and ours with its invscaling schedule reach the same loss."""
    X, y = random_problem(400, 3, seed=12, noise=0.5)
    X = (X - X.mean(0)) / X.std(0)
    opts = {"learning_rate": 0.01, "epochs": 30, "schedule": "invscaling", "seed": 1}
    ols_loss = float(np.mean((fit(X, y).predict(X) - y) ** 2))
    ours = fit(X, y, kernel="sgd/numpy", **opts).loss_history[-1]
    theirs = fit(X, y, kernel="sgd/sklearn", **opts).loss_history[-1]
    assert ours == pytest.approx(ols_loss, rel=0.05)
    assert theirs == pytest.approx(ours, rel=0.05)


def test_tol_stops_early_and_says_so():
    X, y = random_problem(100, 2, seed=2)
    r = fit(X, y, kernel="gd/numpy", learning_rate=0.05, epochs=100000, tol=1e-12)
    assert r.converged and r.n_iter < 100000
    assert abs(r.loss_history[-1] - r.loss_history[-2]) < 1e-12


@pytest.mark.parametrize("name", kernel_params("ols"))
def test_tutorial_numbers_ols(name, advertising):
    r = fit(advertising.X, advertising.y, kernel=name)
    assert abs(r.intercept - TUTORIAL_INTERCEPT) < 1e-12
    assert abs(r.coef[0] - TUTORIAL_SLOPE) < 1e-12


@pytest.mark.parametrize("name", kernel_params("gd"))
def test_tutorial_numbers_gd(name, advertising):
    r = fit(advertising.X, advertising.y, kernel=name, learning_rate=0.1, epochs=1000)
    assert abs(r.intercept - TUTORIAL_INTERCEPT) < 1e-6
    assert abs(r.coef[0] - TUTORIAL_SLOPE) < 1e-6


def _nist_cases():
    certs = datasets.nist_certified()
    return [pytest.param(p, id=p) for p in certs]


# Digits a kernel may lose below the ceiling (the exact solution of the float64 input) without warning, by
# NIST's difficulty: 4 on the lower and average problems, 9 on the higher ones (cond(XᵀX) up to ~1e9).
ALLOWED_LOSS = {"lower": 4.0, "average": 4.0, "higher": 9.0}


@functools.cache
def _nist_ceiling(problem: str) -> float:
    """LRE of the exact least-squares solution of the problem's float64 input: no float64 kernel can pass it."""
    P = datasets.load_nist(problem)
    exact = fit_exact(P.X, P.y, P.fit_intercept)
    return lre(exact.params if P.fit_intercept else exact.coef, P.certified)


@pytest.mark.parametrize("problem", _nist_cases())
@pytest.mark.parametrize("name", kernel_params("ols"))
def test_nist_lre(name, problem, record_property):
    """Every OLS kernel on every NIST problem: it keeps the digits it vouches for (up to the ceiling); an own
    kernel's result it does not warn about is within ALLOWED_LOSS[difficulty] digits of the ceiling; own kernels
    never warn on the lower and average problems; the warning comes exactly when the vouched digits fall below
    WARN_DIGITS."""
    P = datasets.load_nist(problem)
    ceiling = _nist_ceiling(problem)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", kernels.AccuracyWarning)
        try:
            r = fit(P.X, P.y, kernel=name, fit_intercept=P.fit_intercept)
        except kernels.SingularDesignError as exc:  # an honest "cannot", but only where NIST calls it hard
            assert P.meta["difficulty"] == "higher", f"{name} refused {problem}: {exc}"
            return
    warned = any(issubclass(w.category, kernels.AccuracyWarning) for w in caught)
    digits = lre(r.params if P.fit_intercept else r.coef, P.certified)
    record_property("lre", digits)
    where = f"{name} on {problem}: LRE {digits:.2f}, vouched {r.digits:.2f}, ceiling {ceiling:.2f}"
    assert warned == (r.digits < kernels.WARN_DIGITS), where
    # errors against the float64 input's solution and of that solution against NIST add: at most a factor 2
    assert digits >= min(r.digits, ceiling) - math.log10(2.0), where
    if not warned and not REGISTRY[name].reference:  # a library may lose digits: it then says how many are left
        assert digits >= ceiling - ALLOWED_LOSS[P.meta["difficulty"]], where
    if not REGISTRY[name].reference and P.meta["difficulty"] in ("lower", "average"):
        assert not warned, where


def test_available_lists_every_registered_kernel():
    listed = kernels.available()
    assert {k["name"] for k in listed} == set(REGISTRY)
    for k in listed:
        assert k["name"] == f"{k['algorithm']}/{k['backend']}"
        assert k["device"] in ("cpu", "cuda") and isinstance(k["reference"], bool)
    refs = {k["name"] for k in listed if k["reference"]}
    assert {"ols/statsmodels", "ols/sklearn", "sgd/sklearn", "gd/torch-nn"} <= refs


def test_every_backend_covers_every_algorithm_it_claims():
    """The README's table: each own CPU backend runs all four algorithms (ols, gd, sgd, minibatch)."""
    have = set(REGISTRY)
    for backend in ("python", "numpy", "numba", "torch-cpu"):
        for algorithm in ("ols", "gd", "sgd", "minibatch"):
            assert f"{algorithm}/{backend}" in have, f"{algorithm}/{backend} is missing"


@pytest.mark.cuda
def test_cuda_kernels_register_when_a_device_is_present():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    for name in ("ols/torch-cuda", "gd/torch-cuda", "minibatch/torch-cuda", "gd/torch-nn-cuda"):
        assert name in REGISTRY and REGISTRY[name].device == "cuda"
