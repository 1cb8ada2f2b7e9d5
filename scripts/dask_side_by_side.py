"""Side-by-side figures for the Dask kernels on this machine, outside asv: in memory at n = 1e7 (d = 1) against
ols/numba-parallel and the machine's read floor, and out of core at LRBENCH_SCALE_N rows (default 1e8) and
LRBENCH_SCALE_D features (default 1) against the same files' Dask read floor and raw read, on 1 and 2 workers
(LRBENCH_SCALE_WORKERS), best of LRBENCH_REPEAT samples (default 2; LRBENCH_SKIP=k1,k2 leaves kernels out),
cold (page cache dropped before every sample: needs root) or warm. Prints JSON.

    PYTHONPATH=$PWD python scripts/dask_side_by_side.py --memory | --disk | --all [--cold]
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time

import numpy as np

# The out-of-core dataset: the scale profile's, at LRBENCH_SCALE_N rows (1e9 is the profile's own 1e9 dataset).
SCALE_N = int(float(os.environ.get("LRBENCH_SCALE_N", "1e8")))
os.environ["LRBENCH_PROFILE"] = "scale"
os.environ["LRBENCH_SCALE_1E9" if SCALE_N == 1_000_000_000 else "LRBENCH_SCALE_ROWS"] = \
    "1" if SCALE_N == 1_000_000_000 else str(SCALE_N)

from benchmarks import bench_scale  # noqa: E402 (reads the profile from the environment set above)
from benchmarks.floors import read_once  # noqa: E402
from kernels import REGISTRY, cluster  # noqa: E402
from kernels.backends.dask_chunks.descent import epoch_pass  # noqa: E402
from kernels.contract import Options  # noqa: E402
from kernels.datasets import make_regression  # noqa: E402


def best(f, repeat=3, before=None):
    times = []
    for _ in range(repeat):
        if before:
            before()
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def cpu_name() -> str:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def in_memory(n: int) -> dict:
    ds = make_regression(n, 1, seed=0)
    X, y = ds.X, ds.y
    out = {"n": n, "read_floor": best(lambda: read_once(X, y))}
    k = REGISTRY["ols/numba-parallel"]
    k.solve(k.prepare(X[:1000], y[:1000], Options()), True, Options())
    out["ols/numba-parallel"] = best(lambda: k.solve((X, y), True, Options()))
    client = cluster.get_client()
    opts = Options(scheduler=client, epochs=1)
    data = REGISTRY["ols/dask"].prepare(X, y, opts)
    out["chunks"] = len(data.X.chunks[0])
    floor = bench_scale.dask_read_floor(data.X, data.y, client)
    out["dask_read_floor"] = best(lambda: client.compute(floor, sync=True))
    for name in ("ols/dask", "ols/dask-lstsq", "ols/dask-ml"):
        kk = REGISTRY[name]
        kk.solve(data, True, opts)
        out[name] = best(lambda: kk.solve(data, True, opts), repeat=2 if "dask-" in name else 3)
    out["gd/dask epoch"] = best(lambda: epoch_pass(data, 0.0, np.zeros(1), True))
    return out


def out_of_core(n: int, d: int, workers: int, cold: bool, skip=(), repeat=2) -> dict:
    """The files' Dask read floor, raw sequential read, a pass of empty tasks and every Dask kernel at n rows and
    d features on `workers` local workers; `cold`: the page cache dropped before every sample."""
    bench_scale.ensure_dataset(n, d)
    before = bench_scale.drop_page_cache if cold else None
    out = {"n": n, "d": d, "workers": workers, "cold": cold, "GB": bench_scale.dataset_bytes(n, d) / 1e9}
    f = bench_scale.DaskReadFloor()
    f.setup(n, d, workers)
    out["chunks"] = len(f.X.chunks[0])
    out["dataset_vs_memory"] = f.track_dataset_vs_memory(n, d, workers)
    out["dask_read_floor"] = best(lambda: f.time_read(n, d, workers), repeat, before)
    if "raw" not in skip:
        r = bench_scale.RawRead()
        r.setup(n, d)
        out["raw_read"] = best(lambda: r.time_read_files(n, d), repeat, before)
    t = bench_scale.TaskOverhead()
    t.setup(n, d, workers)
    out["empty_pass"] = best(lambda: t.time_empty_pass(n, d, workers), 3)
    print(json.dumps(out), file=sys.stderr, flush=True)
    for name in bench_scale.DISK_KERNELS:
        if name in skip:
            out[name] = "skipped (LRBENCH_SKIP)"
            continue
        b = bench_scale.OutOfCore()
        try:
            b.setup(name, n, d, workers)
        except NotImplementedError as exc:
            out[name] = str(exc)
            continue
        once = "dask-" in name  # the references take minutes a fit here: one sample
        out[name] = best(lambda: b.time_fit(name, n, d, workers), 1 if once else repeat, before)
        out[name + " worker_peak_MB"] = max(b.client.run(
            lambda: __import__("resource").getrusage(__import__("resource").RUSAGE_SELF).ru_maxrss / 1024).values())
        print(name, out[name], file=sys.stderr, flush=True)
    return out


if __name__ == "__main__":
    res = {"cpu": cpu_name(), "cores": os.cpu_count(), "cluster_start": {}}
    for w in bench_scale._WORKERS if bench_scale._WORKERS != [0] else [1, 2]:
        cluster.close()
        t0 = time.perf_counter()
        cluster.get_client(workers=w)
        res["cluster_start"][w] = time.perf_counter() - t0
    if "--memory" in sys.argv or "--all" in sys.argv:
        res["in_memory"] = in_memory(int(float(os.environ.get("LRBENCH_MEMORY_N", "1e7"))))
        print(json.dumps(res["in_memory"]), file=sys.stderr, flush=True)
    if "--disk" in sys.argv or "--all" in sys.argv:
        n = SCALE_N
        d = int(os.environ.get("LRBENCH_SCALE_D", "1"))
        skip = os.environ.get("LRBENCH_SKIP", "").split(",")
        repeat = int(os.environ.get("LRBENCH_REPEAT", "2"))  # samples of each measure (1 at 1e9 here)
        res["out_of_core"] = [out_of_core(n, d, w, "--cold" in sys.argv, skip + (["raw"] if w != 1 else []), repeat)
                              for w in (int(x) for x in os.environ.get("LRBENCH_SCALE_WORKERS", "1,2").split(","))]
    print(json.dumps(res, indent=1))
    cluster.close()
