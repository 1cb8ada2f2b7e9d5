"""How many threads the parallel kernels use: every core by default, else $LRBENCH_THREADS or set_threads(n).

The count applies to Numba's parallel kernels (which split their work into that many parts), to PyTorch's
CPU operations and to the BLAS that NumPy, SciPy, scikit-learn and statsmodels call. `thread_info()` says
what is in force, so a benchmark report can record it next to its timings.
"""
from __future__ import annotations

import importlib.util
import os
import sys

from .errors import InputError

ENV_VAR = "LRBENCH_THREADS"

_state: dict = {"threads": None, "source": None}


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _numba_limit() -> int:
    try:
        import numba
    except ImportError:  # torch and BLAS still take a thread count without numba
        return available_cores()
    return int(numba.config.NUMBA_NUM_THREADS)


def _check(n, where: str) -> int:
    try:
        value = int(n)
        ok = value == float(n) and value >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"{where} must be a positive whole number of threads; got {n!r}")
    limit = _numba_limit()
    if value > limit:
        raise InputError(
            f"{where} asks for {value} threads, but Numba's pool has {limit} (this machine has "
            f"{available_cores()} core(s)); set NUMBA_NUM_THREADS before Python starts to allow more"
        )
    return value


def _apply(n: int) -> None:
    """Put the count in force for Numba (this thread), PyTorch (if loaded) and the loaded BLAS libraries."""
    if "numba" in sys.modules or importlib.util.find_spec("numba") is not None:
        try:
            import numba
            numba.set_num_threads(n)
        except ImportError:
            pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=n, user_api="blas")


def set_threads(n: int | None = None) -> int:
    """Use n threads from now on (None: $LRBENCH_THREADS if set, else every core); returns the count."""
    if n is None:
        env = os.environ.get(ENV_VAR, "").strip()
        if env:
            count, source = _check(env, f"${ENV_VAR}"), ENV_VAR
        else:
            count, source = min(available_cores(), _numba_limit()), "all cores"
    else:
        count, source = _check(n, "set_threads(n)"), "set_threads"
    if source != "all cores" or _state["source"] not in (None, "all cores"):
        _apply(count)  # the libraries already default to every core; only a choice needs pushing to them
    _state.update(threads=count, source=source)
    return count


def get_threads() -> int:
    """The thread count the parallel kernels use (read from $LRBENCH_THREADS on first use)."""
    if _state["threads"] is None:
        set_threads()
    return _state["threads"]


def numba_threads() -> int:
    """get_threads(), also put in force for Numba in the calling thread (Numba's count is per thread)."""
    import numba
    n = get_threads()
    if numba.get_num_threads() != n:
        numba.set_num_threads(n)
    return n


def thread_info() -> dict:
    """What is in force: threads, where the count came from, cores, Numba's threading layer and pool size."""
    import numba
    n = get_threads()
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet: the layer is chosen at the first one
        layer = numba.config.THREADING_LAYER
    return {"threads": n, "source": _state["source"], "cores": available_cores(),
            "numba_threading_layer": layer, "numba_pool": _numba_limit()}
