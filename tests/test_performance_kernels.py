"""The fast kernels: same answers as the plain ones, no hidden temporaries, threads, caching, CUDA."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import kernels
from benchmarks.accuracy_experiments import condition_number
from benchmarks.floors import read_once
from kernels import REGISTRY, fit, threads
from kernels.backends.numba_jit import comoments as nb_comoments
from kernels.backends.numba_jit import gd_first_epoch as nb_gd_first
from kernels.backends.numba_jit import gd_rows as nb_gd
from kernels.backends.numba_jit.blas_products import (
    WIDE_FROM,
    blas_info,
    dsyrk,
    one_blas_thread,
    shift_buffer,
    shifted_block_blas,
)
from kernels.backends.numba_jit.block_products import shifted_block, transpose_buffer
from kernels.backends.numba_jit.settings import BLOCK
from kernels.errors import DivergenceError, InputError
from tests.helpers import random_problem, tolerance

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST_OLS = ["ols/numba", "ols/numba-parallel"]


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# --- the read floor --------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_floor_reads_every_value(d, dtype):
    rng = np.random.default_rng(d)
    n = 3 * 2048 + 17  # bands and blocks that do not divide n
    X, y = rng.random((n, d)).astype(dtype), rng.random(n).astype(dtype)
    expected = X.astype(np.float64).sum() + y.astype(np.float64).sum()
    rel = 1e-12 if dtype == "float64" else 1e-6  # float32 pairs may be added in float32: a checksum only
    for parts in (1, 2, 5):
        assert read_once(X, y, threads=parts) == pytest.approx(expected, rel=rel)


# --- OLS: the one-pass co-moments -------------------------------------------------------------------

def _exact_comoments(X, y):
    Z = np.column_stack([X, y]).astype(np.float64)
    mean = Z.mean(axis=0)
    Zc = Z - mean
    return mean, Zc.T @ Zc


@pytest.mark.parametrize("case", ["iid", "offset", "sorted"])
@pytest.mark.parametrize("d", [1, 4, 7, 12])
def test_comoments_match_two_pass_centring(case, d):
    """One pass with block shifts and Chan merges == centring by the exact mean, for any band split."""
    rng = np.random.default_rng(7)
    n = 5 * BLOCK + 123
    X = rng.standard_normal((n, d))
    if case == "offset":
        X += 1e6  # raw sums of squares would lose every digit here
    if case == "sorted":
        X = np.sort(X * 100.0, axis=0)  # a trend: every block's mean drifts from the last
    y = X @ np.arange(1.0, d + 1) + rng.standard_normal(n)
    mean0, M0 = _exact_comoments(X, y)
    spread = np.sqrt(np.diag(M0) / n)
    scale = np.outer(spread, spread) * n
    # errors measured against the data's spread: what the fit inherits (a mean near 0 has no digits of its own)
    for parallel in (False, True):
        mean, M = nb_comoments.comoments(X, y, parallel=parallel)
        M = np.tril(M) + np.tril(M, -1).T
        assert np.max(np.abs(mean - mean0) / (np.abs(mean0) + spread)) < 1e-13
        assert np.max(np.abs(M - M0) / scale) < 1e-12
    if d == 1:
        for parts in (1, 3, 8):  # the band count changes the summation order only
            mean, M = nb_comoments._comoments_d1_parallel(X.reshape(-1), y, parts)
            assert np.max(np.abs(mean - mean0) / (np.abs(mean0) + spread)) < 1e-13
            got = np.array([[M[0, 0], M[1, 0]], [M[1, 0], M[1, 1]]])
            assert np.max(np.abs(got - M0) / scale) < 1e-12


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("d", [12, 37])
def test_wide_data_match_numpy(fit_intercept, d):
    """The transposed-block products (d = 12: 2 x 4 tiles and their remainders) and the dsyrk ones (d = 37, an
    even d + 1) on wide data whose rows neither the blocks nor the bands divide."""
    X, y = random_problem(3 * BLOCK + 77, d, seed=3)
    if fit_intercept:
        X += 50.0  # an offset the shifts must remove (without an intercept it would only make XᵀX ill-posed)
    ref = fit(X, y, kernel="ols/numpy", fit_intercept=fit_intercept)
    tol = tolerance(dtype="float64", cond=condition_number(X, fit_intercept) ** 2, scale=np.abs(ref.params).max())
    for name in FAST_OLS:
        r = fit(X, y, kernel=name, fit_intercept=fit_intercept)
        np.testing.assert_allclose(r.params, ref.params, **tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("d", [1, 2, 9, WIDE_FROM + 3])
def test_raw_moments_match_the_exact_products(dtype, d):
    """No intercept: [X y]ᵀ[X y] summed in float64 (float32 input too) for any band count, by dot products or
    (wide) by dsyrk."""
    rng = np.random.default_rng(d)
    n = 2 * 4096 + 333
    X, y = rng.standard_normal((n, d)).astype(dtype), rng.standard_normal(n).astype(dtype)
    Z = np.column_stack([X, y]).astype(np.float64)
    exact = Z.T @ Z
    for parts in (1, 2, 5):
        M = nb_comoments._raw_moments(X, y, parts, dsyrk())
        M = np.tril(M) + np.tril(M, -1).T
        assert np.max(np.abs(M - exact)) / np.max(np.abs(exact)) < 1e-13


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("d", [WIDE_FROM - 1, WIDE_FROM, 61])
def test_blas_block_products_match_the_dot_products(dtype, d):
    """A block's shifted sums and products two ways, dsyrk on an L2 buffer and the transposed-block dot products,
    on offset rows that neither buffer divides: the same to rounding, and SS's upper triangle left alone."""
    rng = np.random.default_rng(d)
    n = 1_000 + 13
    X, y = (1e3 + rng.standard_normal((n, d))).astype(dtype), (5.0 + rng.standard_normal(n)).astype(dtype)
    p = d + 1
    K = np.concatenate([X[:7].mean(axis=0), [y[:7].mean()]]).astype(np.float64)
    S1, SS1, S2, SS2 = np.empty(p), np.empty((p, p)), np.empty(p), np.empty((p, p))
    shifted_block(X, y, 5, n, K, S1, SS1, transpose_buffer(p))
    shifted_block_blas(X, y, 5, n, K, S2, SS2, shift_buffer(p), dsyrk())
    Z = np.column_stack([X[5:], y[5:]]).astype(np.float64) - K
    exact = np.tril(Z.T @ Z)
    for S, SS in ((S1, SS1), (S2, SS2)):
        assert _rel(S, Z.sum(axis=0)) < 1e-12
        assert _rel(SS, exact) < 1e-13 and not np.any(np.triu(SS, 1))


