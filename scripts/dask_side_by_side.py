"""Side-by-side figures for the Dask kernels on this machine (d = 1): in memory at n = 1e7 against
ols/numba-parallel and the machine's read floor, and out of core at 1e8 (LRBENCH_SCALE_N) against the same
files' Dask read floor, cold (page cache dropped before every sample: needs root) and warm. Prints JSON.

    PYTHONPATH=$PWD python scripts/dask_side_by_side.py [--cold]
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

from benchmarks import bench_scale
from benchmarks.floors import read_once
from kernels import REGISTRY, cluster
from kernels.backends.dask_chunks.descent import epoch_pass
from kernels.contract import Options
from kernels.datasets import make_regression


def best(f, repeat=3, before=None):
    times = []
    for _ in range(repeat):
        if before:
            before()
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def drop_caches():
    subprocess.run(["sh", "-c", "sync; echo 3 > /proc/sys/vm/drop_caches"], check=True)


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


def out_of_core(n: int, cold: bool) -> dict:
    bench_scale.ensure_dataset(n)
    out = {"n": n, "cold": cold}
    before = drop_caches if cold else None
    f = bench_scale.DaskReadFloor()
    f.setup(n)
    out["chunks"] = len(f.X.chunks[0])
    out["dask_read_floor"] = best(lambda: f.time_read(n), before=before)
    t = bench_scale.TaskOverhead()
    t.setup(n)
    out["empty_pass"] = best(lambda: t.time_empty_pass(n))
    for name in ("ols/dask", "gd/dask", "minibatch/dask", "ols/dask-lstsq", "ols/dask-ml"):
        if name in os.environ.get("LRBENCH_SKIP", "").split(","):
            continue
        b = bench_scale.OutOfCore()
        b.setup(name, n)
        out[name] = best(lambda: b.time_fit(name, n), repeat=2, before=before)
        print(name, out[name], file=sys.stderr, flush=True)
    return out


if __name__ == "__main__":
    t0 = time.perf_counter()
    cluster.close()
    cluster.get_client()
    res = {"cpu": cpu_name(), "cores": os.cpu_count(), "cluster_start": time.perf_counter() - t0}
    if "--memory" in sys.argv or "--all" in sys.argv:
        res["in_memory"] = in_memory(int(float(os.environ.get("LRBENCH_MEMORY_N", "1e7"))))
        print(json.dumps(res["in_memory"]), file=sys.stderr, flush=True)
    if "--disk" in sys.argv or "--all" in sys.argv:
        res["out_of_core"] = out_of_core(int(float(os.environ.get("LRBENCH_SCALE_N", "1e8"))), "--cold" in sys.argv)
    print(json.dumps(res, indent=1))
    cluster.close()
