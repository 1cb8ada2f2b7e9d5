"""What every benchmark shares: the profile (sizes), the kernels to run, seeded data, fixed options, skips.

Profiles (environment variable LRBENCH_PROFILE, default "quick"):
  quick  a few sizes, and d = 100 for OLS at n = 1e6 (near the compute floor); the whole suite runs in a few
         minutes on a 2-core machine (what `make report` runs)
  full   n from 1e2 to 1e7, d in {1, 10} and d = 100 for OLS at n >= 1e5
  gate   n = 1e5, d = 1, every kernel but the interpreted per-row loops, more samples of shorter runs: the
         performance gate (lrbench/gate.py)
  tiny   two small sizes, for the tests of the suite and the report
  scale  beyond one machine's memory (benchmarks/bench_scale.py): the Dask kernels, their references and
         ols/numba-parallel at n = 1e7 in memory; out of core at 1e8 rows (d = 1 and 10; 1e9 at d = 1 with
         LRBENCH_SCALE_1E9=1; LRBENCH_SCALE_ROWS=N puts N rows in place of 1e8, e.g. 2e7 for a check in
         minutes), on one worker and on every core's worker; LRBENCH_DROP_CACHES=1 (root) drops the page cache
         before every out-of-core sample
Dask kernels: quick and full run ols/dask and gd/dask at their in-memory sizes on worker threads of the
benchmark's process (Profile.dask_processes); scale runs every one, on worker processes.
LRBENCH_KERNELS (comma-separated shell patterns, default "*") restricts the kernels, e.g. "ols/*,gd/numpy".
"""
from __future__ import annotations

import fnmatch
import functools
import importlib
import os
import time
from dataclasses import dataclass

import numpy as np

from kernels import REGISTRY, Kernel, KernelError  # the package's __init__ has set the environment defaults first
from kernels.cluster import ENV_PROCESSES
from kernels.contract import ITERATIVE, Options, prepare_numpy
from kernels.datasets import make_regression

# Libraries the reference kernels import lazily on their first call (statsmodels.api, sklearn.linear_model,
# torch._dynamo via torch.optim: 1-2 s each). asv forks every benchmark from one process that imported this
# module; importing them here, once, keeps that cost out of every benchmark's setup. Imports start no worker
# threads, so forking stays safe; nothing is run here, so no thread pool (numba, OpenMP) is started.
for _module in ("statsmodels.api", "sklearn.linear_model", "sklearnex.linear_model", "torch._dynamo"):
    try:
        importlib.import_module(_module)
    except ImportError:
        pass


@dataclass(frozen=True)
class Profile:
    """The sizes one profile runs."""

    name: str
    sizes: tuple[int, ...]  # n, rows
    features: tuple[int, ...]  # d, columns
    wide: tuple[int, ...]  # extra d for OLS only, at n >= WIDE_MIN_ROWS
    memory_sizes: tuple[int, ...]  # n for the peak-memory measure (d = MEMORY_FEATURES)
    accuracy_rows: int  # n of the synthetic accuracy problems and the loss curves
    rounds: int  # asv rounds (separate processes) of each timing
    repeat: tuple[int, int, float]  # asv (min samples, max samples, max seconds) a round
    compile_states: tuple[str, ...]  # numba first call: "cold" (compiles) and/or "cached" (loads from disk)
    fit_budget_s: float  # a fit estimated to take longer is skipped (pure-Python loops at large n)
    kernels: tuple[str, ...] = ("*",)  # shell patterns of the kernels this profile's Fit runs
    dask_kernels: tuple[str, ...] = ("ols/dask", "gd/dask")  # of those, the Dask (lazy) ones it runs
    disk_datasets: tuple[tuple[int, int], ...] = ()  # (n, d) of the out-of-core datasets (bench_scale)
    # Local Dask workers as processes (scale), or as threads of the benchmark's process: asv runs every
    # benchmark in a process of its own, and a process cluster starts in 2-20 s here, a threaded one in 0.1 s.
    dask_processes: bool = False


def _scale_datasets() -> tuple[tuple[int, int], ...]:
    n = int(float(os.environ.get("LRBENCH_SCALE_ROWS") or 1e8))
    return ((n, 1), (n, 10)) + (((1_000_000_000, 1),) if os.environ.get("LRBENCH_SCALE_1E9") == "1" else ())


