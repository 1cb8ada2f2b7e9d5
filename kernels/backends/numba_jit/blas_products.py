"""The d x d products of a block of rows by BLAS-3 (dsyrk) for wide problems: rows shifted into an L2-sized
buffer, then one rank-k update of the block's co-moment; below WIDE_FROM features the vectorised dot products
of block_products.py are faster (measured in docs/performance.md).

The BLAS is SciPy's (scipy.linalg.cython_blas): its dsyrk is handed to the compiled kernels as an argument (a
function pointer known only at run time), so they still cache on disk. Which OpenBLAS core kernel runs (the CPU's
own, or $OPENBLAS_CORETYPE's) changes only the order of the sums, which the rounding bound of the co-moments
already covers (any order, γ_n); `blas_info()` names it so that a benchmark can record it.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools

import numpy as np
from numba import njit
from numba.extending import get_cython_function_address

from .settings import L2_BYTES, REASSOC

WIDE_FROM = 32  # features from which a block's products go to dsyrk (below, block_products.shifted_block)

_P = ctypes.c_void_p


@functools.cache
def dsyrk():
    """SciPy's dsyrk(uplo, trans, n, k, alpha, a, lda, beta, c, ldc), every argument by pointer (Fortran)."""
    return ctypes.CFUNCTYPE(None, *([_P] * 10))(get_cython_function_address("scipy.linalg.cython_blas", "dsyrk"))


@functools.cache
def _blas_libs():
    """threadpoolctl's handles on the BLAS libraries loaded once dsyrk is (NumPy's and SciPy's OpenBLAS), found
    once: (every one, the one dsyrk comes from)."""
    from threadpoolctl import ThreadpoolController
    dsyrk()  # loads scipy.linalg.cython_blas, and with it SciPy's BLAS
    libs = ThreadpoolController().select(user_api="blas").lib_controllers
    mine = [lib for lib in libs if "scipy" in lib.filepath and "numpy.libs" not in lib.filepath]
    return libs, (mine or libs)


@contextlib.contextmanager
def one_blas_thread(d: int):
    """The BLAS libraries at one thread for an OLS fit of d >= 2 features: each band (or the serial kernel, or a
    Dask chunk) runs its blocks' dsyrk on its own thread, and a multi-threaded dsyrk under numba's threads
    would oversubscribe the cores; the d x d solve that follows gains nothing from a second thread, and
    OpenBLAS's two threads collapse when another process holds a core (a 100 x 100 eigvalsh took 60-190 ms
    instead of 0.4 ms on the loaded 2-core VM of docs/performance.md)."""
    if d < 2:
        yield
        return
    libs = _blas_libs()[0]
    before = [lib.num_threads for lib in libs]
    if all(t == 1 for t in before):
        yield
        return
    for lib in libs:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, t in zip(libs, before):
            lib.set_num_threads(t)


def blas_info() -> list[dict]:
    """The BLAS library dsyrk comes from, as threadpoolctl sees it: file, version, core type, threads."""
    return [lib.info() for lib in _blas_libs()[1]]


@njit(cache=True, nogil=True)
def shift_buffer(p):
    """The (rows, p) buffer shifted_block_blas shifts rows into: rows enough to fill about L2_BYTES (32 to 2048)."""
    rows = max(32, min(2048, L2_BYTES // (8 * p) // 8 * 8))
    return np.empty((rows, p))


@njit(cache=True, nogil=True, fastmath=REASSOC)
def _shift_rows(X, y, b, m, K, S, Z):
    """Z[:m] = (x, y) - K for rows b:b + m, and their column sums added to S (one contiguous pass per row)."""
    d = X.shape[1]
    for i in range(m):
        r = b + i
        for j in range(d):
            z = X[r, j] - K[j]
            Z[i, j] = z
            S[j] += z
        z = y[r] - K[d]
        Z[i, d] = z
        S[d] += z


@njit(cache=True, nogil=True)
def shifted_block_blas(X, y, s, e, K, S, SS, Z, syrk):
    """S = Σdz, SS = Σdz dzᵀ (lower triangle) over rows s:e, dz = (x, y) - K: block_products.shifted_block with
    the products by BLAS. Z (shift_buffer) is read by dsyrk as the p x m column-major matrix Zᵀ, so the
    update Zᵀ(Zᵀ)ᵀ is written to Fortran's upper triangle, which is SS's lower one (row-major)."""
    p = Z.shape[1]
    S[:] = 0.0
    SS[:, :] = 0.0
    ints = np.empty(4, dtype=np.int32)  # n, k, lda, ldc
    ints[0] = p
    ints[2] = p
    ints[3] = p
    ab = np.ones(2)  # alpha, beta: SS += Zᵀ Z
    ch = np.empty(2, dtype=np.uint8)
    ch[0] = ord("U")
    ch[1] = ord("N")
    rows = Z.shape[0]
    for b in range(s, e, rows):
        m = min(rows, e - b)
        _shift_rows(X, y, b, m, K, S, Z)
        ints[1] = m
        syrk(ch[0:].ctypes, ch[1:].ctypes, ints[0:].ctypes, ints[1:].ctypes, ab[0:].ctypes, Z.ctypes,
             ints[2:].ctypes, ab[1:].ctypes, SS.ctypes, ints[3:].ctypes)
