"""GPU check: the CUDA kernels' correctness (fresh random inputs, float64 references) and their times as
multiples of the device's read floor; then `pytest -m cuda` over tests/. Prints a short table last.

    PYTHONPATH=. python3 scripts/gpu_check.py [--quick] [--no-pytest] [--out DIR]

Times: CUDA events around each call after warm-up, median of repeats (the OLS solve includes its one
host sync and the d x d solve on the host). Writes gpu_check.json (and pytest.log) under --out or $OUT.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import traceback

import numpy as np
import torch

ROWS: list[tuple[str, str, str]] = []  # (what, value, note) for the closing table
RESULTS: dict = {}


def row(what: str, value: str, note: str = "") -> None:
    ROWS.append((what, value, note))
    print(f"{what:48s} {value:>14s}  {note}", flush=True)


def timed(fn, reps: int = 20, warmup: int = 3) -> float:
    """Median seconds of fn() over reps, CUDA events around each call (fn may sync itself)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        out.append(a.elapsed_time(b) / 1e3)
    return statistics.median(out)


def section(name):
    def deco(f):
        def run(*a, **k):
            t0 = time.perf_counter()
            try:
                f(*a, **k)
            except Exception as exc:  # one failing section must not hide the others' numbers
                traceback.print_exc()
                row(f"{name}: FAILED", type(exc).__name__, str(exc)[:80])
                RESULTS.setdefault("failed", []).append(name)
            print(f"  ({name}: {time.perf_counter() - t0:.1f} s)", flush=True)
        return run
    return deco


