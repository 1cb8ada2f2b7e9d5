"""Numba JIT: the loops of the Python backend compiled, fused into single passes, cached on disk.

Data may be float32 or float64; every sum is accumulated in float64 (it costs nothing on the CPU).
Parallel kernels split rows into get_threads() bands (kernels/threads.py), passed in as an argument:
a kernel that asked numba for its thread count inside could not be cached on disk.

Why the fast ones are fast (docs/performance.md has the measurements):
- one streaming pass over X and y, no (n,)-sized temporaries, loops that vectorise (sums may be
  reassociated: `REASSOC` changes rounding order only, never the formula);
- OLS: co-moments of rows shifted by the previous block's mean, one pass, each block's centred co-moment
  merged exactly into the total (Chan, Golub & LeVeque) -- as accurate as centring by the exact mean; a
  block's products by tiled dot products, or for wide problems by BLAS-3 (dsyrk) on L2-sized row buffers;
- gd/numba-gram: the same statistics once, then every epoch from them in O(d²), no pass over the data;
- gd/numba, gd/numba-parallel: fit's input checks come from the first epoch's own pass (gd_first_epoch.py);
- loops over a band of rows index a slice from 0 (settings.WRAPAROUND_NOTE), so they load contiguously.
"""
from __future__ import annotations

BACKENDS = ("numba", "numba-parallel", "numba-gram")  # read by kernels/registry.py before import
PROVIDES = {"numba": ("ols", "gd", "sgd", "minibatch"), "numba-parallel": ("ols", "gd"), "numba-gram": ("gd",)}

import numba  # noqa: F401,E402  (a missing numba leaves these backends unregistered, with the reason)

from . import comoments, gd, sgd  # noqa: E402,F401  (each registers its kernels)
