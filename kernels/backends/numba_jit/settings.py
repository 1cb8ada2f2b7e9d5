"""Settings every numba kernel shares: dtypes, the fast-math flags that change rounding order only, blocks."""
from ...threads import numba_threads

BOTH = ("float64", "float32")
# Sums may be reordered (so the loops vectorise) and multiply-adds fused: both change rounding only.
# No nnan/ninf/nsz/arcp/afn: those could change results on special values, not just their rounding.
REASSOC = {"reassoc", "contract"}
BLOCK = 2048  # rows per block: a block is summed around one shift, then merged exactly into the total
PILOT = 64  # rows whose mean shifts the first block of each band
L1_BYTES = 32 << 10  # the transposed rows of a block whose products are being formed stay within this
# WRAPAROUND_NOTE: a loop `for i in range(s, e): x[i]` with s known only at run time keeps numba's negative-index
# wraparound (i < 0 ? i + n : i) per element; on a host with AVX-512 LLVM then vectorised it with gathers, 2-6x
# slower than contiguous loads (numba 0.68, AMD EPYC). Streaming loops index a slice x[s:e] from 0 instead.
L2_BYTES = 256 << 10  # the shifted rows one dsyrk call reads (wide problems: blas_products.py) stay within this
MIN_BAND_ROWS = 1 << 14  # rows a thread's band needs before a parallel region pays for waking the threads


def bands(n: int, parallel: bool) -> int:
    """Bands of rows (one per thread) for a pass over n rows: one when serial or too few rows to share."""
    return max(1, min(numba_threads(), n // MIN_BAND_ROWS)) if parallel else 1
