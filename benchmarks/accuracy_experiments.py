"""Accuracy measures for the report and the benchmarks: LRE against certified values, the ceiling no float64
solver can pass, every OLS kernel on every NIST problem, accuracy against condition number, and gradient
descent's distance from the least-squares solution. Each function takes seconds.

    lre(estimate, certified) -> float
        digits of agreement of the worst coefficient, in [0, 15].
    hard_polynomial(degree=10, n=82, seed=0, exact=False, noise=0.003) -> Dataset
        a synthetic problem of the kind of NIST's hardest (Filip): a polynomial (degree <= 10) on x in
        [-8.8, -3.1], from decimal text; `certified` is the exact least-squares solution of the decimal data.
    generated_problem(name, exact=False, seed=0) -> Dataset;  GENERATED: the names in the tables
        NIST's visible designs with residuals 1e3 times the signal's spread, a design to degree 10, and
        Filip-like polynomials of degree 6 to 10; certified = the exact solution of the decimal data.
    nist_ceilings(synthetic=True, generated=True) -> {problem: {"float64": LRE, "exact": LRE, "difficulty": str}}
        LRE of the exact least-squares solution of the float64 input (the ceiling of any float64 kernel) and
        of the exact input (decimal text read exactly, powers formed exactly); synthetic: also HardPoly10;
        generated: also the GENERATED problems (difficulty "generated").
    nist_table(kernels=None, synthetic=True, generated=True) -> list of rows
        {"problem", "kernel", "lre", "digits", "warned", "error", "ceiling"} for every OLS kernel x problem
        (float64 input); ols/exact also from the exact input, as kernel "ols/exact (exact input)".
    condition_sweep(kernels=None, families=FAMILIES, n=200, seed=0, levels=None) -> list of rows
        {"family", "level", "cond", "kernel", "dtype", "lre", "digits", "warned", "error"}: LRE against the
        exact solution of each seeded synthetic problem (offset features, near-collinear columns, polynomial
        degree, large residuals; levels default to SWEEP_LEVELS), for every OLS kernel and dtype it supports.
    sweep_problem(family, level, n=200, seed=0) -> (X, y);  condition_number(X, fit_intercept=True) -> float
        one problem of a sweep; the 2-norm condition number of the column-scaled [1, X].
    largest_stable_learning_rate(X=None, y=None, fit_intercept=True) -> dict
        1/λmax(AᵀA/n) for the tutorial's scaled Advertising data (or X, y), checked by running gd/numpy just
        below it (converges) and just above it (diverges), with the explanation.
    gd_distance_curves(kernels=None, learning_rates=None, epochs=(0, 1, 2, 5, ..., 1000)) -> list of rows
        {"kernel", "learning_rate", "epoch", "distance"}: ‖θ_k - θ_OLS‖ / ‖θ_OLS‖ after k epochs of each
        full-batch gd backend on the tutorial's data, θ = (intercept, slope).
    gd_nist(kernel="gd/numpy", epochs=10_000) -> list of rows
        {"problem", "inputs", "learning_rate", "epochs", "lre", "excess_loss", "error"}: how far gradient
        descent gets on each NIST problem in a fixed budget, on the raw and on the standardised columns;
        excess_loss = (MSE - MSE_OLS) / mean((y - ȳ)²), the share of y's variance still unexplained by gd.
"""
from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np

from kernels import REGISTRY, AccuracyWarning, DivergenceError, KernelError, fit
from kernels.backends.exact_rational import exact_lstsq, fit_exact
from kernels.datasets import Dataset, load_advertising, load_nist, make_regression, nist_problems
from kernels.numerics.iterative import max_stable_learning_rate

MAX_LRE = 15.0  # NIST's convention: agreement beyond ~15 digits is not resolvable in float64
FAMILIES = ("offset", "collinear", "degree", "residual")
SYNTHETIC = "HardPoly10 (synthetic)"
# Learning rates for the distance curves, as fractions of the largest stable one (1/λmax).
LR_FRACTIONS = (0.1, 0.5, 0.9, 0.99)
CHECKPOINTS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

# Coefficients of the synthetic hard polynomial: of the size and alternation of NIST Filip's certified ones.
_HARD_COEF = (-1467.4896, -2772.1796, -2316.3711, -1127.9739, -354.47823, -75.124202, -10.875318, -1.0622150,
              -0.067019115, -0.0024678108, -4.0296253e-05)


