"""Accuracy you can trust: ols/exact at the ceiling, ols/qr's bound, digits that never overclaim, and a
warning (or a refusal) whenever a result has fewer than 4 correct digits. Problems come from certified.json."""
from __future__ import annotations

import math
import time
import warnings
from fractions import Fraction

import numpy as np
import pytest

import kernels
from benchmarks import accuracy_experiments as accuracy
from benchmarks.accuracy_experiments import lre
from kernels import REGISTRY, AccuracyWarning, InputError, SingularDesignError, datasets, fit
from kernels.backends.exact_rational import MAX_WORK, exact_lstsq, fit_exact
from kernels.backends.qr_householder import qr_solve
from kernels.numerics.error_bounds import rounded_input
from tests.helpers import fit_recorded, kernel_params, user_digits


def _nist_names():
    return list(datasets.nist_certified())


def _problem(name: str, exact: bool = False):
    """A NIST problem, or the synthetic Filip-like polynomial (HardPoly10-<seed>) NIST's folder lacks."""
    if name.startswith("HardPoly10-"):
        return accuracy.hard_polynomial(seed=int(name.rsplit("-", 1)[1]), exact=exact)
    return datasets.load_nist(name, exact=exact)


PROBLEMS = _nist_names() + ["HardPoly10-0", "HardPoly10-1"]


def _fraction_lstsq(X, y, fit_intercept: bool) -> list[Fraction]:
    """An independent exact solver: the normal equations in Fractions, Gauss-Jordan elimination."""
    rows = [[Fraction(1)] * fit_intercept + [Fraction(v) for v in r] for r in np.asarray(X, dtype=object).tolist()]
    ys = [Fraction(v) for v in np.asarray(y, dtype=object).tolist()]
    p = len(rows[0])
    M = [[sum((r[j] * r[k] for r in rows), Fraction(0)) for k in range(p)]
         + [sum((r[j] * yi for r, yi in zip(rows, ys)), Fraction(0))] for j in range(p)]
    for k in range(p):
        piv = next(i for i in range(k, p) if M[i][k] != 0)
        M[k], M[piv] = M[piv], M[k]
        M[k] = [v / M[k][k] for v in M[k]]
        for i in range(p):
            if i != k and M[i][k] != 0:
                f = M[i][k]
                M[i] = [a - f * b for a, b in zip(M[i], M[k])]
    return [M[i][p] for i in range(p)]


_CACHE: dict = {}


def _truths(name: str) -> dict:
    """Exact solutions (independent solver) of the float64 and the exact input, and the ceilings."""
    if name not in _CACHE:
        P, Px = _problem(name), _problem(name, exact=True)
        f64 = np.array([float(v) for v in _fraction_lstsq(P.X, P.y, P.fit_intercept)])
        ex = np.array([float(v) for v in _fraction_lstsq(Px.X, Px.y, Px.fit_intercept)])
        _CACHE[name] = {"float64": f64, "exact": ex, "ceiling": lre(f64, P.certified),
                        "ceiling_exact": lre(ex, P.certified)}
    return _CACHE[name]


def _est(P, r) -> np.ndarray:
    return r.params if P.fit_intercept else r.coef


# --- ols/exact ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("exact", [False, True], ids=["float64-input", "exact-input"])
@pytest.mark.parametrize("name", PROBLEMS)
def test_exact_solver_equals_an_independent_one(name, exact):
    """Bareiss on integers and Gauss-Jordan on Fractions give the same rational numbers."""
    P = _problem(name, exact=exact)
    assert exact_lstsq(P.X, P.y, P.fit_intercept) == _fraction_lstsq(P.X, P.y, P.fit_intercept)


@pytest.mark.parametrize("name", PROBLEMS)
def test_exact_kernel_reaches_the_ceiling(name):
    P, Px, t = _problem(name), _problem(name, exact=True), _truths(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)  # the hard polynomial's float64 input warns: rightly
        got = lre(_est(P, fit(P.X, P.y, kernel="ols/exact", fit_intercept=P.fit_intercept)), P.certified)
    assert got >= t["ceiling"] - 0.5, f"ols/exact on {name}: LRE {got:.2f}, ceiling {t['ceiling']:.2f}"
    got_exact = lre(_est(Px, fit_exact(Px.X, Px.y, Px.fit_intercept)), Px.certified)
    assert got_exact >= 12, f"ols/exact from the exact input of {name}: LRE {got_exact:.2f}"