PROFILES = {
    "quick": Profile("quick", sizes=(100, 10_000, 1_000_000), features=(1, 10), wide=(100,),
                     memory_sizes=(100_000, 1_000_000), accuracy_rows=2_000, rounds=1, repeat=(1, 5, 1.0),
                     compile_states=("cold",), fit_budget_s=3.0),
    "full": Profile("full", sizes=(100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000), features=(1, 10),
                    wide=(100,), memory_sizes=(100_000, 1_000_000, 10_000_000), accuracy_rows=100_000,
                    rounds=2, repeat=(1, 10, 20.0), compile_states=("cold", "cached"), fit_budget_s=10.0),
    # the performance gate (lrbench/gate.py): one size, d = 1, single-call samples taken for 0.6 s a
    # round (asv re-runs setup between samples, so each sample is one call): the gate judges the fastest, and
    # the machine's slow spells here last about half a second, so the window must be longer than one
    "gate": Profile("gate", sizes=(100_000,), features=(1,), wide=(), memory_sizes=(100_000,),
                    accuracy_rows=2_000, rounds=2, repeat=(20, 10_000, 0.6), compile_states=("cold",),
                    fit_budget_s=0.5, dask_kernels=()),
    "tiny": Profile("tiny", sizes=(100, 1_000), features=(1, 3), wide=(), memory_sizes=(1_000,),
                    accuracy_rows=500, rounds=1, repeat=(1, 3, 0.5), compile_states=("cold",), fit_budget_s=3.0,
                    dask_kernels=()),
    "scale": Profile("scale", sizes=(10_000_000,), features=(1,), wide=(), memory_sizes=(10_000_000,),
                     accuracy_rows=2_000, rounds=1, repeat=(1, 3, 60.0), compile_states=("cold",),
                     fit_budget_s=120.0, kernels=("ols/numba-parallel", "*/dask*"), dask_kernels=("*",),
                     disk_datasets=_scale_datasets(), dask_processes=True),
}

WIDE_MIN_ROWS = 100_000
MEMORY_FEATURES = 10
ESTIMATE_ABOVE_N = 10_000  # below this every kernel fits in well under any budget: no estimate needed
CALIBRATION_ROWS = (2_000, 20_000, 200_000)  # a first estimate, refined on more rows when in doubt
ESTIMATE_SAFETY = 1.5  # large inputs leave the caches: per-row costs grow past the calibration sizes
MEMORY_HEADROOM = 4.0  # skip a size whose input times this exceeds the memory available now

# Gradient descent at a fixed number of epochs (tol = 0: every epoch runs), so the time per epoch compares.
# Learning rates: stable on make_regression's standard-normal features (full batch: lr < 1/λmax(AᵀA/n) ≈ 0.5
# at n = 100, d = 10; one row at a time: 2·lr·|x|² < 2 with |x|² ≈ d + 1).
EPOCHS = 10
LEARNING_RATES = {"gd": 0.2, "sgd": 0.01, "minibatch": 0.05}
BATCH_SIZE = 32


def profile() -> Profile:
    """The profile named by $LRBENCH_PROFILE (default quick); an unknown name is an error naming the known."""
    name = os.environ.get("LRBENCH_PROFILE", "quick")
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"LRBENCH_PROFILE={name!r} is not a profile; known: {', '.join(PROFILES)}") from None


PROFILE = profile()
if not PROFILE.dask_processes:
    os.environ.setdefault(ENV_PROCESSES, "0")  # before any cluster starts; an explicit setting wins


