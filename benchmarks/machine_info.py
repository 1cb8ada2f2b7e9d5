"""The machine the benchmarks ran on, as the run record keeps it: CPU and its SIMD flags, memory, GPU, library
versions, and the threads every library uses."""
from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys

from kernels.threads import thread_info

LIBRARIES = ("numpy", "scipy", "numba", "torch", "scikit-learn", "statsmodels", "pandas", "matplotlib",
             "threadpoolctl", "asv", "lrbench")


# The vector extensions that decide how fast a vectorised loop can run (x86 and Arm names as /proc/cpuinfo spells them).
SIMD = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_bf16", "amx_tile",
        "neon", "asimd", "sve", "sve2")


def _cpuinfo(key: str) -> str | None:
    """The first value of `key` in /proc/cpuinfo ("model name", "flags", "Features"), or None."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":", 1)[0].strip() == key:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def _simd() -> str:
    """The SIMD extensions the CPU reports, or why they are unknown."""
    flags = (_cpuinfo("flags") or _cpuinfo("Features") or "").split()
    if not flags:
        return "unknown (no /proc/cpuinfo)"
    return " ".join(f for f in SIMD if f in flags) or "none of " + ", ".join(SIMD)


def _memory() -> str:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _versions() -> list[tuple[str, str]]:
    out = [("Python", sys.version.split()[0])]
    for lib in LIBRARIES:
        try:
            out.append((lib, importlib.metadata.version(lib)))
        except importlib.metadata.PackageNotFoundError:
            out.append((lib, "not installed"))
    return out


def _gpu() -> list[tuple[str, str]]:
    """Name, memory, driver and CUDA version of each GPU, from torch and nvidia-smi; empty without one."""
    rows = []
    try:
        import torch
        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                p = torch.cuda.get_device_properties(i)
                rows.append((f"GPU {i}", f"{p.name}, {p.total_memory / 2**30:.1f} GiB"))
            rows.append(("CUDA (torch build)", str(torch.version.cuda)))
    except Exception as exc:  # a broken CUDA install must not stop the report; say what happened
        rows.append(("GPU", f"torch could not query CUDA: {exc}"))
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20).stdout.strip()
            if out:
                rows.append(("nvidia-smi: name, memory, driver", out))
        except (OSError, subprocess.SubprocessError) as exc:
            rows.append(("nvidia-smi", f"failed: {exc}"))
    return rows


def _threads() -> list[tuple[str, str]]:
    """BLAS and OpenMP libraries with their thread counts (threadpoolctl), numba's and torch's threads."""
    rows = []
    for mod in ("numpy", "scipy.linalg", "torch", "numba", "sklearn"):
        try:
            importlib.import_module(mod)  # threadpoolctl sees only the libraries loaded so far
        except ImportError:
            pass
    try:
        from threadpoolctl import threadpool_info
        for info in threadpool_info():
            desc = f"{info.get('internal_api')} {info.get('version') or ''}".strip()
            extra = f", core type {info['architecture']}" if info.get("architecture") else ""
            rows.append((f"{info.get('user_api')}: {os.path.basename(str(info.get('filepath')))}",
                         f"{desc}, {info.get('num_threads')} threads{extra}"))
    except ImportError:
        rows.append(("threadpoolctl", "not installed"))
    try:  # which BLAS core kernel forms the wide OLS blocks: it sets their rounding order (within the bound)
        from kernels.backends.numba_jit.blas_products import WIDE_FROM, blas_info
        for info in blas_info():
            rows.append((f"ols/numba blocks at d >= {WIDE_FROM}: dsyrk from", f"{os.path.basename(info['filepath'])}, "
                         f"core type {info.get('architecture') or 'unknown'}"))
    except ImportError:  # numba missing: those kernels are not registered
        pass
    try:
        import numba
        rows.append(("numba threads", str(numba.config.NUMBA_NUM_THREADS)))
    except ImportError:
        pass
    try:
        import torch
        rows.append(("torch intra-op threads", str(torch.get_num_threads())))
    except ImportError:
        pass
    try:
        rows.extend((f"lrbench threads: {k}", str(v)) for k, v in thread_info().items())
    except ImportError as exc:  # numba missing: no threading layer to describe
        rows.append(("lrbench threads", f"unavailable: {exc}"))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                "LRBENCH_THREADS", "OPENBLAS_CORETYPE"):
        if var in os.environ:
            rows.append((f"${var}", os.environ[var]))
    return rows


def this_machine() -> dict[str, list[tuple[str, str]]]:
    """Sections of (name, value) rows describing this machine: hardware, software, threads."""
    return {
        "hardware": [("host", platform.node()), ("CPU", _cpu_model()), ("SIMD", _simd()),
                     ("cores", str(os.cpu_count())),
                     ("memory", _memory()), ("OS", f"{platform.system()} {platform.release()}")] + _gpu(),
        "software": _versions(),
        "threads": _threads(),
    }