def test_exact_refuses_large_problems_quickly():
    d = 3
    n = MAX_WORK // (d + 1) ** 2 + 1
    X = np.random.default_rng(0).standard_normal((n, d))
    fit(X[:100_000], X[:100_000, 0] + 1.0, kernel="ols/numpy")  # fit's compiled input checks: compiled first
    t0 = time.perf_counter()  # then only the refusal is timed: it must not start the rational arithmetic
    with pytest.raises(InputError, match=r"too large for exact rational arithmetic.*ols/qr"):
        fit(X, X[:, 0] + 1.0, kernel="ols/exact")
    assert time.perf_counter() - t0 < 10


def test_exact_rejects_non_numbers_and_exact_singularity():
    with pytest.raises(InputError, match="exact OLS takes"):
        exact_lstsq(np.array([["a"], ["b"], ["c"]], dtype=object), np.array([1, 2, 3], dtype=object))
    X = np.array([[1, 2], [2, 4], [3, 6]], dtype=object)  # column 2 = 2 x column 1, exactly
    with pytest.raises(SingularDesignError, match="exactly rank-deficient"):
        exact_lstsq(X, np.array([1, 2, 4], dtype=object))


def test_exact_is_exact_at_extreme_scales():
    """Scaling a column by 2^600 (exact) scales its coefficient by 2^-600, bit for bit; nothing overflows."""
    P = datasets.load_nist("Longley")
    r = fit(P.X, P.y, kernel="ols/exact")
    X = P.X.copy()
    X[:, 2] = np.ldexp(X[:, 2], 600)
    big = fit(X, np.ldexp(P.y, -300), kernel="ols/exact")
    assert big.coef[2] == np.ldexp(r.coef[2], -900) and big.intercept == np.ldexp(r.intercept, -300)
    assert math.isfinite(big.digits) and abs(big.digits - r.digits) < 0.01


def test_fit_exact_vouches_for_every_digit_of_exact_input_only():
    Px = datasets.load_nist("Norris", exact=True)
    assert fit_exact(Px.X, Px.y).digits > 15.9  # exact input, one rounding
    P = datasets.load_nist("Norris")
    assert fit_exact(P.X, P.y).digits < 15  # float input carries its own rounding