def lre(estimate, certified) -> float:
    """Worst-coefficient log relative error: digits of `estimate` agreeing with `certified`, in [0, 15].

    LRE = -log10(|e - c| / |c|), or -log10(|e - c|) where c == 0; clipped to [0, MAX_LRE].
    """
    e = np.asarray(estimate, dtype=np.float64).ravel()
    c = np.asarray(certified, dtype=np.float64).ravel()
    if e.shape != c.shape:
        raise ValueError(f"estimate has {e.size} values, certified has {c.size}")
    worst = MAX_LRE
    for ei, ci in zip(e, c):
        if not math.isfinite(ei):
            return 0.0
        err = abs(ei - ci) / (abs(ci) if ci != 0 else 1.0)
        worst = min(worst, MAX_LRE if err == 0 else -math.log10(err))
    return max(0.0, min(MAX_LRE, worst))


def hard_polynomial(degree: int = 10, n: int = 82, seed: int = 0, exact: bool = False, noise: float = 0.003):
    """A Filip-like problem: y = a polynomial of `degree` (<= 10) in x + noise, as decimal text (10 and 5 digits).

    exact=False: X = powers of x formed in float64 (what float64 kernels see); exact=True: object arrays of
    Fractions, powers formed exactly. noise: its standard deviation (absolute). certified: the exact solution
    of the decimal data, rounded once. O(n d²).
    """
    rng = np.random.default_rng(seed)
    x = -(3.1 + 5.7 * rng.random(n))
    x_text = [f"{v:.9e}" for v in x]
    y_value = np.polyval(_HARD_COEF[degree::-1], x) + noise * rng.standard_normal(n)
    y_text = [f"{v:.4e}" for v in y_value]
    xe = [Fraction(t) for t in x_text]
    Xe = np.array([[xi ** k for k in range(1, degree + 1)] for xi in xe], dtype=object)
    xf = np.array([float(t) for t in x_text])
    X = np.column_stack([xf ** k for k in range(1, degree + 1)])
    meta = {"degree": degree, "intercept": True, "difficulty": "higher (synthetic)", "n": n, "seed": seed,
            "model": f"polynomial in x of degree {degree} (synthetic, Filip-like)"}
    name = SYNTHETIC if (degree, noise) == (10, 0.003) else f"HardPoly{degree}" + (
        "" if noise == 0.003 else f"~noise{noise:.0e}")
    return _decimal_problem(name, X, Xe, y_text, True, meta, exact)


def _decimal_problem(name, X, Xe, y_text, fit_intercept: bool, meta: dict, exact: bool) -> Dataset:
    """A Dataset whose y is decimal text: certified = the exact solution of (Xe, y as written), rounded once."""
    ye = np.array([Fraction(t) for t in y_text], dtype=object)
    certified = np.array([float(b) for b in exact_lstsq(Xe, ye, fit_intercept)])
    names = tuple(f"x{j + 1}" for j in range(X.shape[1]))
    if exact:
        return Dataset(name, Xe, ye, names, fit_intercept=fit_intercept, certified=certified, meta=meta)
    return Dataset(name, X, np.array([float(t) for t in y_text]), names, fit_intercept=fit_intercept,
                   certified=certified, meta=meta)


# Generated problems beside NIST's: its visible designs with residuals far larger than the signal's spread,
# and Filip-like polynomials of several degrees. (design, degree or None, noise relative to the signal's spread)
NOISE = 1e3
GENERATED = tuple(f"{d}~noise1e3" for d in ("Norris", "Pontius", "NoInt1", "NoInt2", "Longley", "Wampler1")) + (
    "Wampler1-deg10~noise1e3", "HardPoly6", "HardPoly8", "HardPoly6~noise1e3", "HardPoly8~noise1e3",
    "HardPoly10~noise1e3")