def selected(names) -> list[str]:
    """The kernel names matching $LRBENCH_KERNELS (comma-separated shell patterns; default every kernel)."""
    patterns = [p.strip() for p in os.environ.get("LRBENCH_KERNELS", "*").split(",") if p.strip()]
    return [n for n in sorted(names) if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


def kernel_names(algorithms=None, predicate=None) -> list[str]:
    """Registered kernels (of the given algorithms), filtered by $LRBENCH_KERNELS; sorted for stable params."""
    names = [k.name for k in REGISTRY.values()
             if (algorithms is None or k.algorithm in algorithms) and (predicate is None or predicate(k))
             and in_profile(k)]
    # asv needs at least one value per parameter; a placeholder that setup skips keeps discovery working.
    return selected(names) or ["(none selected)"]


def in_profile(kernel: Kernel) -> bool:
    """Whether this profile runs the kernel: its patterns, and for Dask kernels its dask_kernels."""
    def match(patterns):
        return any(fnmatch.fnmatchcase(kernel.name, p) for p in patterns)
    return match(PROFILE.kernels) and (not kernel.lazy or match(PROFILE.dask_kernels))


def get(name: str) -> Kernel:
    """The kernel, or NotImplementedError (asv: skipped) when it is not registered in this environment."""
    if name not in REGISTRY:
        raise NotImplementedError(f"{name}: not registered here")
    return REGISTRY[name]


def options(kernel: Kernel, epochs: int = EPOCHS) -> Options:
    """The fixed benchmark options: OLS takes none; gradient descent runs `epochs` epochs at a stable rate."""
    if kernel.algorithm not in ITERATIVE:
        return Options()
    return Options(learning_rate=LEARNING_RATES[kernel.algorithm], epochs=epochs, tol=0.0,
                   batch_size=BATCH_SIZE)


def call_options(kernel: Kernel, opts: Options) -> dict:
    """The benchmark's fixed options as keyword arguments of kernels.fit (only those the algorithm takes)."""
    if kernel.algorithm not in ITERATIVE:
        return {}
    named = {"learning_rate": opts.learning_rate, "epochs": opts.epochs, "tol": opts.tol}
    if kernel.algorithm == "minibatch":
        named["batch_size"] = opts.batch_size
    return named


def input_bytes(n: int, d: int) -> int:
    """Bytes of X (n, d) and y (n,) in float64."""
    return 8 * n * (d + 1)


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable), or the physical total where /proc is absent."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_size(kernel: Kernel | None, n: int, d: int) -> None:
    """Skip (NotImplementedError) the sizes this profile does not run for this kernel, or that would not fit."""
    if d in PROFILE.wide and d not in PROFILE.features:
        if kernel is not None and kernel.algorithm != "ols":
            raise NotImplementedError(f"d = {d} is run for OLS kernels only")
        if n < WIDE_MIN_ROWS:
            raise NotImplementedError(f"d = {d} is run at n >= {WIDE_MIN_ROWS} only")
    need = MEMORY_HEADROOM * input_bytes(n, d)
    if need > available_memory():
        raise NotImplementedError(f"n = {n}, d = {d} needs about {need / 2**30:.1f} GiB; not available now")