# --- ols/qr -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PROBLEMS)
def test_qr_bound(name):
    """LRE >= 9, or within 1 digit of the ceiling where the ceiling is below 10."""
    P, t = _problem(name), _truths(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        got = lre(_est(P, fit(P.X, P.y, kernel="ols/qr", fit_intercept=P.fit_intercept)), P.certified)
    need = 9.0 if t["ceiling"] >= 10 else t["ceiling"] - 1.0
    assert got >= need, f"ols/qr on {name}: LRE {got:.2f} < {need:.2f} (ceiling {t['ceiling']:.2f})"


def test_qr_refinement_step_recovers_the_digits_householder_alone_loses():
    """Wampler1 (cond ~1.6e3 after centring): Householder alone keeps ~10 digits, the refined answer all 15."""
    P = datasets.load_nist("Wampler1")
    plain = lre(qr_solve(P.X, P.y, True, refine=False).params, P.certified)
    refined = lre(qr_solve(P.X, P.y, True).params, P.certified)
    assert plain < 11 and refined >= 14, (plain, refined)


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_qr_threads_and_exact_agree(fit_intercept):
    """The banded (multi-thread) path and the single-band path both match the exact solution."""
    ds = datasets.make_regression(20_000, 4, offset=50.0, collinearity=0.9, seed=5, cache=False)
    truth = np.array([float(v) for v in exact_lstsq(ds.X, ds.y, fit_intercept)])
    for threads in (1, 2):
        r = qr_solve(ds.X, ds.y, fit_intercept, threads=threads)
        got = r.params if fit_intercept else r.coef
        assert lre(got, truth) >= 13, f"threads={threads}: LRE {lre(got, truth):.2f}"


def test_qr_refuses_a_singular_design():
    x = np.linspace(0.0, 1.0, 50)
    X = np.column_stack([x, 2.0 * x + 1e-17])  # identical to working precision, not bit-identical
    with pytest.raises(SingularDesignError):
        fit(X, x + 1.0, kernel="ols/qr")


# --- digits and warnings, every registered OLS kernel --------------------------------------------------

def _cases():
    """(label, X, y, fit_intercept, truth): NIST + synthetic hard polynomials + the condition sweeps."""
    for name in PROBLEMS:
        P, t = _problem(name), _truths(name)
        yield name, P.X, P.y, P.fit_intercept, t["exact"]
    for family in accuracy.FAMILIES:
        for level in accuracy.SWEEP_LEVELS[family]:
            X, y = accuracy.sweep_problem(family, level, n=120, seed=3)
            yield f"{family}={level:g}", X, y, True, np.array([float(v) for v in exact_lstsq(X, y, True)])
    for offset in (3.0, 300.0):  # no intercept, d = 10: uncentred products, where an offset costs digits
        ds = datasets.make_regression(2000, 10, offset=offset, collinearity=0.9, seed=7, cache=False)
        yield (f"no-intercept offset={offset:g}", ds.X, ds.y, False,
               np.array([float(v) for v in exact_lstsq(ds.X, ds.y, False)]))



@pytest.mark.parametrize("name", kernel_params("ols"))
def test_fewer_than_4_digits_always_warns_and_digits_never_overclaim(name):
    """Over NIST, the hard polynomials and the sweeps, in every dtype the kernel takes: a result with < 4
    correct digits comes with an AccuracyWarning (or the kernel refused), and `digits` <= the LRE."""
    silent, overclaims, checked = [], [], 0
    for label, X, y, fit_intercept, truth in _cases():
        for dtype in REGISTRY[name].dtypes:
            r, warned = fit_recorded(name, X, y, fit_intercept, dtype)
            if r is None:
                continue  # refused with SingularDesignError: an honest "cannot"
            checked += 1
            got = user_digits(r.params if fit_intercept else r.coef, truth, X, y, fit_intercept)
            if got < 4 and not warned:
                silent.append(f"{label}/{dtype}: {got:.1f} correct, digits {r.digits:.1f}")
            if got < 14.5 and max(r.digits, 0.0) > max(got, 0.0):  # below 0: no correct digit either way
                overclaims.append(f"{label}/{dtype}: digits {r.digits:.2f} > {got:.2f} correct")
    assert checked > 0
    assert not silent, f"{name} returned < 4 correct digits without a warning: {silent}"
    assert not overclaims, f"{name} claimed more digits than it delivered: {overclaims}"


def test_references_below_4_digits_warn():
    """scikit-learn gets no correct digit on Pontius; fit() checks it against ols/qr and warns."""
    if "ols/sklearn" not in REGISTRY:
        pytest.skip(f"scikit-learn is not available: {kernels.UNAVAILABLE.get('sklearn')}")
    P = datasets.load_nist("Pontius")
    with pytest.warns(AccuracyWarning, match=r"ols/sklearn: the result may have only about 0\.0 correct digits"):
        r = fit(P.X, P.y, kernel="ols/sklearn")
    assert lre(r.params, P.certified) < 4 and r.digits < 4


@pytest.mark.parametrize("name", kernel_params("ols", dtype="float64"))
def test_no_warning_on_well_conditioned_data(name):
    ds = datasets.make_regression(500, 3, seed=11, cache=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        r = fit(ds.X, ds.y, kernel=name)
    assert r.digits >= kernels.WARN_DIGITS


def _rounded(a: np.ndarray, digits: int = 12) -> np.ndarray:
    """The values as a text file with `digits` significant digits would give them back."""
    return np.array([float(f"{v:.{digits - 1}e}") for v in a.ravel()]).reshape(a.shape)


@pytest.mark.parametrize("name", kernel_params("ols", dtype="float64"))
def test_warns_or_refuses_on_ill_conditioned_rounded_data(name):
    """Monomials x..x^8 on [1, 2] (cond of the scaled [1, X] ~1e9) read from 12-digit decimal text: each value
    carries a rounding, which leaves fewer than 6 digits of the text's exact answer to vouch for, so every kernel
    warns; the normal equations refuse outright."""
    X, y = accuracy.sweep_problem("degree", 8, n=120, seed=3)
    X, y = _rounded(X), _rounded(y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        with pytest.raises((AccuracyWarning, SingularDesignError)):
            fit(X, y, kernel=name)


@pytest.mark.parametrize("name", ["ols/qr", "ols/exact"])
def test_ill_conditioned_data_exact_as_given_do_not_warn(name):
    """The same design computed in binary (values with no shorter decimal form) is exact as given: its exact
    least-squares answer is what a user measures against, ols/qr and ols/exact deliver it, and say so."""
    X, y = accuracy.sweep_problem("degree", 8, n=120, seed=3)
    truth = np.array([float(v) for v in exact_lstsq(X, y, True)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        r = fit(X, y, kernel=name)
    got = user_digits(r.params, truth, X, y, True)
    assert kernels.WARN_DIGITS <= r.digits and (r.digits <= got or got >= 14.5)
    Xr, yr = _rounded(X), _rounded(y)
    with pytest.warns(AccuracyWarning):  # read from text, the same design warns (its rounding is real) ...
        rounded = fit(Xr, yr, kernel=name)
    assert rounded.digits_as_given > kernels.WARN_DIGITS  # ... and says what it would vouch for as given


def test_rounded_input_is_judged_from_the_values():
    """Decimal text (most values short inexact decimals) carries a rounding; binary values (about one in nine
    lands on a short decimal by chance) and integers do not; one rounded column is enough."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((500, 3)), rng.standard_normal(500)
    assert not rounded_input(X, y)
    assert not rounded_input(np.arange(60.0).reshape(20, 3), np.arange(20.0) / 2)
    assert rounded_input(_rounded(X, 10), y) and rounded_input(X, _rounded(y, 13))
    Xm = X.copy()
    Xm[:, 1] = _rounded(Xm[:, 1], 6)
    assert rounded_input(Xm, y)
    assert rounded_input(np.array([[0.1], [0.2], [0.3]]), np.array([1.0, 2.0, 3.0]))


def test_accuracy_warning_is_filterable_and_says_why():
    assert issubclass(AccuracyWarning, UserWarning)
    X, y = accuracy.sweep_problem("degree", 6, n=120, seed=3)
    X = _rounded(X)  # as from a 12-digit text file: ols/numpy can vouch for about 4.6 digits
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        with pytest.raises(AccuracyWarning, match=r"ols/numpy: .*correct digits \(estimated condition number"):
            fit(X, y, kernel="ols/numpy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=AccuracyWarning)
        fit(X, y, kernel="ols/numpy")  # filtered: no exception


def test_normal_equations_estimate_is_no_longer_optimistic_on_wampler1():
    """The old estimate said 9.5 digits where ols/numpy delivers 6.8: now it claims no more than it gets."""
    P = datasets.load_nist("Wampler1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        r = fit(P.X, P.y, kernel="ols/numpy")
    assert r.digits <= lre(r.params, P.certified)


# --- the report's functions ----------------------------------------------------------------------------

def test_nist_ceilings_cover_every_problem_and_exact_input_lifts_them():
    c = accuracy.nist_ceilings(synthetic=True)
    assert set(_nist_names()) | {accuracy.SYNTHETIC} | set(accuracy.GENERATED) == set(c)
    for name, v in c.items():
        assert v["exact"] >= 12 and v["exact"] >= v["float64"] - 0.5, (name, v)
    assert c[accuracy.SYNTHETIC]["float64"] < 9  # float64 input itself costs digits on a Filip-like problem


def test_nist_table_has_every_ols_kernel_on_every_problem():
    rows = accuracy.nist_table(kernels=["ols/numpy", "ols/qr"], synthetic=False, generated=False)
    names = _nist_names()
    assert {(r["problem"], r["kernel"]) for r in rows} == {
        (p, k) for p in names for k in ("ols/numpy", "ols/qr", "ols/exact (exact input)")}
    wampler1 = next(r for r in rows if r["problem"] == "Wampler1" and r["kernel"] == "ols/numpy")
    # 7.2 correct digits of exact (integer) data: the second look vouches for them, no warning
    assert not wampler1["warned"] and 6 <= wampler1["digits"] <= wampler1["lre"] < 8


def test_condition_sweep_rows_and_float32():
    rows = accuracy.condition_sweep(kernels=["ols/numpy", "ols/qr"], families=("offset",), n=100,
                                    levels={"offset": (0.0, 1e6)})
    assert {(r["kernel"], r["dtype"]) for r in rows} == {("ols/numpy", "float64"), ("ols/numpy", "float32"),
                                                        ("ols/qr", "float64")}
    conds = {r["level"]: r["cond"] for r in rows}
    assert conds[1e6] > 1e5 * conds[0.0]  # the offset is what makes the uncentred design ill-conditioned
    qr = {r["level"]: r["lre"] for r in rows if r["kernel"] == "ols/qr"}
    assert qr[0.0] >= 14 and qr[1e6] >= 12


def test_largest_stable_learning_rate_is_one_over_lambda_max(advertising):
    out = accuracy.largest_stable_learning_rate()
    A = np.hstack([np.ones((advertising.X.shape[0], 1)), advertising.X])
    sigma = np.linalg.svd(A, compute_uv=False)[0]  # λmax(AᵀA/n) = σmax(A)² / n, computed another way
    assert math.isclose(out["learning_rate"], A.shape[0] / sigma ** 2, rel_tol=1e-12)
    assert out["at_0.99"].startswith("converges") and out["at_1.01"] == "diverges"


def test_gd_distance_curves_fall_and_checkpoints_match_one_run(advertising):
    lr = 0.5 * accuracy.largest_stable_learning_rate()["learning_rate"]
    rows = accuracy.gd_distance_curves(kernels=["gd/numpy"], learning_rates=[lr], epochs=(0, 10, 100, 1000))
    dist = [r["distance"] for r in rows]
    assert dist[0] == 1.0 and all(a > b for a, b in zip(dist, dist[1:])) and dist[-1] < 1e-6
    theta = fit_exact(advertising.X, advertising.y).params
    r = fit(advertising.X, advertising.y, kernel="gd/numpy", learning_rate=lr, epochs=100)
    assert math.isclose(np.linalg.norm(r.params - theta) / np.linalg.norm(theta), dist[2], rel_tol=1e-9)


def test_gd_nist_reports_every_problem_honestly():
    rows = accuracy.gd_nist(epochs=200)
    assert {r["problem"] for r in rows} == set(_nist_names())
    assert all(r["inputs"] in ("raw", "standardised") for r in rows)
    assert all(r["error"] is not None or (0.0 <= r["lre"] <= 15 and r["excess_loss"] >= 0) for r in rows)
    # Two hundred epochs do not solve the higher-difficulty polynomials: the table must say so.
    wampler = [r for r in rows if r["problem"] == "Wampler1" and r["error"] is None]
    assert wampler and max(r["lre"] for r in wampler) < 4


@pytest.mark.parametrize("centred", [True, False], ids=["intercept", "no-intercept"])
def test_one_feature_solve_matches_the_general_solve(centred):
    """solve_gram's scalar path for d = 1 and the array path give the same β, condition number and digits
    (to rounding: LAPACK may multiply by a reciprocal where the scalar path divides)."""
    from kernels.numerics.normal_equations import _solve_gram, _solve_gram_d1
    rng = np.random.default_rng(11)
    for trial in range(200):
        n = int(10.0 ** rng.uniform(0.5, 8))
        scale = 10.0 ** rng.uniform(-150, 150)
        g = scale * 10.0 ** rng.uniform(-5, 5)
        c = scale * rng.uniform(-1, 1) * 10.0 ** rng.uniform(-8, 3)
        yy = abs(c) * 10.0 ** rng.uniform(0, 6)
        x_mean = float(rng.standard_normal() * 10.0 ** rng.uniform(-3, 6)) if centred else None
        y_mean = float(rng.standard_normal() * 10.0 ** rng.uniform(-3, 6)) if centred else 0.0
        u_in = 2.0 ** -24 if trial % 3 == 0 else 2.0 ** -53
        kw = dict(kernel="k", u_acc=2.0 ** -53, u_input=u_in, n=n, yy=yy, y_mean=y_mean,
                  growth=None if trial % 2 else float(rng.integers(16, 4096)))
        beta, cond, digits = _solve_gram(np.array([[g]]), np.array([c]),
                                         x_mean=None if x_mean is None else np.array([x_mean]), **kw)
        beta1, cond1, digits1 = _solve_gram_d1(g, c, x_mean=x_mean, **kw)
        assert beta1.shape == (1,) and cond1 == cond == 1.0
        np.testing.assert_allclose(beta1, beta, rtol=8 * 2.0 ** -53, atol=0)
        assert digits1 == pytest.approx(digits, abs=1e-9)
