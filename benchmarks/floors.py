"""The machine's floor: the time to read X and y once, with a tuned parallel reduction.

No kernel that must look at every value can beat one read of the data; benchmarks report every kernel's
time as a multiple of this, measured in the same run.

Tuned for memory bandwidth: each thread reads one contiguous band of rows, X's band and y's band side by
side in blocks (two sequential streams the prefetcher follows), summed with reassociation allowed so the
loop vectorises. On the 2-core development machine this reads about as fast as memcpy moves bytes
(read + write) and 1.1-2x faster than a row-by-row loop or NumPy's single-threaded sum; see
docs/performance.md.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.threads import numba_threads

REASSOC = {"reassoc", "contract"}  # sums may be reordered (vectorised): only the read is measured
BLOCK_ROWS = 2048  # rows per block: X's block and y's block are read one after the other


# The loops index slices from 0: `for i in range(s, e): a[i]` keeps numba's negative-index wraparound per
# element, which LLVM vectorised with gathers on an AVX-512 host, 2-6x slower than the contiguous loads a read
# is (kernels/backends/numba_jit/settings.py, WRAPAROUND_NOTE).
@njit(cache=True, nogil=True, fastmath=REASSOC)
def _sum(a, s, e):
    a = a[s:e]
    t = 0.0
    for i in range(a.shape[0]):
        t += a[i]
    return t


@njit(cache=True, nogil=True, fastmath=REASSOC)
def _sum_zip(a, b, s, e):
    a = a[s:e]
    b = b[s:e]
    t = 0.0
    for i in range(a.shape[0]):
        t += a[i] + b[i]
    return t


@njit(cache=True, nogil=True)
def _read_band(xf, y, d, s, e):
    """Σ of rows s:e of X (flattened as xf) and of y: X's rows and y's rows read in step."""
    if d == 1:
        return _sum_zip(xf, y, s, e)
    acc = 0.0
    for b in range(s, e, BLOCK_ROWS):
        be = min(b + BLOCK_ROWS, e)
        acc += _sum(xf, b * d, be * d) + _sum(y, b, be)
    return acc


@njit(cache=True, parallel=True)
def _read(xf, y, d, nparts):
    """Σ X + Σ y over nparts bands of rows, one per thread."""
    n = y.shape[0]
    parts = np.zeros(nparts)
    for t in prange(nparts):
        parts[t] = _read_band(xf, y, d, t * n // nparts, (t + 1) * n // nparts)
    return parts.sum()


def read_once(X: np.ndarray, y: np.ndarray, threads: int | None = None) -> float:
    """Read every value of X (n, d) and y (n,) once, on every thread; returns their sum (so the read is not
    skipped)."""
    X = np.ascontiguousarray(X)
    if X.ndim == 1:
        X = X[:, None]
    nparts = threads or numba_threads()
    xf, y = X.reshape(-1), np.ascontiguousarray(y)
    if nparts == 1:  # no parallel region: with one thread it only adds a hand-off to a pool thread
        return float(_read_band(xf, y, X.shape[1], 0, y.shape[0]))
    return float(_read(xf, y, X.shape[1], nparts))