def generated_problem(name: str, exact: bool = False, seed: int = 0) -> Dataset:
    """One of GENERATED (or any "<NIST design>[-deg<k>]~noise<level>", "HardPoly<k>[~noise<level>]"), seeded.

    A NIST design keeps its X (degree k: powers 1..k of its x); y = the certified model on that X + level x
    the spread of the model's values x N(0, 1), written with 13 significant digits. O(n p²) exact work.
    """
    base, _, noise = name.partition("~noise")
    level = float(noise) if noise else 0.0
    if base.startswith("HardPoly"):
        degree = int(base[len("HardPoly"):])
        spread = 1.0
        if level:  # the polynomial's own spread over the design, so the noise is `level` times the signal
            spread = float(np.std(np.polyval(_HARD_COEF[degree::-1], -(3.1 + 5.7 * np.linspace(0, 1, 82)))))
        ds = hard_polynomial(degree, seed=seed, exact=exact, noise=level * spread if level else 0.003)
        ds.name = name
        return ds
    design, _, deg = base.partition("-deg")
    Pe, Pf = load_nist(design, exact=True), load_nist(design)
    Xe, X = Pe.X, Pf.X
    beta = [Fraction(b) for b in Pe.meta["beta"]]
    if deg:  # the design's x to a higher degree: the same x values, more powers (exact and in float64)
        k = int(deg)
        Xe = np.array([[r[0] ** j for j in range(1, k + 1)] for r in Pe.X.tolist()], dtype=object)
        X = np.column_stack([Pf.X[:, 0] ** j for j in range(1, k + 1)])
        beta = beta + [Fraction(0)] * (k + int(Pe.fit_intercept) - len(beta))
    b0, bs = (beta[0], beta[1:]) if Pe.fit_intercept else (Fraction(0), beta)
    signal = np.array([float(b0 + sum((v * b for v, b in zip(r, bs)), Fraction(0))) for r in Xe.tolist()])
    spread = float(np.std(signal)) if Pe.fit_intercept else float(np.sqrt(np.mean(signal ** 2)))
    z = np.random.default_rng(seed).standard_normal(len(signal))
    y_text = [f"{v:.12e}" for v in signal + level * spread * z]
    meta = {**Pe.meta, "difficulty": "generated", "model": f"{Pe.meta['model']}; noise {level:g} x the signal"}
    return _decimal_problem(name, X, Xe, y_text, Pe.fit_intercept, meta, exact)


def _problems(synthetic: bool, generated: bool = True):
    """(name, float64 Dataset, exact Dataset) for every NIST problem present, then (synthetic) the Filip-like
    one, then (generated) the GENERATED problems (those on a NIST design only where its file is present)."""
    present = list(nist_problems())
    for name in present:
        yield name, load_nist(name), load_nist(name, exact=True)
    if synthetic:
        yield SYNTHETIC, hard_polynomial(), hard_polynomial(exact=True)
    if generated:
        for name in GENERATED:
            if name.startswith("HardPoly") or name.split("~")[0].split("-deg")[0] in present:
                yield name, generated_problem(name), generated_problem(name, exact=True)


def _estimate(ds, result) -> np.ndarray:
    return result.params if ds.fit_intercept else result.coef


def nist_ceilings(synthetic: bool = True, generated: bool = True) -> dict[str, dict]:
    """Per problem: LRE of the exact solution of the float64 input and of the exact input; O(n d²) each."""

    out = {}
    for name, ds, dx in _problems(synthetic, generated):
        out[name] = {
            "float64": lre(_estimate(ds, fit_exact(ds.X, ds.y, ds.fit_intercept)), ds.certified),
            "exact": lre(_estimate(dx, fit_exact(dx.X, dx.y, dx.fit_intercept)), dx.certified),
            "difficulty": ds.meta.get("difficulty", ""),
        }
    return out


def _ols_kernels(kernels) -> list[str]:

    if kernels is None:
        return sorted(k for k, v in REGISTRY.items() if v.algorithm == "ols")
    return list(kernels)


def _run(name: str, X, y, fit_intercept: bool, **options) -> tuple:
    """(result or None, warned, error message or None) of one fit, AccuracyWarnings recorded, not shown."""

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AccuracyWarning)
        try:
            result = fit(X, y, kernel=name, fit_intercept=fit_intercept, **options)
        except KernelError as exc:
            return None, False, f"{type(exc).__name__}: {exc}"
    return result, any(issubclass(w.category, AccuracyWarning) for w in caught), None


def nist_table(kernels=None, synthetic: bool = True, generated: bool = True) -> list[dict]:
    """LRE, digits estimate and warning of every OLS kernel on every problem; O(kernels x problems) fits."""

    rows = []
    ceilings = nist_ceilings(synthetic, generated)
    for name, ds, dx in _problems(synthetic, generated):
        for k in _ols_kernels(kernels):
            r, warned, err = _run(k, ds.X, ds.y, ds.fit_intercept)
            rows.append({"problem": name, "kernel": k,
                         "lre": None if r is None else lre(_estimate(ds, r), ds.certified),
                         "digits": None if r is None else r.digits, "warned": warned, "error": err,
                         "ceiling": ceilings[name]["float64"]})
        r = fit_exact(dx.X, dx.y, dx.fit_intercept)
        rows.append({"problem": name, "kernel": "ols/exact (exact input)", "lre": lre(_estimate(dx, r), dx.certified),
                     "digits": r.digits, "warned": False, "error": None, "ceiling": ceilings[name]["exact"]})
    return rows


