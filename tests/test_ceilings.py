"""Accuracy at the ceiling on NIST's problems and on generated ones of the same kinds (large residuals, high
degree): ols/qr within 1 digit of ols/exact's LRE, ols/numba(-parallel) too or a truthful warning; `digits`
that neither overclaims nor warns on a good answer; data at any float64 scale. Ceilings come from ols/exact
at test time."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import kernels
from benchmarks import accuracy_experiments as accuracy
from benchmarks.accuracy_experiments import lre
from kernels import REGISTRY, AccuracyWarning, KernelError, datasets, fit
from kernels.backends.exact_rational import exact_lstsq, fit_exact
from tests.helpers import fit_recorded, kernel_params, user_digits

NIST = list(datasets.nist_certified())
FAST_GENERATED = ["Wampler1~noise1e3", "Wampler1-deg10~noise1e3", "HardPoly8~noise1e3"]
SLOW_GENERATED = [g for g in accuracy.GENERATED if g not in FAST_GENERATED] + [
    "Wampler1~noise1e-2", "Longley~noise1e-2", "Pontius-deg10~noise1e0", "Norris-deg6~noise1e0", "HardPoly10"]
PROBLEMS = NIST + FAST_GENERATED + [pytest.param(g, marks=pytest.mark.slow) for g in SLOW_GENERATED]

_CACHE: dict = {}


def _problem(name: str):
    """(float64 Dataset, exact solution of the exact input, ceiling = LRE of ols/exact on the float64 input)."""
    if name not in _CACHE:
        if name in NIST:
            P, Px = datasets.load_nist(name), datasets.load_nist(name, exact=True)
        else:
            P, Px = accuracy.generated_problem(name), accuracy.generated_problem(name, exact=True)
        truth = np.array([float(v) for v in exact_lstsq(Px.X, Px.y, Px.fit_intercept)])
        ceiling = lre(_est(P, fit_exact(P.X, P.y, P.fit_intercept)), P.certified)
        _CACHE[name] = P, truth, ceiling
    return _CACHE[name]


def _est(P, r) -> np.ndarray:
    return r.params if P.fit_intercept else r.coef



@pytest.mark.parametrize("problem", PROBLEMS)
def test_qr_within_one_digit_of_the_ceiling(problem):
    P, _, ceiling = _problem(problem)
    r, _ = fit_recorded("ols/qr", P.X, P.y, P.fit_intercept)
    got = lre(_est(P, r), P.certified)
    assert got >= ceiling - 1.0, f"ols/qr on {problem}: LRE {got:.2f}, ceiling {ceiling:.2f}"


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("name", ["ols/numba", "ols/numba-parallel"])
def test_numba_within_one_digit_of_the_ceiling_or_warns(name, problem):
    P, _, ceiling = _problem(problem)
    r, warned = fit_recorded(name, P.X, P.y, P.fit_intercept)
    if r is None:
        return  # refused: an honest "cannot"
    got = lre(_est(P, r), P.certified)
    assert got >= ceiling - 1.0 or warned, f"{name} on {problem}: LRE {got:.2f}, ceiling {ceiling:.2f}, no warning"


def test_qr_refinement_iterates_where_one_step_stops_short():
    """Wampler3's residuals are large: one semi-normal step leaves ~10.6 digits, iterating reaches 15."""
    P, _, ceiling = _problem("Wampler3")
    r = fit(P.X, P.y, kernel="ols/qr")
    assert r.refined and lre(r.params, P.certified) >= ceiling - 0.5


def _cases(generated):
    """(label, X, y, fit_intercept, truth): NIST, generated problems, the condition sweeps (all families)."""
    for name in NIST + list(generated):
        P, truth, _ = _problem(name)
        yield name, P.X, P.y, P.fit_intercept, truth
    for family in accuracy.FAMILIES:
        for level in accuracy.SWEEP_LEVELS[family]:
            X, y = accuracy.sweep_problem(family, level, n=120, seed=3)
            yield f"{family}={level:g}", X, y, True, np.array([float(v) for v in exact_lstsq(X, y, True)])


def _audit(name, generated):
    """(overclaims, false warnings, fits checked) of one kernel in every dtype over _cases: `digits` above the
    correct digits, or a warning on a result with at least WARN_DIGITS correct digits."""
    overclaims, false_warnings, checked = [], [], 0
    for label, X, y, fit_intercept, truth in _cases(generated):
        for dtype in REGISTRY[name].dtypes:
            r, warned = fit_recorded(name, X, y, fit_intercept, dtype)
            if r is None:
                continue
            checked += 1
            got = user_digits(r.params if fit_intercept else r.coef, truth, X, y, fit_intercept)
            if max(r.digits, 0.0) > max(got, 0.0) and got < 14.5:
                overclaims.append(f"{label}/{dtype}: digits {r.digits:.2f} > {got:.2f}")
            if warned and got >= kernels.WARN_DIGITS:
                false_warnings.append((label, dtype, r.digits, got))
    return overclaims, false_warnings, checked


def _said(false_warnings) -> list[str]:
    return [f"{label}/{dtype}: warned at {claimed:.2f}, {got:.2f} correct" for label, dtype, claimed, got in
            false_warnings]


@pytest.mark.parametrize("name", kernel_params("ols"))
def test_digits_are_right_both_ways_on_generated_problems(name):
    """`digits` <= the correct digits by the user's measure (relative error per parameter; one below 1e-6 of
    its data scale judged absolutely against that scale), and no warning on a result with >= WARN_DIGITS
    correct digits, on NIST, the fast generated problems and every sweep family including large residuals,
    in every dtype the kernel takes."""
    overclaims, false_warnings, checked = _audit(name, FAST_GENERATED)
    assert checked > 0
    assert not overclaims, f"{name} claimed more digits than it delivered: {overclaims}"
    assert not false_warnings, f"{name} warned on good answers: {_said(false_warnings)}"


