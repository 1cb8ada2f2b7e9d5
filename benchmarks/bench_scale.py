"""Beyond one machine's memory (LRBENCH_PROFILE=scale): the Dask kernels on datasets on disk, next to the
same files' Dask read floor, Dask's per-task overhead and the cluster's start-up.

In-memory sizes are Fit's (bench_time.py: the scale profile runs the Dask kernels, their references and
ols/numba-parallel at n = 1e7). Here, out of core: datasets written once by kernels.chunked_data under the
cache directory (`lrbench make-data`), opened lazily, read from disk (or the page cache: see
track_dataset_vs_memory) on every pass. Every fit runs on the local cluster (kernels/cluster.py), or the one
$LRBENCH_SCHEDULER names, whose workers must then see the same cache directory.
"""
from __future__ import annotations

import dataclasses
import os
import resource

import numpy as np

from kernels import chunked_data, cluster
from kernels.backends.dask_chunks.chunks import Chunked, partials, read_sum, tree_reduce
from kernels.datasets import cache_dir
from kernels.errors import KernelError
from kernels.threads import available_cores

from .common import PROFILE, available_memory, get, in_profile, options

DISK_KERNELS = ["ols/dask", "gd/dask", "minibatch/dask", "ols/dask-lstsq", "ols/dask-ml"]
# asv needs one value per parameter; 0 is skipped in setup
_SIZES = sorted({n for n, _ in PROFILE.disk_datasets}) or [0]
_FEATURES = sorted({d for _, d in PROFILE.disk_datasets}) or [0]
_WORKERS = sorted({1, available_cores()}) if PROFILE.disk_datasets else [0]
DROP_CACHES = os.environ.get("LRBENCH_DROP_CACHES") == "1"  # before every out-of-core sample (needs root)


def dataset_dir(n: int, d: int = 1):
    return cache_dir() / "scale" / f"n{n}-d{d}-s0"


def ensure_dataset(n: int, d: int = 1):
    """The seeded dataset of n rows on disk, written (chunk by chunk, on the cluster) if it is not there."""
    path = dataset_dir(n, d)
    if not (path / "meta.json").exists():
        chunked_data.write_dataset(path, rows=n, features=d, seed=0, client=cluster.get_client(), progress=False)
    return path


def dataset_bytes(n: int, d: int) -> int:
    return 8 * n * (d + 1)