def lre_of(est, ref) -> float:
    est, ref = np.asarray(est, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    err = np.max(np.abs(est - ref) / np.maximum(np.abs(ref), 1e-300))
    return float(min(15.0, -np.log10(err))) if err > 0 else 15.0


def ols_reference(X: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """(intercept, coef) in float64 on the device: exact-mean centring, then the normal equations."""
    X64, y64 = X.double(), y.double()
    xm, ym = X64.mean(dim=0), y64.mean()
    Xc = X64 - xm
    beta = torch.linalg.solve(Xc.T @ Xc, Xc.T @ (y64 - ym))
    return np.concatenate([[float(ym - xm @ beta)], beta.cpu().numpy()])


@section("device")
def device_info():
    p = torch.cuda.get_device_properties(0)
    import triton
    RESULTS["device"] = {"name": p.name, "sms": p.multi_processor_count, "memory_gib": p.total_memory / 2**30,
                         "torch": torch.__version__, "triton": triton.__version__}
    row("device", p.name, f"{p.multi_processor_count} SMs, torch {torch.__version__}, triton {triton.__version__}")


@section("floor")
def floors(n: int):
    from kernels.backends.triton_cuda import read_once_cuda
    g = torch.Generator(device="cuda").manual_seed(1)
    X = torch.randn(n, 1, device="cuda", generator=g)
    y = torch.randn(n, device="cuda", generator=g)
    byt = X.numel() * 4 + y.numel() * 4
    ref = float(X.double().sum() + y.double().sum())
    got = read_once_cuda(X, y)
    assert abs(got - ref) <= 1e-3 * (abs(ref) + n ** 0.5), (got, ref)
    t_floor = timed(lambda: read_once_cuda(X, y))
    t_torch = timed(lambda: float(X.sum() + y.sum()))
    buf = torch.empty_like(y)
    t_copy = timed(lambda: buf.copy_(y))
    RESULTS["floor_s"] = t_floor
    RESULTS["floor_n"] = n
    row(f"read floor n={n:.0e} f32 (read_once_cuda)", f"{t_floor * 1e3:.3f} ms", f"{byt / t_floor / 1e12:.2f} TB/s")
    row("  torch X.sum() + y.sum()", f"{t_torch * 1e3:.3f} ms", f"{t_torch / t_floor:.2f}x floor")
    row("  device copy of y (read + write)", f"{t_copy * 1e3:.3f} ms", f"{2 * y.numel() * 4 / t_copy / 1e12:.2f} TB/s")


@section("ols")
def ols(n: int):
    from kernels import REGISTRY, Options
    from kernels.backends import triton_cuda as tf
    g = torch.Generator(device="cuda").manual_seed(2)
    x = 3.0 * torch.randn(n, 1, device="cuda", generator=g) + 50.0  # an offset: centring matters
    y = 2.0 + 0.5 * x[:, 0] + torch.randn(n, device="cuda", generator=g)
    ref = ols_reference(x, y)
    opts = Options(dtype="float32")
    k = REGISTRY["ols/triton"]
    r = k.solve((x, y), True, opts)
    digits = lre_of(r.params, ref)
    assert digits > 9, (r.params, ref)
    t_solve = timed(lambda: k.solve((x, y), True, opts))
    t_pass = timed(lambda: tf._comoments_d1(x.reshape(-1), y))
    fl = RESULTS.get("floor_s", float("nan"))
    RESULTS["ols_triton"] = {"solve_s": t_solve, "pass_s": t_pass, "lre_vs_f64": digits, "digits_claimed": r.digits}
    row(f"ols/triton n={n:.0e} f32: solve", f"{t_solve * 1e3:.3f} ms", f"{t_solve / fl:.2f}x floor (target 1.5x)")
    row("  fused pass + exact merge alone", f"{t_pass * 1e3:.3f} ms", f"{t_pass / fl:.2f}x floor")
    row("  agreement with float64 reference", f"{digits:.1f} digits", f"kernel vouches for {r.digits:.1f}")
    kt = REGISTRY["ols/torch-cuda"]
    rt = kt.solve((x, y), True, opts)
    t_torch = timed(lambda: kt.solve((x, y), True, opts), reps=10)
    RESULTS["ols_torch_cuda"] = {"solve_s": t_torch, "lre_vs_f64": lre_of(rt.params, ref)}
    row("ols/torch-cuda (tensor ops, f32)", f"{t_torch * 1e3:.3f} ms",
        f"{t_torch / fl:.2f}x floor, {lre_of(rt.params, ref):.1f} digits")
    for d in (3,):  # the d > 1 path, float64 input
        X = torch.randn(200_000, d, device="cuda", dtype=torch.float64, generator=g) + 10.0
        yy = X @ torch.arange(1.0, d + 1, device="cuda", dtype=torch.float64) + 0.1 * torch.randn(
            200_000, device="cuda", dtype=torch.float64, generator=g)
        rr = k.solve((X, yy), True, Options())
        dd = lre_of(rr.params, ols_reference(X, yy))
        assert dd > 10, dd
        row(f"  ols/triton d={d} f64 (chunked path)", f"{dd:.1f} digits")


@section("gd")
def gd(n_small: int):
    from kernels import REGISTRY, Options
    from kernels.backends import triton_cuda as tf
    g = torch.Generator(device="cuda").manual_seed(3)
    k = REGISTRY["gd/triton"]
    for d in (1, 3):  # iterates against gd/numba on the host (float64 parameters and sums in both)
        X = torch.randn(n_small, d, device="cuda", generator=g)
        y = 1.0 + X.sum(dim=1) + 0.1 * torch.randn(n_small, device="cuda", generator=g)
        opts = Options(learning_rate=0.05, epochs=300, dtype="float32")
        base = REGISTRY["gd/numba"].solve((X.cpu().numpy(), y.cpu().numpy()), True, opts)
        for small in (True, False):
            tf.SMALL_GD = 1 << 40 if small else 0
            r = k.solve((X, y), True, opts)
            rel = max(float(np.max(np.abs(r.loss_history / base.loss_history - 1))),
                      float(np.max(np.abs(r.params - base.params) / np.abs(base.params).max())))
            assert r.n_iter == base.n_iter and rel < 1e-9, (d, small, rel)
            row(f"  gd/triton d={d} {'one launch' if small else 'per epoch'} vs gd/numba", f"{rel:.1e}", "max rel diff")
    tf.SMALL_GD = 1 << 17
    for n, epochs in ((n_small, 2000), (100_000, 500), (1_000_000, 200), (RESULTS.get("floor_n", 10**8), 20)):
        for small in ((True, False) if n == 100_000 else (None,)):
            if small is not None:
                tf.SMALL_GD = 1 << 40 if small else 0
            per = tf.gd_epoch_seconds(n, epochs=epochs)
            tf.SMALL_GD = 1 << 17
            note = ""
            if n == RESULTS.get("floor_n"):
                note = f"{per / RESULTS['floor_s']:.2f}x floor"
            if n == n_small:
                note = "target <= 20 us"
                RESULTS["gd_triton_us_per_epoch_small"] = per * 1e6
            path = {True: " (one launch)", False: " (per epoch)", None: ""}[small]
            RESULTS[f"gd_triton_epoch_s_n{n}{path.strip()}"] = per
            row(f"gd/triton n={n:.0e} d=1 f32{path}", f"{per * 1e6:.1f} us/epoch", note)
    X = torch.randn(n_small, 1, device="cuda", generator=g)
    y = 1.0 + X[:, 0] + 0.1 * torch.randn(n_small, device="cuda", generator=g)
    for name in ("gd/torch-cuda", "gd/torch-nn-cuda"):
        kk = REGISTRY[name]
        o = Options(learning_rate=0.05, epochs=100, dtype="float32")
        t = timed(lambda: kk.solve((X, y), True, o), reps=5, warmup=1)
        RESULTS[f"{name}_us_per_epoch_small"] = t / 100 * 1e6
        row(f"{name} n={n_small:.0e} d=1 f32", f"{t / 100 * 1e6:.1f} us/epoch")


@section("sweep")
def sweep(n: int):
    """Tile size, warps and programs per SM of the streaming kernels: time each setting, keep the table."""
    from kernels.backends import triton_cuda as tf
    g = torch.Generator(device="cuda").manual_seed(4)
    x = torch.randn(n, 1, device="cuda", generator=g) + 5.0
    y = torch.randn(n, device="cuda", generator=g)
    names = ("BLOCK", "READ_WARPS", "OLS_WARPS", "READ_PROGRAMS_PER_SM", "OLS_PROGRAMS_PER_SM")
    keep = {k: getattr(tf, k) for k in names}
    res = []
    try:
        for block in (1024, 2048, 4096, 8192):
            for warps in (4, 8, 16):
                for pps in (1, 2, 4, 8):
                    tf.BLOCK, tf.READ_WARPS, tf.OLS_WARPS = block, warps, warps
                    tf.READ_PROGRAMS_PER_SM = tf.OLS_PROGRAMS_PER_SM = pps
                    t_read = timed(lambda: tf.read_once_cuda(x, y), reps=10, warmup=2)
                    t_ols = timed(lambda: tf._comoments_d1(x.reshape(-1), y), reps=10, warmup=2)
                    res.append((block, warps, pps, t_read, t_ols))
    finally:
        for k, v in keep.items():
            setattr(tf, k, v)
    RESULTS["sweep"] = res
    byt = 8 * n
    for label, col in (("read", 3), ("ols pass", 4)):
        best = sorted(res, key=lambda r: r[col])[:3]
        for b in best:
            row(f"sweep {label}: BLOCK={b[0]} warps={b[1]} programs/SM={b[2]}", f"{b[col] * 1e3:.3f} ms",
                f"{byt / b[col] / 1e12:.2f} TB/s")


def run_pytest(out: str, limit: int) -> None:
    log = os.path.join(out, "pytest.log")
    cmd = [sys.executable, "-m", "pytest", "-m", "cuda", "tests", "-q", "-p", "no:cacheprovider"]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
        text, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as exc:
        text, rc = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or ""), "timeout"
    with open(log, "w") as f:
        f.write(text)
    tail = [ln for ln in text.splitlines() if ln.strip()][-15:]
    print("\n".join(tail))
    last = tail[-1] if tail else ""
    RESULTS["pytest"] = {"rc": rc, "summary": last, "seconds": time.perf_counter() - t0}
    row("pytest -m cuda", str(rc), last[:70])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 1e7 instead of 1e8 for the large cases")
    ap.add_argument("--no-pytest", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="also time tile/warp/grid settings of the streaming kernels")
    ap.add_argument("--pytest-timeout", type=int, default=240)
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device here; nothing to check")
    big = 10**7 if args.quick else 10**8
    device_info()
    floors(big)
    ols(big)
    gd(10**4)
    if args.sweep:
        sweep(big)
    if not args.no_pytest:
        run_pytest(args.out, args.pytest_timeout)
    with open(os.path.join(args.out, "gpu_check.json"), "w") as f:
        json.dump(RESULTS, f, indent=1, default=str)
    print("\n" + "=" * 100)
    for what, value, note in ROWS:
        print(f"{what:48s} {value:>14s}  {note}")
    failed = RESULTS.get("failed", []) or (["pytest"] if RESULTS.get("pytest", {}).get("rc") not in (0, None) else [])
    print("FAILED: " + ", ".join(failed) if failed else "all checks passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
