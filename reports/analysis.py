"""From a Run's raw asv values to what the report shows: times per epoch, multiples of the floor, speed-ups
against the references, the largest size each kernel ran at, Pareto fronts.

The benchmark names below are the suite's asv names (tests/test_benchmarks.py checks that each is one); their
parameter names and units come from asv's benchmarks.json, and what a kernel is (reference, device) and the
profile from the run record (benchmarks/run_record.py)."""
from __future__ import annotations

import math

from .results import Run, ok

FIT = "bench_time.Fit.time_fit"
FLOOR = "bench_time.ReadFloor.time_read_once"
GRAM = "bench_time.BlasGram.time_xtx"  # XᵀX by BLAS: the yardstick of OLS at d > 1
PREPARE = "bench_time.Prepare.time_prepare"
COMPILE = "bench_compile.NumbaFirstCall.timeraw_first_call"
MEMORY = "bench_memory.PeakMemory.track_peakmem_extra"
LRE = "bench_accuracy.NistLRE.track_lre"
COEF = "bench_accuracy.CoefErrorVsStatsmodels.track_coef_error"
DISTANCE = "bench_accuracy.GdDistanceFromOLS.track_distance"
LOSS = "bench_accuracy.GdLossCurve.track_excess_loss"

ALGORITHMS = ("ols", "gd", "sgd", "minibatch")
ITERATIVE = ("gd", "sgd", "minibatch")
REFERENCE_BACKENDS = ("statsmodels", "sklearn", "torch-nn", "torch-nn-cuda")  # for results without a run record


def algorithm(kernel: str) -> str:
    return kernel.partition("/")[0]


def backend(kernel: str) -> str:
    return kernel.partition("/")[2]


def _kernel_meta(run: Run | None, kernel: str) -> dict | None:
    """What the run record says of a kernel (algorithm, backend, device, reference, description), or None."""
    record = run.record if run is not None else None
    return ((record or {}).get("kernels") or {}).get(kernel)


def is_reference(run: Run | None, kernel: str) -> bool:
    """Whether the kernel is a library reference: the run record says so, else its backend is a known library."""
    meta = _kernel_meta(run, kernel)
    return bool(meta["reference"]) if meta else backend(kernel) in REFERENCE_BACKENDS


def on_device(run: Run | None, kernel: str) -> bool:
    """Whether the kernel runs on a GPU: its time is not comparable with the CPU's read floor (the run record
    says where it ran, else the backend's name: `*-cuda`, `triton`)."""
    meta = _kernel_meta(run, kernel)
    if meta:
        return meta["device"] != "cpu"
    b = backend(kernel)
    return b.endswith("cuda") or b == "triton"


def floor_multiple(run: Run, kernel: str, n: int, d: int) -> float | None:
    """The kernel's time (per epoch for gradient descent) over the read floor of the same run; None for a GPU
    kernel, whose floor is the device's (the suite records the CPU's only; scripts/gpu_check.py measures the
    device's)."""
    t, f = fit_time(run, kernel, n, d), floor_time(run, n, d)
    if t is None or not f or on_device(run, kernel):
        return None
    return t / f


def gram_multiple(run: Run, kernel: str, n: int, d: int) -> float | None:
    """An OLS kernel's time over XᵀX by BLAS (same run, same n and d); None for other algorithms, GPU
    kernels (BLAS ran on the CPU) or a size without both timings."""
    if algorithm(kernel) != "ols" or on_device(run, kernel):
        return None
    t, g = fit_time(run, kernel, n, d), run.value(GRAM, n, d)
    return t / g if t is not None and g else None


def epochs(run: Run) -> int | None:
    """The fixed epoch count of the gradient-descent timings: the last epoch of the recorded loss curves."""
    if not hasattr(run, "_epochs"):  # asked for every time shown: read the loss curves' parameters once
        recs = run.records(LOSS)
        run._epochs = max((int(r["epoch"]) for r in recs), default=None) or None
    return run._epochs


def params_of(run: Run, benchmark: str, name: str) -> list:
    """The values a parameter took in a benchmark, in order of first appearance."""
    seen = []
    for r in run.records(benchmark):
        if r.get(name) not in seen:
            seen.append(r.get(name))
    return seen


