"""Settings every numba kernel shares: dtypes, the fast-math flags that change rounding order only, blocks."""
BOTH = ("float64", "float32")
# Sums may be reordered (so the loops vectorise) and multiply-adds fused: both change rounding only.
# No nnan/ninf/nsz/arcp/afn: those could change results on special values, not just their rounding.
REASSOC = {"reassoc", "contract"}
BLOCK = 2048  # rows per block: a block is summed around one shift, then merged exactly into the total
PILOT = 64  # rows whose mean shifts the first block of each band
L1_BYTES = 32 << 10  # the transposed rows of a block whose products are being formed stay within this