def drop_page_cache() -> None:
    """Write back and drop the page cache, so the next read comes from the disk (root only)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError as exc:
        raise RuntimeError(f"LRBENCH_DROP_CACHES=1 needs root to write /proc/sys/vm/drop_caches: {exc}") from None


def stable_rate(d: int) -> float:
    """A learning rate below 1 / λmax of E[x xᵀ] (intercept included) for chunked_data's generator, whose column
    j has mean j and variance 1: λmax <= |(1, 1, ..., d)|² + 1 = 2 + Σ j²."""
    return 1.0 / (2 + sum(j * j for j in range(1, d + 1)))


def _skip_unless_dataset(n: int, d: int) -> None:
    if (n, d) not in PROFILE.disk_datasets:
        raise NotImplementedError(f"no out-of-core dataset n = {n}, d = {d} in the {PROFILE.name} profile "
                                  "(LRBENCH_PROFILE=scale)")


class _OnDisk:
    """asv re-runs setup before every sample, and setup drops the page cache when asked; no warm-up pass
    (warmup_time = 0) may fill the cache before a cold sample."""

    params = [_SIZES, _FEATURES, _WORKERS]
    param_names = ["n", "d", "workers"]
    rounds = 1
    repeat = (1, 3, 60.0)
    number = 1
    warmup_time = 0.0
    timeout = 3600

    def setup_cache(self):
        for n, d in PROFILE.disk_datasets:
            ensure_dataset(n, d)
        cluster.close()  # setup_cache runs in its own process: no cluster may outlive it

    setup_cache.timeout = 7200

    def open(self, n: int, d: int, workers: int):
        _skip_unless_dataset(n, d)
        try:
            self.client = cluster.get_client(workers=workers)
        except KernelError as exc:  # a scheduler by address: its own workers, not this parameter's
            if workers != max(_WORKERS):
                raise NotImplementedError(str(exc)) from None
            self.client = cluster.get_client()
        self.X, self.y = chunked_data.open_chunked(dataset_dir(n, d))

    def cold(self) -> None:
        if DROP_CACHES:
            drop_page_cache()


class OutOfCore(_OnDisk):
    """One fit (ols) or one epoch (gd: one fused pass; minibatch: one chained pass) over the files."""

    params = [DISK_KERNELS] + _OnDisk.params
    param_names = ["kernel"] + _OnDisk.param_names

    def setup(self, name, n, d, workers):
        kernel = get(name)
        if not in_profile(kernel):
            raise NotImplementedError(f"{name}: not in the {PROFILE.name} profile")
        if name == "ols/dask-lstsq" and dataset_bytes(n, d) > available_memory() / 2:
            raise NotImplementedError("dask.array.linalg.lstsq keeps Q (the size of X) until Qᵀy: "
                                      "it does not fit in memory here")
        self.open(n, d, workers)
        self.kernel = kernel
        self.opts = dataclasses.replace(options(kernel, epochs=1), scheduler=self.client)
        if kernel.algorithm == "minibatch":  # per-sample steps on unscaled columns: keep below 1 / λmax(E[x xᵀ])
            self.opts = dataclasses.replace(self.opts, learning_rate=min(self.opts.learning_rate, stable_rate(d)))
        self.data = kernel.prepare(self.X, self.y, self.opts)
        self.cold()

    def time_fit(self, name, n, d, workers):
        if self.kernel.name == "gd/dask":  # one epoch = one pass at the current parameters
            from kernels.backends.dask_chunks.descent import epoch_pass
            epoch_pass(self.data, 0.0, np.zeros(d), True)
        else:
            self.kernel.solve(self.data, True, self.opts)

    def track_worker_peak_mb(self, name, n, d, workers):
        """Largest peak RSS of any worker process after one fit: at most a few chunks, whatever n is."""
        self.time_fit(name, n, d, workers)
        peaks = self.client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return max(peaks.values())

    track_worker_peak_mb.unit = "MB"


def dask_read_floor(X, y, client):
    """One pass that only reads and sums every chunk, with the kernels' task structure (one task per chunk,
    the same tree): what ols/dask would cost if its arithmetic were free."""
    data = Chunked(X, y, client)
    return tree_reduce(partials(data, read_sum, 1), lambda p: p.sum(axis=0, keepdims=True))


class DaskReadFloor(_OnDisk):
    """The same files read once and summed, chunk by chunk, on the same cluster: no fit can beat it."""

    def setup(self, n, d, workers):
        self.open(n, d, workers)
        self.floor = dask_read_floor(self.X, self.y, self.client)
        self.cold()

    def time_read(self, n, d, workers):
        self.client.compute(self.floor, sync=True)

    def track_dataset_vs_memory(self, n, d, workers):
        """Dataset size over available memory: above 1 the page cache cannot hold it (reads hit the disk)."""
        return dataset_bytes(n, d) / available_memory()

    def track_page_cache_dropped(self, n, d, workers):
        """1 when the page cache was dropped before every out-of-core sample (LRBENCH_DROP_CACHES=1), else 0."""
        return float(DROP_CACHES)


class RawRead(_OnDisk):
    """The files read sequentially by this process into one buffer (no Dask, no parsing): the storage's own
    speed, from the page cache unless it was dropped or the dataset exceeds memory (track_dataset_vs_memory)."""

    params = [_SIZES, _FEATURES]
    param_names = ["n", "d"]

    def setup(self, n, d):
        _skip_unless_dataset(n, d)
        self.files = sorted(dataset_dir(n, d).glob("[Xy]/*.npy"))
        self.buf = bytearray(8 << 20)
        self.cold()

    def time_read_files(self, n, d):
        view = memoryview(self.buf)
        for path in self.files:
            with open(path, "rb", buffering=0) as f:
                while f.readinto(view):
                    pass


class TaskOverhead(_OnDisk):
    """A pass of empty tasks with the dataset's chunk structure, tree-reduced: Dask's cost with no data."""

    def setup(self, n, d, workers):
        self.open(n, d, workers)
        import dask.array as da
        self.empty = da.map_blocks(lambda b: np.zeros((1, 1)), da.zeros((len(self.X.chunks[0]), 1), chunks=1),
                                   dtype=np.float64).sum()

    def time_empty_pass(self, n, d, workers):
        self.client.compute(self.empty, sync=True)

    def track_chunks(self, n, d, workers):
        """Chunks (tasks of a pass before the tree's merges): the empty pass over this is the cost per task."""
        return float(len(self.X.chunks[0]))


class ClusterStart:
    """The local cluster's start-up (workers as processes, one thread each), timed apart from every fit."""

    params = [_WORKERS]
    param_names = ["workers"]
    rounds = 1
    repeat = (1, 3, 60.0)
    warmup_time = 0.0
    timeout = 300

    def setup(self, workers):
        if PROFILE.name != "scale":
            raise NotImplementedError("cluster start-up is measured in the scale profile")
        cluster.close()

    def time_start(self, workers):
        cluster.get_client(workers=workers)

    def teardown(self, workers):
        cluster.close()