def kernels(run: Run, benchmark: str = FIT) -> list[str]:
    """Kernel names of a benchmark, ordered by algorithm then name; placeholders dropped."""
    names = [k for k in params_of(run, benchmark, "kernel") if isinstance(k, str) and "/" in k]
    return sorted(names, key=lambda k: (ALGORITHMS.index(algorithm(k)) if algorithm(k) in ALGORITHMS else 9, k))


def fit_time(run: Run, kernel: str, n: int, d: int, per_epoch: bool = True) -> float | None:
    """Seconds of one fit, or of one epoch for gradient-descent kernels (their fit runs a fixed count)."""
    t = run.value(FIT, kernel, n, d)
    if t is None:
        return None
    e = epochs(run)
    if per_epoch and algorithm(kernel) in ITERATIVE and e:
        return t / e
    return t


def floor_time(run: Run, n: int, d: int) -> float | None:
    return run.value(FLOOR, n, d)


def largest_run(run: Run, kernel: str, d: int) -> tuple[int | None, list[int]]:
    """(largest n the kernel ran at for this d, sizes above it that were skipped)."""
    sizes = sorted(n for n in params_of(run, FIT, "n"))
    ran = [n for n in sizes if run.value(FIT, kernel, n, d) is not None]
    top = max(ran) if ran else None
    skipped = [n for n in sizes if (top is None or n > top) and _skipped(run, FIT, (kernel, n, d))]
    return top, skipped


def _skipped(run: Run, benchmark: str, params: tuple) -> bool:
    v = run.values.get(benchmark, {}).get(params, None)
    return v is not None and isinstance(v, float) and math.isnan(v)


def profile_of(run: Run) -> dict | None:
    """The benchmark profile the run used, as the run record keeps it (name, sizes, fit_budget_s, ...), or None."""
    prof, _ = run.recorded("profile")
    return prof


def memory_features(run: Run) -> int | None:
    """d of the peak-memory benchmark's input, from the run record."""
    return (profile_of(run) or {}).get("memory_features")


def input_bytes(n: int, d: int) -> int:
    """Bytes of X (n, d) and y (n,) in float64."""
    return 8 * n * (d + 1)


def failed(run: Run) -> list[tuple[str, tuple]]:
    """Every (benchmark, params) asv recorded as failed (None) rather than skipped (NaN)."""
    return [(b, p) for b, vals in run.values.items() for p, v in vals.items() if v is None]


def references_for(run: Run, algo: str) -> list[str]:
    return [k for k in kernels(run) if algorithm(k) == algo and is_reference(run, k)]


def pareto(points: list[tuple[str, float, float]]) -> set[str]:
    """Names on the front of (name, time, accuracy): no other point is at least as fast and as accurate,
    and strictly better in one."""
    front = set()
    for name, t, a in points:
        dominated = any((t2 <= t and a2 >= a) and (t2 < t or a2 > a) for _, t2, a2 in points)
        if not dominated:
            front.add(name)
    return front


def mean_lre(run: Run, kernel: str) -> tuple[float | None, int, int]:
    """(mean LRE over the NIST problems with a refusal counted as 0 digits, problems answered, problems)."""
    recs = [r for r in run.records(LRE) if r.get("kernel") == kernel]
    if not recs:
        return None, 0, 0
    vals = [r["value"] if ok(r["value"]) else 0.0 for r in recs]
    return sum(vals) / len(vals), sum(ok(r["value"]) for r in recs), len(recs)


def human_seconds(s: float | None) -> str:
    if s is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if s >= scale or unit == "ns":
            return f"{s / scale:.3g} {unit}"
    return f"{s:.3g} s"


def human_bytes(b: float | None) -> str:
    if b is None:
        return "—"
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b:.0f} B"


def human_n(n) -> str:
    """100 -> 1e2 (sizes are powers of ten); other numbers as they are."""
    try:
        n = int(n)
    except (TypeError, ValueError):
        return str(n)
    e = math.log10(n) if n > 0 else 0
    return f"1e{int(e)}" if n > 0 and e == int(e) and n >= 100 else f"{n:,}"