@functools.lru_cache(maxsize=4)
def data(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded synthetic (X, y), cached on disk when large and in memory for the process (asv re-runs setup)."""
    ds = make_regression(n, d, seed=0)
    return ds.X, ds.y


# Enough rows to reach the code paths some kernels switch to at larger n (ols/qr's banded passes from ~8k rows),
# so their compilation or cache load happens here, not in the first timed sample.
WARM_UP_ROWS = 20_000

# The gate profile skips by this fixed list, never by a timing estimate: an estimate taken under
# load could skip a kernel in one commit's run and not in the other's, and a slowed-down kernel must be
# measured (and flagged), not skipped.
GATE_SLOW = ("*/python", "ols/exact", "sgd/numpy", "sgd/torch-cpu", "minibatch/numpy", "minibatch/torch-cpu")


def warm_up(kernel: Kernel, X: np.ndarray, y: np.ndarray) -> None:
    """One small fit so JIT compilation, cache loading and lazy imports happen outside the timed call."""
    opts = options(kernel, epochs=1)
    m = min(X.shape[0], WARM_UP_ROWS)
    kernel.solve(kernel.prepare(X[:m], y[:m], opts), True, opts)
    if kernel.sync:
        kernel.sync()


def timed_fit(kernel: Kernel, X: np.ndarray, y: np.ndarray, opts: Options) -> float:
    """Seconds of one prepare + solve, synchronised when the kernel runs on a device."""
    t0 = time.perf_counter()
    kernel.solve(kernel.prepare(X, y, opts), True, opts)
    if kernel.sync:
        kernel.sync()
    return time.perf_counter() - t0


def calibrate(name: str, d: int, largest_n: int) -> tuple[int, float] | str:
    """(rows, seconds of one epoch on that many rows): the basis of the time estimate at larger n; or the
    kernel's refusal (a KernelError's message) where it will not fit the calibration's rows.

    Calibrates on CALIBRATION_ROWS in turn (best of two one-epoch fits), stopping as soon as the estimate at
    largest_n is far below the budget. Small sizes overestimate a kernel with a fixed per-call cost (it gets
    multiplied by n) and underestimate one whose data leave the caches, so a doubtful estimate is refined on
    more rows, unless that calibration would itself cost a good part of the budget (then the kernel is clearly
    too slow at largest_n).
    """
    kernel = REGISTRY[name]
    opts = options(kernel, epochs=1)
    budget = PROFILE.fit_budget_s
    rows_seen, t = CALIBRATION_ROWS[0], 0.0
    for i, rows in enumerate(r for r in CALIBRATION_ROWS if r < largest_n):
        X, y = data(rows, d)
        try:
            warm_up(kernel, X, y)
        except KernelError as exc:
            return f"refused: {exc}"
        rows_seen, t = rows, min(timed_fit(kernel, X, y, opts) for _ in range(2))
        following = CALIBRATION_ROWS[i + 1] if i + 1 < len(CALIBRATION_ROWS) else None
        if estimate(kernel, (rows, t), largest_n) < 0.1 * budget or following is None or \
                t * following / rows > 0.3 * budget:
            break
    return rows_seen, t


def estimate(kernel: Kernel, calibration: tuple[int, float], n: int) -> float:
    """Seconds of one fit at n rows, linear in n from the calibration (ESTIMATE_SAFETY when far beyond it).

    Every kernel here is O(n) at fixed d and epochs; the estimate only decides what to skip.
    """
    rows, t = calibration
    epochs = EPOCHS if kernel.algorithm in ITERATIVE else 1
    return epochs * t * n / rows * (ESTIMATE_SAFETY if 10 * rows < n else 1.0)


def calibrate_all() -> dict[tuple[str, int], tuple[int, float]]:
    """calibrate() for every selected kernel and d this profile runs beyond ESTIMATE_ABOVE_N rows."""
    largest = max(PROFILE.sizes + PROFILE.memory_sizes)
    if largest <= ESTIMATE_ABOVE_N or PROFILE.name == "gate":  # the gate skips by a fixed list, not estimates
        return {}
    ds = sorted(set(PROFILE.features) | set(PROFILE.wide) | {MEMORY_FEATURES})
    return {(name, d): calibrate(name, d, largest) for name in kernel_names()
            if name in REGISTRY and not REGISTRY[name].lazy for d in ds
            if d in PROFILE.features or d == MEMORY_FEATURES or REGISTRY[name].algorithm == "ols"}


class Estimates:
    """Mixin: asv runs this setup_cache once per run (keyed by this one function) and hands its result to
    every benchmark deriving from it, so each kernel is calibrated once and every benchmark skips the same
    sizes."""

    def setup_cache(self):
        return calibrate_all()

    setup_cache.timeout = 1800


def check_budget(kernel: Kernel, n: int, d: int, calibrations: dict) -> float:
    """Skip a fit estimated to take longer than the profile's budget (pure-Python loops at large n); else the
    estimate in seconds (0 at small n, where no estimate is needed)."""
    if PROFILE.name == "gate":
        if any(fnmatch.fnmatchcase(kernel.name, p) for p in GATE_SLOW):
            raise NotImplementedError(f"{kernel.name}: the gate profile leaves out the interpreted per-row loops")
        return 0.0
    if n <= ESTIMATE_ABOVE_N or kernel.lazy:
        # a Dask kernel's time on the calibration's few rows is the scheduler's round trip (50-100 ms a pass
        # here), which a linear estimate would multiply by n: they are O(n) passes and are never skipped
        return 0.0
    cal = calibrations.get((kernel.name, d))
    if cal is None:  # a size or kernel outside the profile's calibration (tests, a changed environment)
        cal = calibrate(kernel.name, d, n)
    if isinstance(cal, str):  # the kernel refused the calibration's rows (ols/exact's work limit at d = 100)
        raise NotImplementedError(f"{kernel.name} at d = {d}: {cal}")
    est = estimate(kernel, cal, n)
    budget = PROFILE.fit_budget_s
    if est > budget:
        raise NotImplementedError(
            f"{kernel.name} at n = {n}, d = {d}: one fit would take about {est:.0f} s (> {budget:g} s)")
    return est


def has_own_prepare(kernel: Kernel) -> bool:
    """Whether the kernel converts or moves the data before solving (lists, tensors, a device)."""
    return kernel.prepare is not prepare_numpy
