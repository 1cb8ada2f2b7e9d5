"""The Dask cluster the dask kernels run on: a LocalCluster started once on first use and reused, or an
existing scheduler by address ($LRBENCH_SCHEDULER, the `scheduler=` option, `--scheduler`).

Local workers are processes with one thread each, BLAS and Numba at one thread inside them (the work is
spread over workers, not threads), and a memory limit each. Start-up is timed apart (`last_start_seconds`),
like JIT compilation, and the dashboard link is printed when a cluster starts.
"""
from __future__ import annotations

import atexit
import os
import sys
import time

from .errors import KernelError
from .threads import available_cores

ENV_SCHEDULER = "LRBENCH_SCHEDULER"  # tcp://host:port of an existing scheduler
ENV_WORKERS = "LRBENCH_DASK_WORKERS"  # local workers (default: one per core)
ENV_PROCESSES = "LRBENCH_DASK_PROCESSES"  # "0": local workers as threads of this process (tests)
ENV_MEMORY = "LRBENCH_DASK_MEMORY"  # memory limit per local worker, e.g. "4GiB" (default: RAM / workers)
CONNECT_TIMEOUT_S = 5.0
ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "NUMBA_NUM_THREADS", "LRBENCH_THREADS")}

_state: dict = {"clients": {}, "local": None, "start_seconds": 0.0}


class SchedulerError(KernelError, ConnectionError):
    """The Dask scheduler named by address cannot be reached."""


def _address(scheduler) -> str | None:
    return scheduler if isinstance(scheduler, str) else os.environ.get(ENV_SCHEDULER) or None


def get_client(scheduler=None, workers: int | None = None):
    """A distributed.Client: `scheduler` itself when it is one, else one connected to `scheduler` (an address)
    or $LRBENCH_SCHEDULER, else the local cluster (started now if it is not running). Cached per address.
    `workers`: the local cluster's worker count (restarted if it runs another); refused for a scheduler by address."""
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler
    if scheduler is not None and not isinstance(scheduler, str):
        raise KernelError(f"scheduler must be an address such as 'tcp://host:8786' or a distributed.Client; "
                          f"got {type(scheduler).__name__}")
    address = _address(scheduler)
    if address and workers is not None:
        raise KernelError(f"the worker count is chosen for the local cluster only; the scheduler at {address} "
                          "has the workers started for it")
    key = address or "local"
    client = _state["clients"].get(key)
    if client is not None and workers is not None and len(client.scheduler_info()["workers"]) != workers:
        close()
        client = None
    if client is not None and client.status == "running":
        return client
    t0 = time.perf_counter()
    client = _connect(address) if address else _start_local(workers)
    _state["start_seconds"] = time.perf_counter() - t0
    _state["clients"][key] = client
    print(f"lrbench: Dask cluster {'at ' + address if address else 'started locally'} in "
          f"{_state['start_seconds']:.1f} s, {len(client.scheduler_info()['workers'])} worker(s); "
          f"dashboard: {client.dashboard_link}", file=sys.stderr)
    return client


def last_start_seconds() -> float:
    """Seconds the last cluster start (or connection) took; 0.0 when the cluster was already running."""
    return _state["start_seconds"]


def take_start_seconds() -> float:
    """last_start_seconds(), then reset to 0.0: a fit reports start-up once, the fit that paid it."""
    s, _state["start_seconds"] = _state["start_seconds"], 0.0
    return s


def _connect(address: str):
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT_S:.0f} s ({exc}); start one "
            f"with `dask scheduler` and workers with `dask worker {address}`, or unset {ENV_SCHEDULER} to use "
            "a local cluster") from None


def local_cluster_kwargs(workers: int | None = None) -> dict:
    """How the local cluster is started: worker processes, one thread each, BLAS at one thread, a memory limit."""
    workers = workers or int(os.environ.get(ENV_WORKERS) or available_cores())
    processes = os.environ.get(ENV_PROCESSES, "1") != "0"
    kw = {"n_workers": workers, "threads_per_worker": 1, "processes": processes, "dashboard_address": ":0"}
    if processes:
        kw["memory_limit"] = os.environ.get(ENV_MEMORY) or "auto"  # auto: system memory / workers
        kw["env"] = dict(ONE_THREAD)  # set in each worker before its libraries load
    return kw


def _start_local(workers: int | None = None):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(**local_cluster_kwargs(workers))
    _state["local"] = cluster
    return Client(cluster, set_as_default=False)


def close() -> None:
    """Close every client this module opened and the local cluster it started (also at interpreter exit)."""
    for client in _state["clients"].values():
        client.close()
    _state["clients"].clear()
    if _state["local"] is not None:
        _state["local"].close()
        _state["local"] = None


atexit.register(close)
