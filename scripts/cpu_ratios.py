"""Every fast CPU kernel's time as a multiple of the read floor, measured side by side in one process.

    python scripts/cpu_ratios.py [--sizes 1e6 1e7] [--rounds 9] [--wide [D ...]] [--gd-d D ...] [--refs] [--refined]

Each round times every entry once, in a fresh random order (BLAS and OpenMP threads spin for a while after
a call, slowing whatever runs next on a small machine), so load from elsewhere hits all of them alike;
the table gives the median over rounds, the fastest round, and the spread (min..max over the median).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks.floors import read_once
from kernels import REGISTRY, Options
from kernels.threads import thread_info


def _data(n: int, d: int):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    y = 1.0 + X @ (np.arange(1, d + 1) / d) + 0.1 * rng.standard_normal(n)
    return X, y


def _offset_data(n: int, d: int):
    """A problem the one-pass OLS refines: x around 1e6, an intercept of 1e-3 (ȳ - x̄·β cancels 9 digits);
    for d > 1, strongly collinear columns (cond(XᵀX) well above 1e3)."""
    rng = np.random.default_rng(1)
    if d == 1:
        x = 1e6 + rng.standard_normal(n)
        return x[:, None], 1e-3 + x + 1e-3 * rng.standard_normal(n)
    X = rng.standard_normal((n, d)) * 0.01 + rng.standard_normal((n, 1))
    return X, 1.0 + X.sum(axis=1) + 0.1 * rng.standard_normal(n)


def _solve(name: str, X, y, refined: bool = False, **opts):
    """A timed call of the kernel's solve; refined: check that this fit takes the refinement pass."""
    k = REGISTRY[name]
    o = Options(**opts)
    data = k.prepare(X, y, o)
    r = k.solve(data, True, o)  # compile / warm up outside the clock
    assert not refined or r.refined, f"{name} did not refine this problem"
    return lambda: k.solve(data, True, o)


def measure(entries: dict, rounds: int) -> dict:
    times = {k: [] for k in entries}
    rng = np.random.default_rng(0)
    keys = list(entries)
    for _ in range(rounds):
        for i in rng.permutation(len(keys)):
            k = keys[i]
            t0 = time.perf_counter()
            entries[k]()
            times[k].append(time.perf_counter() - t0)
    return {k: (statistics.median(v), min(v), max(v)) for k, v in times.items()}


def table(title: str, res: dict, floor_key: str = "floor", per: dict | None = None) -> None:
    fl = res[floor_key][0]
    print(f"\n{title}")
    flo = res[floor_key][1]
    print(f"  {'what':34s} {'median ms':>10s} {'x floor':>8s} {'min ms':>9s} {'x floor':>8s} {'spread':>12s}")
    for k, (m, lo, hi) in res.items():
        div = (per or {}).get(k, 1)
        print(f"  {k:34s} {m / div * 1e3:10.3f} {m / div / fl:8.2f} {lo / div * 1e3:9.3f} {lo / div / flo:8.2f}"
              f" {lo / m:5.2f}..{hi / m:4.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="*", default=[1e6, 1e7])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--refs", action="store_true",
                    help="also time sklearn and statsmodels (slow); with --wide, ols/sklearnex")
    ap.add_argument("--wide", type=int, nargs="*", metavar="D",
                    help="also n = 1e6 with D features (100 if none given) against the compute floor, X.T @ X "
                         "and (--refs) ols/sklearnex")
    ap.add_argument("--gd-epochs", type=int, default=20)
    ap.add_argument("--refined", action="store_true",
                    help="also a problem the one-pass OLS refines (a second pass), at each size and, with --wide, "
                         "a collinear d = 100 one")
    ap.add_argument("--gd-d", type=int, nargs="*", default=[], metavar="D",
                    help="also the streaming gd kernels per epoch with D features at each size")
    args = ap.parse_args()
    print("threads:", thread_info())
    from kernels.backends.numba_jit.blas_products import blas_info
    print("BLAS the wide OLS blocks call:", blas_info())
    for n in map(int, args.sizes):
        _narrow(n, args)
        for d in args.gd_d:
            _gd_wide(n, d, args)
    for d in (args.wide or [100]) if args.wide is not None else []:
        _wide(d, args)


