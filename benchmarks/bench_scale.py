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
import resource
import time

import numpy as np

from kernels import chunked_data, cluster
from kernels.backends.dask_chunks.chunks import Chunked, partials, read_sum, tree_reduce
from kernels.datasets import cache_dir

from .common import PROFILE, available_memory, get, in_profile, options

DISK_KERNELS = ["ols/dask", "gd/dask", "minibatch/dask", "ols/dask-lstsq", "ols/dask-ml"]
_SIZES = list(PROFILE.disk_sizes) or [0]  # asv needs one value; 0 is skipped in setup


def dataset_dir(n: int, d: int = 1):
    return cache_dir() / "scale" / f"n{n}-d{d}-s0"


def ensure_dataset(n: int, d: int = 1):
    """The seeded dataset of n rows on disk, written (chunk by chunk, on the cluster) if it is not there."""
    path = dataset_dir(n, d)
    if not (path / "meta.json").exists():
        chunked_data.write_dataset(path, rows=n, features=d, seed=0, client=cluster.get_client(), progress=False)
    return path


def _skip_unless_scale(n: int) -> None:
    if not n:
        raise NotImplementedError(f"no out-of-core sizes in the {PROFILE.name} profile (LRBENCH_PROFILE=scale)")


class _OnDisk:
    params = [_SIZES]
    param_names = ["n"]
    rounds = 1
    repeat = (1, 3, 60.0)
    timeout = 3600

    def setup_cache(self):
        for n in PROFILE.disk_sizes:
            ensure_dataset(n)
        cluster.close()  # setup_cache runs in its own process: no cluster may outlive it

    setup_cache.timeout = 7200

    def open(self, n: int):
        _skip_unless_scale(n)
        self.client = cluster.get_client()
        self.X, self.y = chunked_data.open_chunked(dataset_dir(n))


class OutOfCore(_OnDisk):
    """One fit (ols) or one epoch (gd: one fused pass; minibatch: one chained pass) over the files."""

    params = [DISK_KERNELS, _SIZES]
    param_names = ["kernel", "n"]

    def setup(self, name, n):
        kernel = get(name)
        if not in_profile(kernel):
            raise NotImplementedError(f"{name}: not in the {PROFILE.name} profile")
        if name == "ols/dask-lstsq" and 8 * n * 2 > available_memory() / 2:
            raise NotImplementedError("dask.array.linalg.lstsq keeps Q (the size of X) until Qᵀy: "
                                      "it does not fit in memory here")
        self.open(n)
        self.kernel = kernel
        self.opts = dataclasses.replace(options(kernel, epochs=1), scheduler=self.client)
        self.data = kernel.prepare(self.X, self.y, self.opts)

    def time_fit(self, name, n):
        if self.kernel.name == "gd/dask":  # one epoch = one pass at the current parameters
            from kernels.backends.dask_chunks.descent import epoch_pass
            epoch_pass(self.data, 0.0, np.zeros(1), True)
        else:
            self.kernel.solve(self.data, True, self.opts)

    def track_worker_peak_mb(self, name, n):
        """Largest peak RSS of any worker process after one fit: at most a few chunks, whatever n is."""
        self.time_fit(name, n)
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

    def setup(self, n):
        self.open(n)
        self.floor = dask_read_floor(self.X, self.y, self.client)

    def time_read(self, n):
        self.client.compute(self.floor, sync=True)

    def track_dataset_vs_memory(self, n):
        """Dataset size over available memory: above 1 the page cache cannot hold it (reads hit the disk)."""
        return 8 * n * 2 / available_memory()


class RawRead(_OnDisk):
    """The files read sequentially by this process into one buffer (no Dask, no parsing): the storage's own
    speed, from the page cache unless it was dropped or the dataset exceeds memory (track_dataset_vs_memory)."""

    def setup(self, n):
        _skip_unless_scale(n)
        self.files = sorted(dataset_dir(n).glob("[Xy]/*.npy"))
        self.buf = bytearray(8 << 20)

    def time_read_files(self, n):
        view = memoryview(self.buf)
        for path in self.files:
            with open(path, "rb", buffering=0) as f:
                while f.readinto(view):
                    pass


class TaskOverhead(_OnDisk):
    """A pass of empty tasks with the dataset's chunk structure, tree-reduced: Dask's cost with no data."""

    def setup(self, n):
        self.open(n)
        import dask.array as da
        self.empty = da.map_blocks(lambda b: np.zeros((1, 1)), da.zeros((len(self.X.chunks[0]), 1), chunks=1),
                                   dtype=np.float64).sum()

    def time_empty_pass(self, n):
        self.client.compute(self.empty, sync=True)


class ClusterStart:
    """The local cluster's start-up (workers as processes, one thread each), timed apart from every fit."""

    rounds = 1
    repeat = (1, 3, 60.0)
    timeout = 300

    def setup(self):
        if PROFILE.name != "scale":
            raise NotImplementedError("cluster start-up is measured in the scale profile")
        cluster.close()

    def time_start(self):
        cluster.get_client()

    def teardown(self):
        cluster.close()


def measure(n: int, repeat: int = 3) -> dict:
    """Best-of-`repeat` seconds of every measure above at n rows, for a quick side-by-side outside asv."""
    out = {}

    def best(f):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
        return min(times)

    floor = DaskReadFloor()
    floor.setup(n)
    out["read_floor"] = best(lambda: floor.time_read(n))
    over = TaskOverhead()
    over.setup(n)
    out["empty_pass"] = best(lambda: over.time_empty_pass(n))
    for name in DISK_KERNELS:
        b = OutOfCore()
        try:
            b.setup(name, n)
        except NotImplementedError as exc:
            out[name] = str(exc)
            continue
        out[name] = best(lambda: b.time_fit(name, n))
    return out