def sweep_problem(family: str, level: float, n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One seeded synthetic problem of a family: (X (n, d), y).

    offset: 3 standard-normal features + level; collinear: 3 features with correlation 1 - level (level =
    10^-k); degree: powers 1..level of x uniform on [1, 2] (monomials grow nearly collinear with degree);
    residual: Wampler's design (x..x^5, x uniform on [0, 20]), y = 1 + x + ... + x^5 + noise of level times
    the signal's spread (large residuals: what one refinement step of the solution alone cannot remove).
    """

    if family == "offset":
        ds = make_regression(n, 3, offset=float(level), seed=seed, cache=False)
        return ds.X, ds.y
    if family == "collinear":
        ds = make_regression(n, 3, collinearity=math.sqrt(1.0 - float(level)), seed=seed, cache=False)
        return ds.X, ds.y
    if family == "degree":
        rng = np.random.default_rng(seed)
        x = 1.0 + rng.random(n)
        X = np.column_stack([x ** k for k in range(1, int(level) + 1)])
        y = np.sin(3.0 * x) + 0.01 * rng.standard_normal(n)
        return X, y
    if family == "residual":
        rng = np.random.default_rng(seed)
        x = np.sort(20.0 * rng.random(n))
        X = np.column_stack([x ** k for k in range(1, 6)])
        signal = 1.0 + X.sum(axis=1)
        y = signal + float(level) * float(np.std(signal)) * rng.standard_normal(n)
        return X, y
    raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")


SWEEP_LEVELS = {
    "offset": (0.0, 1e2, 1e4, 1e6, 1e8),
    "collinear": (1e-2, 1e-4, 1e-6, 1e-8, 1e-10),
    "degree": (2, 4, 6, 8, 10),
    "residual": (1e-6, 1e-3, 1.0, 1e3, 1e6),
}


def condition_number(X: np.ndarray, fit_intercept: bool = True) -> float:
    """2-norm condition number of the column-scaled design [1, X] (what an uncentred solver faces), O(n d²)."""
    A = np.hstack([np.ones((X.shape[0], 1)), X]) if fit_intercept else X
    sv = np.linalg.svd(A / np.linalg.norm(A, axis=0), compute_uv=False)
    return float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf


def condition_sweep(kernels=None, families=FAMILIES, n: int = 200, seed: int = 0,
                    levels: dict | None = None) -> list[dict]:
    """LRE against the exact solution, per family level, kernel and dtype; O(levels x kernels) small fits."""

    rows = []
    for family in families:
        for level in (levels or SWEEP_LEVELS)[family]:
            X, y = sweep_problem(family, level, n=n, seed=seed)
            truth = np.array([float(b) for b in exact_lstsq(X, y, True)])
            cond = condition_number(X)
            for k in _ols_kernels(kernels):
                for dtype in REGISTRY[k].dtypes:
                    r, warned, err = _run(k, X, y, True, dtype=dtype)
                    rows.append({"family": family, "level": level, "cond": cond, "kernel": k, "dtype": dtype,
                                 "lre": None if r is None else lre(r.params, truth),
                                 "digits": None if r is None else r.digits, "warned": warned, "error": err})
    return rows


def largest_stable_learning_rate(X=None, y=None, fit_intercept: bool = True, epochs: int = 2000) -> dict:
    """1/λmax(AᵀA/n) and a check: gd/numpy converges at 0.99 times it and diverges at 1.01 times it.

    The MSE's Hessian is 2AᵀA/n (A = [1, X]); along its top eigenvector a gradient step multiplies the error
    by 1 - 2·lr·λmax, which has modulus below 1 exactly when lr < 1/λmax.
    """

    if X is None:
        ds = load_advertising(scaled=True)
        X, y = ds.X, ds.y
    elif y is None:
        raise ValueError("largest_stable_learning_rate: pass y with X (or neither, for the tutorial's data)")
    lr = max_stable_learning_rate(X, fit_intercept)
    outcome = {}
    for factor in (0.99, 1.01):
        try:
            r = fit(X, y, kernel="gd/numpy", fit_intercept=fit_intercept, learning_rate=factor * lr, epochs=epochs)
            outcome[factor] = f"converges (loss {r.loss_history[0]:.3g} -> {r.loss_history[-1]:.3g})"
        except DivergenceError:
            outcome[factor] = "diverges"
    return {"learning_rate": lr, "lambda_max": 1.0 / lr, "at_0.99": outcome[0.99], "at_1.01": outcome[1.01],
            "explanation": "the loss is the MSE, whose Hessian is 2AᵀA/n (A = [1, X]); a gradient step multiplies "
                           "the error along the top eigenvector by 1 - 2·lr·λmax, so the iteration converges "
                           "exactly when lr < 1/λmax(AᵀA/n)"}


def gd_distance_curves(kernels=None, learning_rates=None, epochs=CHECKPOINTS) -> list[dict]:
    """‖θ_k - θ_OLS‖ / ‖θ_OLS‖ at each checkpoint k for every full-batch gd kernel and learning rate.

    Full-batch gd is deterministic, so each checkpoint is an independent fit of k epochs from zero;
    learning rates default to LR_FRACTIONS of the largest stable one. O(Σ checkpoints) epochs per curve.
    """

    ds = load_advertising(scaled=True)
    theta = fit_exact(ds.X, ds.y).params
    if learning_rates is None:
        top = max_stable_learning_rate(ds.X, True)
        learning_rates = [f * top for f in LR_FRACTIONS]
    names = sorted(k for k, v in REGISTRY.items() if v.algorithm == "gd") if kernels is None else list(kernels)
    rows = []
    for k in names:
        for lr in learning_rates:
            for e in epochs:
                if e == 0:
                    dist = 1.0  # the start, θ = 0
                else:
                    r, _, err = _run(k, ds.X, ds.y, True, learning_rate=float(lr), epochs=int(e))
                    if r is None:
                        rows.append({"kernel": k, "learning_rate": lr, "epoch": e, "distance": None, "error": err})
                        break
                    dist = float(np.linalg.norm(r.params - theta) / np.linalg.norm(theta))
                rows.append({"kernel": k, "learning_rate": lr, "epoch": e, "distance": dist, "error": None})
    return rows


def gd_nist(kernel: str = "gd/numpy", epochs: int = 10_000, fraction: float = 0.99) -> list[dict]:
    """gd at fraction/λmax for a fixed number of epochs on each NIST problem, raw and standardised columns.

    Standardised: (X - mean) / std, fitted, mapped back to the original coefficients. The excess loss is
    (MSE - MSE_OLS) / mean((y - ȳ)²); LRE is against the certified values. O(epochs n d) per problem.
    """

    rows = []
    for name in nist_problems():
        ds = load_nist(name)
        best = fit_exact(ds.X, ds.y, ds.fit_intercept)
        mse_best = float(np.mean((ds.X @ best.coef + best.intercept - ds.y) ** 2))
        spread = float(np.mean((ds.y - (ds.y.mean() if ds.fit_intercept else 0.0)) ** 2))
        for inputs in ("raw", "standardised"):
            X = ds.X
            if inputs == "standardised":
                mu = ds.X.mean(axis=0) if ds.fit_intercept else np.zeros(ds.X.shape[1])
                sd = ds.X.std(axis=0) if ds.fit_intercept else np.sqrt((ds.X ** 2).mean(axis=0))
                X = (ds.X - mu) / sd
            lr = fraction * max_stable_learning_rate(X, ds.fit_intercept)
            row = {"problem": name, "inputs": inputs, "learning_rate": lr, "epochs": epochs}
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r = fit(X, ds.y, kernel=kernel, fit_intercept=ds.fit_intercept, learning_rate=lr, epochs=epochs)
            except KernelError as exc:
                rows.append({**row, "lre": None, "excess_loss": None, "error": f"{type(exc).__name__}: {exc}"})
                continue
            coef, intercept = r.coef, r.intercept
            if inputs == "standardised":
                coef = coef / sd
                intercept = intercept - float(mu @ coef)
            est = np.concatenate([[intercept], coef]) if ds.fit_intercept else coef
            mse = float(np.mean((ds.X @ coef + intercept - ds.y) ** 2))
            # Rounding in the two MSEs can make a converged run's excess slightly negative: clipped at 0.
            rows.append({**row, "lre": lre(est, ds.certified), "excess_loss": max(mse - mse_best, 0.0) / spread,
                         "error": None})
    return rows
