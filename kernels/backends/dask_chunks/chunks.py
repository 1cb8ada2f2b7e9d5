"""What the dask kernels share: (X, y) as row-chunked Dask arrays on a client, per-chunk partials reduced
in a tree, and non-finite values located inside that same pass (with their global row and column)."""
from __future__ import annotations

import math
import time
import uuid
import warnings
from dataclasses import dataclass, field

import dask.array as da
import numpy as np

from ... import cluster
from ...contract import Options
from ...errors import InputError
from ...validation import is_dask

CHUNK_ROWS = 1 << 20  # rows per chunk when fit chunks a NumPy array for you
MIN_CHUNKS = 4  # a NumPy array is cut into at least this many chunks (when it has the rows)
SPLIT_EVERY = 8  # partials merged per task in the tree
BAD = 7  # tail of every partial: X non-finite count, first row, column, value; y count, first row, value
EXTRA_OPTIONS = ("scheduler",)


@dataclass
class Chunked:
    """prepare()'s output: the arrays on the cluster's client, and what preparing cost."""

    X: da.Array  # (n, d), one column chunk
    y: da.Array  # (n,), X's row chunks
    client: object
    timings: dict = field(default_factory=dict)

    @property
    def offsets(self) -> np.ndarray:
        """First global row of every chunk."""
        return np.concatenate([[0], np.cumsum(self.X.chunks[0])[:-1]]).astype(np.int64)

    def compute(self, collection):
        return self.client.compute(collection, sync=True)


def default_chunk_rows(n: int) -> int:
    return max(1, min(CHUNK_ROWS, math.ceil(n / MIN_CHUNKS)))


def prepare(X, y, opts: Options) -> Chunked:
    """Row-chunked float arrays on the client: Dask arrays kept as they are (columns rechunked to one chunk,
    y rechunked to X's rows), NumPy arrays cut into chunks and sent to the workers once."""
    t0 = time.perf_counter()
    client = cluster.get_client(opts.scheduler)
    start = cluster.take_start_seconds()
    t1 = time.perf_counter()
    dt = opts.np_dtype
    if is_dask(X) or is_dask(y):
        X = X if is_dask(X) else da.from_array(np.asarray(X), chunks=(X.shape[0], -1))
        X = X.rechunk({1: -1}) if X.numblocks[1] > 1 else X  # d is small: a row chunk holds every column
        y = y if is_dask(y) else da.from_array(np.asarray(y), chunks=(X.chunks[0],))
        y = y.rechunk((X.chunks[0],)) if y.chunks[0] != X.chunks[0] else y
        X, y = X.astype(dt, copy=False), y.astype(dt, copy=False)
        out = Chunked(X, y, client)
    else:
        rows = default_chunk_rows(X.shape[0])
        Xd = da.from_array(np.ascontiguousarray(X, dtype=dt), chunks=(rows, -1))
        yd = da.from_array(np.ascontiguousarray(y, dtype=dt), chunks=(rows,))
        with warnings.catch_warnings():  # "Sending large graph": the data, sent once here, not once per epoch
            warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
            Xd, yd = client.persist([Xd, yd])
        out = Chunked(Xd, yd, client)
    out.timings = {"cluster_start": start, "prepare": time.perf_counter() - t1 + (t1 - t0 - start)}
    return out


def partials(data: Chunked, fn, width: int) -> da.Array:
    """(nchunks, width): fn(X_k, y_k, row offset of chunk k) -> (width,) for every chunk, one task each."""
    def block(Xk, yk, block_info=None):
        row0 = block_info[0]["array-location"][0][0]
        return fn(np.ascontiguousarray(Xk), np.ascontiguousarray(yk[:, 0]), row0)[None, :]

    nb = data.X.numblocks[0]
    return da.map_blocks(block, data.X, data.y[:, None], chunks=((1,) * nb, (width,)),
                         name=f"lrbench-partials-{uuid.uuid4().hex}",  # unique: no hashing of fn's arguments
                         dtype=np.float64, meta=np.empty((0, 0), dtype=np.float64))


def tree_reduce(parts: da.Array, combine) -> da.Array:
    """Reduce (nchunks, width) partials to (1, width) by combine((k, width)) -> (1, width) in a tree of
    SPLIT_EVERY-way merges (dask.array.reduction): only partials travel, never rows."""
    def step(x, axis=None, keepdims=True, computing_meta=False):
        return x if computing_meta else combine(np.asarray(x).reshape(-1, parts.shape[1]))

    def first(x, axis=None, keepdims=True, computing_meta=False):
        return x

    return da.reduction(parts, chunk=first, combine=step, aggregate=step, axis=0, keepdims=True,
                        split_every=SPLIT_EVERY, dtype=np.float64, concatenate=True,
                        meta=np.empty((0, 0), dtype=np.float64))


def read_sum(X, y, row0):
    """A chunk read and summed, nothing else: the per-chunk task of the Dask read floor (benchmarks), kept
    here so the workers import nothing the kernels' own tasks do not."""
    return np.array([X.sum() + y.sum()])


# --- non-finite values, located inside the pass -------------------------------------------------------

def no_bad() -> np.ndarray:
    return np.array([0.0, math.inf, 0.0, 0.0, 0.0, math.inf, 0.0])


def locate_bad(X: np.ndarray, y: np.ndarray, row0: int) -> np.ndarray:
    """The BAD tail of one chunk whose sums went non-finite: counts and the first non-finite value of X and of
    y, rows made global. Called only then: a finite chunk is never scanned twice."""
    tail = no_bad()
    bx, by = ~np.isfinite(X), ~np.isfinite(y)
    if bx.any():
        i, j = np.argwhere(bx)[0]
        tail[0:4] = bx.sum(), row0 + i, j, X[i, j]
    if by.any():
        i = int(np.flatnonzero(by)[0])
        tail[4:7] = by.sum(), row0 + i, y[i]
    return tail


def combine_bad(tails: np.ndarray) -> np.ndarray:
    """Merge BAD tails (k, 7): counts add, the first value is the one with the smallest global row."""
    out = no_bad()
    out[0], out[4] = tails[:, 0].sum(), tails[:, 4].sum()
    i = int(np.argmin(tails[:, 1]))
    out[1:4] = tails[i, 1:4]
    i = int(np.argmin(tails[:, 5]))
    out[5:7] = tails[i, 5:7]
    return out


def raise_if_bad(tail: np.ndarray) -> None:
    """check_xy's error for a non-finite value, from a reduced BAD tail."""
    if tail[0]:
        raise InputError(f"X has {int(tail[0])} non-finite value(s) (NaN or inf); the first is {tail[3]} at "
                         f"row {int(tail[1])}, column {int(tail[2])}")
    if tail[4]:
        raise InputError(f"y has {int(tail[4])} non-finite value(s) (NaN or inf); the first is {tail[6]} at "
                         f"row {int(tail[5])}")