def test_one_blas_thread_restores_the_count():
    """The wide co-moments run dsyrk at one BLAS thread under numba's bands, then give the count back."""
    libs = blas_info()
    assert libs and all("blas" == lib["user_api"] for lib in libs)
    before = [lib["num_threads"] for lib in libs]
    with one_blas_thread(WIDE_FROM):
        assert all(lib["num_threads"] == 1 for lib in blas_info())
    assert [lib["num_threads"] for lib in blas_info()] == before


def test_nist_lre_of_fast_kernels_not_below_numpy():
    """NIST StRD: the one-pass kernels' log relative errors never fall below ols/numpy's.

    On their own, the one-pass co-moments and ols/numpy's centred BLAS products are both accurate to about an
    ulp, and which lands closer to the certified values is rounding luck (Norris: 12.4 against 13.3 digits).
    The problems that amplify rounding (an intercept far below the means, an ill-conditioned XᵀX) take the
    refinement pass, which lifts them to the ceiling of the float64 input; the others are compared as they are.
    """
    import warnings

    from benchmarks.accuracy_experiments import lre
    from kernels import datasets
    worse, refined = [], set()
    for name in datasets.nist_problems():
        ds = datasets.load_nist(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base = fit(ds.X, ds.y, kernel="ols/numpy", fit_intercept=ds.fit_intercept)
            base_lre = lre(base.params if ds.fit_intercept else base.coef, ds.certified)
            for k in FAST_OLS:
                r = fit(ds.X, ds.y, kernel=k, fit_intercept=ds.fit_intercept)
                got = lre(r.params if ds.fit_intercept else r.coef, ds.certified)
                if r.refined:
                    refined.add(name)
                if got < base_lre:
                    worse.append((name, k, round(got, 2), round(base_lre, 2)))
    assert not worse, worse
    assert {"Norris", "Longley", "Wampler1", "Wampler2"} <= refined  # the four where luck favoured numpy


@pytest.mark.parametrize("kernel", FAST_OLS)
def test_refinement_recovers_a_tiny_intercept_under_a_large_offset(kernel):
    """y = 1e-3 + x with x around 1e6: ȳ - x̄·β cancels nine digits. The refined intercept keeps them (the
    one-pass intercept here is off by about 1e-11 of itself; refined, by a few units of roundoff)."""
    rng = np.random.default_rng(3)
    x = 1e6 + rng.standard_normal(3000)
    y = 1e-3 + x + 1e-3 * rng.standard_normal(3000)
    X = x[:, None]
    with warnings.catch_warnings():  # numbers computed in binary are exact as given: the refined answer is
        warnings.simplefilter("error", kernels.AccuracyWarning)  # their exact one, and no kernel warns
        exact = fit(X, y, kernel="ols/exact")
        r = fit(X, y, kernel=kernel)
    assert r.refined and r.digits >= kernels.WARN_DIGITS
    assert abs(r.intercept - exact.intercept) <= 1e-14 * abs(exact.intercept)
    assert abs(r.coef[0] - exact.coef[0]) <= 1e-14


@pytest.mark.parametrize("kernel", FAST_OLS)
@pytest.mark.parametrize("d", [8, WIDE_FROM])
def test_refinement_at_wide_d(kernel, d):
    """d = 8 (the tiled transposed-block products, 2 x 4 tiles and a remainder) and d = WIDE_FROM (the blocks'
    products by dsyrk): features around 1e6, intercept 1e-3."""
    rng = np.random.default_rng(4)
    X = 1e6 + rng.standard_normal((4000, d))
    y = 1e-3 + X @ np.linspace(0.5, 1.5, d) + 1e-3 * rng.standard_normal(4000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kernels.AccuracyWarning)
        exact = fit(X, y, kernel="ols/exact")
        r = fit(X, y, kernel=kernel)
    assert r.refined
    assert abs(r.intercept - exact.intercept) <= 1e-12 * abs(exact.intercept)
    np.testing.assert_allclose(r.coef, exact.coef, rtol=1e-14)


@pytest.mark.parametrize("kernel", FAST_OLS)
def test_no_refinement_pass_on_well_posed_data(kernel):
    """The benchmark data (intercept 1, centred features): one pass, as timed."""
    from benchmarks.common import data
    for d in (1, 10):
        X, y = data(20_000, d)
        assert fit(X, y, kernel=kernel).refined is False


def test_d1_loops_are_vectorised():
    """The d = 1 inner loops must compile to packed (SIMD) arithmetic, or they fall to ~2x the floor."""
    x = np.ones(10)
    for fn, args in ((nb_comoments._shifted_sums_d1, (x, x, 0, 10, 0.0, 0.0)),
                     (nb_gd.gd_band_d1, (x, x, 0.0, 1.0, 0, 10))):
        asm = _fresh_asm(fn, args)
        assert re.search(r"v(fmadd|fmsub|fnmadd|mul|add|sub)\w*pd\s+%[yz]mm", asm), fn.__name__


def _fresh_asm(fn, args) -> str:
    from numba import njit
    opts = {k: v for k, v in fn.targetoptions.items() if k not in ("nopython", "inline")}
    fresh = njit(**opts, cache=False)(fn.py_func)  # cached code cannot be inspected
    fresh(*args)
    return fresh.inspect_asm(fresh.signatures[0])


def test_streaming_loops_read_contiguously():
    """The d = 1 OLS and gd loops, fit's input scan and the read floor load x and y as contiguous vectors: indexed
    from a run-time start (not
    a slice from 0), numba's wraparound check made LLVM gather them, element by element, on an AVX-512 host.
    (For d > 1, gd_rows's four-row groups may gather across rows from cache lines already loaded: that is
    the SLP vectoriser's choice, and measured faster.)"""
    from benchmarks import floors
    from kernels import validation_scan
    x = np.ones(64)
    for fn, args in ((nb_gd.gd_band_d1, (x, x, 0.0, 1.0, 1, 60)),
                     (nb_gd_first._first_band_d1, (x, x, 0.0, 1.0, 1, 60, 1.0, 1.0)),
                     (floors._sum_zip, (x, x, 1, 60)), (floors._sum, (x, 1, 60)),
                     (nb_comoments._shifted_sums_d1, (x, x, 1, 60, 0.0, 0.0)),
                     (validation_scan._band_d1, (x, 0.0, 1, 60))):
        assert "gather" not in _fresh_asm(fn, args), fn.__name__


# --- gradient descent ----------------------------------------------------------------------------

@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("d", [1, 3])
def test_gram_descent_has_the_iterates_of_plain_descent(d, fit_intercept):
    X, y = random_problem(4000, d, seed=20 + d)
    opts = {"learning_rate": 0.05, "epochs": 200}
    base = fit(X, y, kernel="gd/numba", fit_intercept=fit_intercept, **opts)
    cond = condition_number(X, fit_intercept) ** 2
    for name in ("gd/numba-gram", "gd/numba-parallel"):
        r = fit(X, y, kernel=name, fit_intercept=fit_intercept, **opts)
        assert r.n_iter == base.n_iter
        np.testing.assert_allclose(r.loss_history, base.loss_history,
                                   **tolerance(dtype="float64", cond=cond, scale=base.loss_history.max()))
        np.testing.assert_allclose(r.params, base.params,
                                   **tolerance(dtype="float64", cond=cond, scale=np.abs(base.params).max()))


def test_gram_descent_stops_like_plain_descent():
    X, y = random_problem(500, 2, seed=4)
    opts = {"learning_rate": 0.05, "epochs": 100000, "tol": 1e-10}
    base = fit(X, y, kernel="gd/numba", **opts)
    r = fit(X, y, kernel="gd/numba-gram", **opts)
    assert r.converged and base.converged and r.n_iter == base.n_iter
    with pytest.raises(DivergenceError):
        fit(X, y, kernel="gd/numba-gram", learning_rate=50.0, epochs=2000)


# --- memory -------------------------------------------------------------------------------------

_PEAK = textwrap.dedent("""
    import sys, numpy as np
    from kernels import REGISTRY, Options
    from benchmarks.floors import read_once

    def hwm():  # peak resident set of this process image, in bytes (ru_maxrss would include the parent's)
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))

    name, n = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(0)
    small = rng.standard_normal((50_000, 1)), rng.standard_normal(50_000)  # enough rows for every band's path
    X, y = np.empty((n, 1)), np.empty(n)
    rng.standard_normal(out=X); rng.standard_normal(out=y); y += X[:, 0]  # no n-sized temporaries here
    opts = Options(epochs=3)
    run = (lambda a, b: read_once(a, b)) if name == "floor" else (
        lambda a, b: REGISTRY[name].solve(REGISTRY[name].prepare(a, b, opts), True, opts))
    run(*small)  # compile or load from cache, start the thread pool
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak to the current resident set
    before = hwm()
    run(X, y)
    print((hwm() - before) / (X.nbytes + y.nbytes))
""")


def _peak_ratio(name: str, n: int = 3_000_000) -> float:
    out = subprocess.run([sys.executable, "-c", _PEAK, name, str(n)], capture_output=True, text=True,
                         cwd=REPO, timeout=300, check=True)
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # a fresh process per kernel on 3e6 rows: about 20 s
@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux /proc/self/clear_refs")
def test_fused_kernels_allocate_no_n_sized_temporaries():
    """Peak memory above the input: under 10% of the input for the fused kernels (the target is 1.1x)."""
    assert _peak_ratio("ols/numpy") > 0.4  # the harness sees a temporary when there is one
    for name in ("floor", "ols/numba-parallel", "ols/numba", "gd/numba-parallel", "gd/numba-gram"):
        assert _peak_ratio(name) < 0.1, name


# --- threads and caching ---------------------------------------------------------------------------

@pytest.fixture
def restore_threads():
    yield
    threads._state.update(threads=None, source=None)
    threads._apply(min(threads.available_cores(), threads._numba_limit()))  # back to every core


def test_threads_default_to_every_core_and_follow_the_setting(monkeypatch, restore_threads):
    import numba
    monkeypatch.delenv(threads.ENV_VAR, raising=False)
    threads._state.update(threads=None, source=None)
    assert threads.get_threads() == min(threads.available_cores(), numba.config.NUMBA_NUM_THREADS)
    info = threads.thread_info()
    assert info["source"] == "all cores" and info["threads"] == threads.get_threads()
    X, y = random_problem(10000, 1, seed=1)
    both = fit(X, y, kernel="ols/numba-parallel")
    assert threads.set_threads(1) == 1 and numba.get_num_threads() == 1
    assert threads.thread_info()["source"] == "set_threads"
    one = fit(X, y, kernel="ols/numba-parallel")
    np.testing.assert_allclose(one.params, both.params, **tolerance(
        dtype="float64", cond=condition_number(X) ** 2, scale=np.abs(both.params).max()))


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5", "100000"])
def test_bad_thread_setting_is_refused(monkeypatch, restore_threads, bad):
    monkeypatch.setenv(threads.ENV_VAR, bad)
    threads._state.update(threads=None, source=None)
    with pytest.raises(InputError, match=threads.ENV_VAR):
        threads.get_threads()


def test_thread_env_var_is_read_at_start():
    code = "from kernels.threads import thread_info; import kernels; print(thread_info())"
    env = dict(os.environ, LRBENCH_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO,
                         timeout=300, check=True).stdout
    assert "'threads': 1" in out and "'source': 'LRBENCH_THREADS'" in out


@pytest.mark.slow  # compiles every numba function afresh: about 40 s
def test_every_numba_function_is_cached_on_disk_and_compile_time_is_measurable():
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    import benchmarks.floors
    import kernels.validation_scan
    from benchmarks.bench_compile import compile_seconds
    from kernels.backends.numba_jit import block_products, comoments, gd, refinement, sgd
    from kernels.numerics import comoment_merge, double_double
    mods = (block_products, comoments, gd, refinement, sgd, comoment_merge, double_double, benchmarks.floors,
            kernels.validation_scan)
    funcs = [f for mod in mods for f in vars(mod).values() if isinstance(f, CPUDispatcher)]
    assert len(funcs) > 10
    assert not [f.__name__ for f in funcs if isinstance(f._cache, NullCache) or f._cache is None]
    fit(*random_problem(500, 2, seed=1), kernel="ols/numba")  # so that some functions have been used
    secs = compile_seconds()
    assert secs and all(s > 0 for s in secs.values())


# --- CUDA (skipped cleanly without a device) ------------------------------------------------------

def test_triton_kernels_register_only_with_a_device():
    import torch
    if torch.cuda.is_available():
        assert "ols/triton" in REGISTRY and "gd/triton" in REGISTRY
    else:
        assert not [k for k in REGISTRY if k.endswith("/triton")]
        assert "triton" in kernels.UNAVAILABLE


def _cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    if "ols/triton" not in REGISTRY:
        pytest.skip(f"triton kernels not registered: {kernels.UNAVAILABLE.get('triton')}")
    return torch


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("d", [1, 3])
def test_triton_ols_against_float64_reference(d, dtype):
    _cuda()
    X, y = random_problem(300_000, d, seed=30 + d)
    X += 20.0
    Xr, yr = X.astype(dtype).astype(np.float64), y.astype(dtype).astype(np.float64)
    ref = fit(Xr, yr, kernel="ols/numpy")
    r = fit(X, y, kernel="ols/triton", dtype=dtype)
    assert _rel(r.params, ref.params) < 1e-9


@pytest.mark.cuda
@pytest.mark.parametrize("one_launch", [True, False])
@pytest.mark.parametrize("d", [1, 3])
def test_triton_gd_has_the_iterates_of_gd_numba(monkeypatch, d, one_launch):
    _cuda()
    from kernels.backends import triton_cuda as triton_fused
    monkeypatch.setattr(triton_fused, "SMALL_GD", 1 << 40 if one_launch else 0)
    X, y = random_problem(5000, d, seed=40 + d)
    for opts in ({"learning_rate": 0.05, "epochs": 300}, {"learning_rate": 0.05, "epochs": 10**5, "tol": 1e-10}):
        base = fit(X, y, kernel="gd/numba", **opts)
        r = fit(X, y, kernel="gd/triton", **opts)
        assert r.n_iter == base.n_iter and r.converged == base.converged
        np.testing.assert_allclose(r.loss_history, base.loss_history, rtol=1e-10, atol=0)
        np.testing.assert_allclose(r.params, base.params, rtol=1e-10, atol=1e-12)
    with pytest.raises(DivergenceError):
        fit(X, y, kernel="gd/triton", learning_rate=50.0, epochs=500)


@pytest.mark.cuda
def test_cuda_read_floor_reads_every_value():
    torch = _cuda()
    from kernels.backends.triton_cuda import read_once_cuda
    X = torch.rand(1_000_003, 2, device="cuda", dtype=torch.float64)
    y = torch.rand(1_000_003, device="cuda", dtype=torch.float64)
    assert read_once_cuda(X, y) == pytest.approx(float(X.sum() + y.sum()), rel=1e-5)