@pytest.mark.slow
@pytest.mark.parametrize("name", kernel_params("ols"))
def test_digits_are_right_both_ways_on_every_generated_problem(name):
    overclaims, false_warnings, checked = _audit(name, SLOW_GENERATED)
    assert checked > 0 and not overclaims, f"{name} claimed more digits than it delivered: {overclaims}"
    assert not false_warnings, f"{name} warned on good answers: {_said(false_warnings)}"


@pytest.mark.parametrize("name", kernel_params("ols", reference=False, dtype="float64"))
def test_a_zero_intercept_does_not_warn(name):
    """y = X·(0.5, 1) exactly: the intercept is 0 and comes back as ~1e-17; judged against y's scale that is
    every digit, so no warning (it used to say 0.0 digits)."""
    X = np.random.default_rng(4).standard_normal((60, 2))
    y = X @ np.array([0.5, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        r = fit(X, y, kernel=name)
    truth = np.array([float(v) for v in exact_lstsq(X, y, True)])
    assert user_digits(r.params, truth, X, y, True) >= r.digits >= kernels.WARN_DIGITS


def test_numba_float32_vouches_for_its_float64_accumulation():
    """ols/numba's float32 path accumulates in float64: on well-conditioned data it does not warn."""
    ds = datasets.make_regression(20_000, 3, seed=1, cache=False)
    truth = fit(ds.X, ds.y, kernel="ols/qr").params
    for name in ("ols/numba", "ols/numba-parallel"):
        r, warned = fit_recorded(name, ds.X, ds.y, True, "float32")
        assert not warned and r.digits <= user_digits(r.params, truth, ds.X, ds.y, True), (name, r.digits)


@pytest.mark.parametrize("scale", [1e-300, 1e300, 1e-310], ids=["1e-300", "1e300", "subnormal"])
@pytest.mark.parametrize("name", kernel_params("ols", reference=False, dtype="float64"))
def test_any_float64_scale_is_fitted(name, scale):
    """Values anywhere in float64's range: fitted (fit() rescales by powers of two, exactly) to the exact
    solution of the data as given; no "zero variance" for a column that varies."""
    rng = np.random.default_rng(2)
    X0 = rng.standard_normal((40, 2))
    X, y = X0 * scale, (1.0 + X0 @ np.array([0.5, 1.0]) + 0.1 * rng.standard_normal(40)) * scale
    truth = np.array([float(v) for v in exact_lstsq(X, y, True)])
    r = fit(X, y, kernel=name)
    assert lre(r.params, truth) >= 12, (name, r.params, truth)


def test_coefficients_beyond_float64_are_refused_with_the_reason():
    rng = np.random.default_rng(2)
    X0 = rng.standard_normal((40, 2))
    X, y = X0 * 1e-300, (1.0 + X0 @ np.array([0.5, 1.0])) * 1e300
    for name in ("ols/numpy", "ols/qr", "ols/exact"):
        with pytest.raises(KernelError, match="beyond float64's range"):
            fit(X, y, kernel=name)


def test_generated_problems_have_large_residuals_and_exact_ceilings():
    """The generated problems are what they say: residuals far above the signal, ceilings from ols/exact."""
    P, truth, ceiling = _problem("Wampler1~noise1e3")
    signal = datasets.load_nist("Wampler1").y  # the noise-free model's values on the same design
    assert np.std(P.y - (P.X @ truth[1:] + truth[0])) > 100 * np.std(signal)
    assert ceiling >= 14 and math.isfinite(lre(truth, P.certified))
    rows = accuracy.condition_sweep(kernels=["ols/qr"], families=("residual",), n=100, levels={"residual": (1e3,)})
    assert rows and rows[0]["lre"] >= 13


def test_the_report_reads_the_generated_problems_beside_nist():
    """run_record asks nist_ceilings(synthetic=False): the generated problems are in it, with their ceilings."""
    c = accuracy.nist_ceilings(synthetic=False)
    assert set(NIST) | set(accuracy.GENERATED) == set(c)
    for name in FAST_GENERATED:
        assert c[name]["float64"] == pytest.approx(_problem(name)[2], abs=1e-12)


@pytest.mark.parametrize("name", ["ols/numba", "ols/numba-parallel"])
def test_co_moment_kernels_say_what_they_vouch_for_on_input_exact_as_given(name):
    """Where their own bound is low (a 1e8 offset: the input's rounding would cost digits), the co-moment kernels
    also give the bound for input exact as given; it is sound against the exact answer of these binary numbers,
    and it is what fit() reports for them (no warning)."""
    rng = np.random.default_rng(21)
    X = 1e8 + rng.standard_normal((400, 2))
    y = 0.5 + X @ np.array([1.0, -2.0]) + 1e-4 * rng.standard_normal(400)
    truth = np.array([float(v) for v in exact_lstsq(X, y, True)])
    k, o = REGISTRY[name], kernels.Options()
    own = k.solve(k.prepare(X, y, o), True, o)
    assert own.digits < kernels.WARN_DIGITS and own.digits_as_given is not None
    assert own.digits <= own.digits_as_given <= user_digits(own.params, truth, X, y, True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        r = fit(X, y, kernel=name)
    assert kernels.WARN_DIGITS <= r.digits <= user_digits(r.params, truth, X, y, True)