def _narrow(n: int, args) -> None:
    """n rows, d = 1: the floor, the fast OLS and gd kernels (and the references with --refs)."""
    X, y = _data(n, 1)  # local to this call: freed before the next size, whatever the lambdas hold
    e = args.gd_epochs
    entries = {
        "floor": lambda: read_once(X, y),
        f"floor, {e + 1} reads in a row": lambda: [read_once(X, y) for _ in range(e + 1)],
        "np.sum(X) + np.sum(y) (1 thread)": lambda: X.sum() + y.sum(),
        "ols/numpy": _solve("ols/numpy", X, y),
        "ols/numba": _solve("ols/numba", X, y),
        "ols/numba-parallel": _solve("ols/numba-parallel", X, y),
        f"gd/numba-parallel ({e} epochs)": _solve("gd/numba-parallel", X, y, epochs=e, learning_rate=0.1),
        f"gd/numba ({e} epochs)": _solve("gd/numba", X, y, epochs=e, learning_rate=0.1),
        "gd/numba-gram (1000 epochs)": _solve("gd/numba-gram", X, y, epochs=1000, learning_rate=0.1),
    }
    if args.refined:
        Xo, yo = _offset_data(n, 1)
        entries["floor (offset data)"] = lambda: read_once(Xo, yo)
        entries["ols/numba, refined"] = _solve("ols/numba", Xo, yo, refined=True)
        entries["ols/numba-parallel, refined"] = _solve("ols/numba-parallel", Xo, yo, refined=True)
    if args.refs:
        entries["ols/sklearn"] = _solve("ols/sklearn", X, y)
        entries["ols/statsmodels"] = _solve("ols/statsmodels", X, y)
    res = measure(entries, args.rounds)
    # per epoch / per read: consecutive passes over the same data find part of it in cache (a large L3)
    per = {k: e + 1 for k in entries if (k.startswith("gd/numba") and "gram" not in k) or "in a row" in k}
    table(f"n = {n:.0e}, d = 1, float64 ({args.rounds} rounds; gd rows are per epoch)", res, per=per)
    best = res["ols/numba-parallel"][0]
    print(f"  gd/numba-gram 1000 epochs / ols/numba-parallel: {res['gd/numba-gram (1000 epochs)'][0] / best:.2f}")
    if args.refs:
        print(f"  sklearn / ols/numba-parallel: {res['ols/sklearn'][0] / best:.0f}x; "
              f"statsmodels / ols/numba-parallel: {res['ols/statsmodels'][0] / best:.0f}x")


def _gd_wide(n: int, d: int, args) -> None:
    """n rows, d features: the streaming gd kernels per epoch against the floor."""
    X, y = _data(n, d)
    e = args.gd_epochs
    entries = {"floor": lambda: read_once(X, y),
               f"gd/numba-parallel ({e} epochs)": _solve("gd/numba-parallel", X, y, epochs=e, learning_rate=0.1),
               f"gd/numba ({e} epochs)": _solve("gd/numba", X, y, epochs=e, learning_rate=0.1)}
    res = measure(entries, args.rounds)
    table(f"n = {n:.0e}, d = {d}, float64 ({args.rounds} rounds; gd rows are per epoch)", res,
          per={k: e + 1 for k in entries if "epochs" in k})


def _matmul_seconds(N: int = 2_000):
    """An N x N float64 product by BLAS, as benchmarks/bench_time.py's ComputeFloor times it: (call, flops)."""
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((N, N)), rng.standard_normal((N, N))
    return (lambda: A @ B), 2.0 * N ** 3


def _fit(name: str, X, y):
    """A user's whole kernels.fit call (input checks, prepare, solve, the accuracy bound)."""
    import warnings

    import kernels

    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return kernels.fit(X, y, kernel=name)
    call()
    return call


def _wide(d: int, args) -> None:
    """n = 1e6 rows, d features: the OLS kernels against the compute floor (n·d(d+1) flops at the rate of a
    2000 x 2000 matmul, timed in the same rounds), X.T @ X (syrk) and, with --refs, ols/sklearnex (oneDAL)."""
    n = 10**6
    X, y = _data(n, d)
    matmul, flops = _matmul_seconds()
    entries = {"floor": lambda: read_once(X, y), "X.T @ X (syrk)": lambda: X.T @ X,
               "matmul 2000 (compute floor)": matmul,
               "ols/numpy": _solve("ols/numpy", X, y), "ols/numba": _solve("ols/numba", X, y),
               "ols/numba-parallel": _solve("ols/numba-parallel", X, y),
               "fit(ols/numba-parallel)": _fit("ols/numba-parallel", X, y),
               "gd/numba-parallel (5 epochs)": _solve("gd/numba-parallel", X, y, epochs=5, learning_rate=0.01),
               "gd/numpy (5 epochs)": _solve("gd/numpy", X, y, epochs=5, learning_rate=0.01)}
    if args.refs and "ols/sklearnex" in REGISTRY:
        entries["ols/sklearnex"] = _solve("ols/sklearnex", X, y)
    if args.refined:
        Xc, yc = _offset_data(n, d)
        entries["ols/numba-parallel, refined (collinear)"] = _solve("ols/numba-parallel", Xc, yc, refined=True)
    res = measure(entries, max(5, args.rounds // 2) if d >= 30 else args.rounds)
    table(f"n = 1e6, d = {d}, float64 (gd rows are per epoch)", res, per={k: 5 for k in entries if "epochs" in k})
    rate = flops / res["matmul 2000 (compute floor)"][0]
    floor = n * d * (d + 1) / rate
    print(f"  matmul rate {rate / 1e9:.1f} GFLOP/s: compute floor {floor * 1e3:.1f} ms")
    for k in ("ols/numba", "ols/numba-parallel", "ols/numpy") + (("ols/sklearnex",) if "ols/sklearnex" in res else ()):
        print(f"  {k} / compute floor: {res[k][0] / floor:.2f}")
    best = res["ols/numba-parallel"][0]
    print(f"  ols/numba-parallel / X.T @ X: {best / res['X.T @ X (syrk)'][0]:.2f}")
    if "ols/sklearnex" in res:
        print(f"  ols/numba-parallel / ols/sklearnex: {best / res['ols/sklearnex'][0]:.2f}")
    print(f"  fit / kernel (ols/numba-parallel): {res['fit(ols/numba-parallel)'][0] / best:.2f}")


if __name__ == "__main__":
    main()
