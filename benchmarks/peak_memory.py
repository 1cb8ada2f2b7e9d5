"""Peak extra memory of one call: the high-water mark of the process's RSS (and CUDA allocations) above
what it held just before, read from Linux's /proc/self/status after resetting the mark (clear_refs)."""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from typing import Callable

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"
_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter


def _status_bytes(field: str) -> int:
    with open(_STATUS) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"{_STATUS} has no {field} line")


def reset_peak() -> None:
    """Set the RSS high-water mark (VmHWM) to the current RSS (Linux >= 4.0)."""
    with open(_CLEAR_REFS, "w") as f:
        f.write("5")


def supported() -> str | None:
    """None when the peak can be measured here, else why not."""
    try:
        reset_peak()
        _status_bytes("VmHWM")
    except OSError as exc:
        return f"peak RSS cannot be reset here ({exc}); Linux's /proc/self/clear_refs is needed"
    return None


def fix_malloc_threshold(nbytes: int = 1 << 17) -> None:
    """Make glibc serve every block above nbytes with mmap and return it on free.

    By default the threshold grows after large frees, so a later temporary can come from memory the process
    already holds and escape the RSS measure; a fixed threshold makes each large temporary show up.
    """
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_MMAP_THRESHOLD, nbytes)


@functools.lru_cache(maxsize=1)
def _libc():
    """The C library, looked up once: find_library may run ldconfig, too slow to repeat for every sample."""
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim).

    Large blocks freed while glibc's threshold was still high stay in the heap, resident; a later temporary
    carved from them would not raise the RSS and would escape the measure (in a process that has run other
    work first, such as the test suite's)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def peak_extra_bytes(call: Callable[[], object], cuda: bool = False) -> int:
    """Bytes above the starting RSS at the peak of call(); plus the CUDA allocator's peak above its start."""
    gc.collect()
    release_free_memory()
    cuda_before = 0
    if cuda:
        import torch
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        cuda_before = torch.cuda.memory_allocated()
    before = _status_bytes("VmRSS")
    reset_peak()
    result = call()
    if cuda:
        torch.cuda.synchronize()
    peak = _status_bytes("VmHWM")
    extra = max(peak - before, 0)
    if cuda:
        extra += max(torch.cuda.max_memory_allocated() - cuda_before, 0)
    del result
    return extra
