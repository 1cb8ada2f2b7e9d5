"""Dask: the single-machine algorithms carried over to row chunks on a distributed cluster.

ols/dask: one pass of per-chunk co-moments (the numba chunk kernel inside each task) merged exactly in a
tree; gd/dask: one tree-reduced pass per epoch, loss and gradient fused; minibatch/dask: chunks in a seeded
order each epoch, the mini-batch loop inside one task per chunk. The references: dask.array.linalg.lstsq
and dask-ml's LinearRegression. Input checks run inside the same pass (a non-finite chunk is located there).
The cluster: kernels/cluster.py.
"""
from __future__ import annotations

BACKENDS = ("dask", "dask-lstsq", "dask-ml")  # read by kernels/registry.py before import

import dask.array  # noqa: F401,E402  (a missing dask leaves these backends unregistered, with the reason)
import distributed  # noqa: F401,E402

from . import descent, ols, references  # noqa: E402,F401  (each registers its kernels)
