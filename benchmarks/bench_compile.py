"""Numba's first call, in a fresh process: JIT compilation ("cold") or loading the on-disk cache ("cached").

Fit times exclude both (Fit's setup makes a warm-up call). Each sample is a new Python process (asv's
timeraw_); its untimed setup imports the package and warms numba's own machinery with a trivial function,
so the timed statement is this kernel's first call on 100 rows: its compilation plus a negligible run.
"""
from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

from numba import njit
from numba.core.registry import CPUDispatcher

from .common import PROFILE, get, kernel_names, options

# The child needs only NumPy and numba: making the other backends' imports fail keeps each sample's
# (untimed) start short, and those backends register nothing numba compiles.
_CHILD_SETUP = """
import os, sys, tempfile
os.environ["NUMBA_CACHE_DIR"] = {cache_dir!r} or tempfile.mkdtemp(dir={root!r})
for _m in ("torch", "sklearn", "statsmodels"):
    sys.modules[_m] = None
import numpy as np
from numba import njit
njit(lambda v: v + 1.0)(1.0)
from kernels import REGISTRY
from kernels.contract import Options
kernel = REGISTRY[{name!r}]
opts = Options(**{opts!r})
rng = np.random.default_rng(0)
X = rng.standard_normal((100, 10))
y = X.sum(axis=1) + rng.standard_normal(100)
"""
_CHILD_STMT = "kernel.solve(kernel.prepare(X, y, opts), True, opts)"


def _is_numba(kernel) -> bool:
    return "numba" in kernel.backend


def _child_options(name: str) -> dict:
    opts = options(get(name), epochs=1)
    return {"learning_rate": opts.learning_rate, "epochs": opts.epochs, "tol": opts.tol,
            "batch_size": opts.batch_size}


@functools.lru_cache(maxsize=None)
def _filled_cache(name: str, root: str) -> str:
    """A numba cache folder holding this kernel's compiled code, written by one fresh process."""
    cache_dir = tempfile.mkdtemp(dir=root)
    code = _CHILD_SETUP.format(cache_dir=cache_dir, root=root, name=name, opts=_child_options(name)) + _CHILD_STMT
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=600)
    return cache_dir


class NumbaFirstCall:
    """Seconds of a numba kernel's first call in a new process: compile ("cold") or cache load ("cached")."""

    param_names = ["kernel", "cache"]
    params = [kernel_names(predicate=_is_numba), list(PROFILE.compile_states)]
    rounds = 1
    repeat = (1, 3, 30.0) if PROFILE.name == "full" else 1
    number = 1
    warmup_time = 0.0  # a warm-up would be one more fresh process, measuring the same thing
    timeout = 600

    def setup(self, name, cache):
        get(name)
        self.root = tempfile.mkdtemp(prefix="lrbench-numba-")
        self.cache_dir = _filled_cache(name, self.root) if cache == "cached" else ""

    def teardown(self, name, cache):
        shutil.rmtree(self.root, ignore_errors=True)
        _filled_cache.cache_clear()

    def timeraw_first_call(self, name, cache):
        setup = _CHILD_SETUP.format(cache_dir=self.cache_dir, root=self.root, name=name,
                                    opts=_child_options(name))
        return _CHILD_STMT, textwrap.dedent(setup)


def compile_seconds(modules=None) -> dict[str, float]:
    """Seconds to compile afresh (no disk cache) every compiled function used so far in `modules` (default:
    the numba backend's, the read floor's and fit's input checks'), keyed "module.function".

    Each function is recompiled from its Python source for the signatures it has been called with;
    functions it calls are reused as compiled, so each figure is that function's own compile time.
    A new process's first call (compile or cache load, everything included) is NumbaFirstCall above.
    """
    if modules is None:
        from kernels import numerics, validation_scan
        from kernels.backends import numba_jit

        from . import floors
        modules = [m for m in sys.modules.values() if getattr(m, "__name__", "").startswith(
            (numba_jit.__name__ + ".", numerics.__name__ + "."))] + [floors, validation_scan]
    out = {}
    for mod in modules:
        short = mod.__name__.rpartition(".")[2]
        for name, fn in sorted(vars(mod).items()):
            if not (isinstance(fn, CPUDispatcher) and fn.signatures and fn.py_func.__module__ == mod.__name__):
                continue
            opts = {k: v for k, v in fn.targetoptions.items() if k != "nopython"}
            fresh = njit(**opts, cache=False)(fn.py_func)
            t0 = time.perf_counter()
            for sig in fn.signatures:
                fresh.compile(sig)
            out[f"{short}.{name}"] = time.perf_counter() - t0
    return out
