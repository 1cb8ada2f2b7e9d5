"""Datasets beyond memory: row chunks on disk, one .npy file per chunk for X and for y, written by a seeded
generator (chunk k's rows come from its own seed, so they do not depend on how many workers wrote them) and
opened as Dask arrays without reading them.

Layout of a dataset directory:  meta.json  X/000000.npy (rows_k, d)  y/000000.npy (rows_k,)  ...
meta.json is written last: a directory without it is an interrupted write, and is refused.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from .errors import DataFileError, InputError

FORMAT = "lrbench-chunks/1"
DEFAULT_CHUNK_ROWS = 1 << 22  # 4 Mi rows: 32 MiB of x per chunk at d = 1
NOISE = 0.5
FREE_MARGIN = 1.05  # refuse unless the free space exceeds the dataset's size by this factor


def true_params(seed: int, features: int) -> tuple[float, np.ndarray]:
    """The generating model's (intercept, coef): from numpy.random.default_rng(seed)."""
    rng = np.random.default_rng(seed)
    return float(rng.normal()), rng.normal(size=features)


def chunk_rows_of(seed: int, chunk: int, rows: int, features: int) -> tuple[np.ndarray, np.ndarray]:
    """Chunk `chunk` of the dataset: X (rows, d) ~ N(mean_j, 1) with column means from the seed, y = b + X·w +
    NOISE·N(0, 1); its generator is default_rng((seed, chunk)), so no chunk depends on another."""
    b, w = true_params(seed, features)
    rng = np.random.default_rng((seed, chunk))
    X = rng.normal(size=(rows, features)) + np.arange(1, features + 1)  # (rows, d)
    y = b + X @ w + NOISE * rng.normal(size=rows)
    return X, y


def plan(rows: int, chunk_rows: int) -> list[int]:
    """Rows of every chunk: full chunks, then the remainder."""
    full, rest = divmod(rows, chunk_rows)
    return [chunk_rows] * full + ([rest] if rest else [])


def dataset_bytes(rows: int, features: int) -> int:
    return rows * (features + 1) * 8 + 256 * math.ceil(rows / DEFAULT_CHUNK_ROWS)


def _write_chunk(directory: str, seed: int, chunk: int, rows: int, features: int) -> int:
    """Write chunk `chunk` (to a temporary name, then renamed: a killed writer leaves no half file)."""
    X, y = chunk_rows_of(seed, chunk, rows, features)
    for sub, a in (("X", X), ("y", y)):
        path = Path(directory, sub, f"{chunk:06d}.npy")
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, a)
        os.replace(tmp, path)
    return rows


def check_target(directory: Path, rows: int, features: int) -> None:
    """Refuse to overwrite anything, and to start a write the disk cannot hold."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise InputError(f"{directory} already exists and is not empty; choose a new directory "
                         "(nothing is overwritten)")
    parent = next(p for p in [directory, *directory.parents] if p.exists())
    need, free = dataset_bytes(rows, features), shutil.disk_usage(parent).free
    if need * FREE_MARGIN > free:
        raise InputError(f"not enough free disk space for {rows:,} rows x {features + 1} columns: the dataset "
                         f"needs {need / 1e9:.2f} GB and {parent} has {free / 1e9:.2f} GB free")


def write_dataset(directory, rows: int, features: int = 1, seed: int = 0, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                  client=None, progress: bool = True) -> Path:
    """Write a seeded synthetic dataset chunk by chunk, in parallel on the Dask client (kernels/cluster.py's
    default when None), with a progress line on stderr. Returns the directory."""
    for v, what in ((rows, "rows"), (features, "features"), (chunk_rows, "chunk_rows")):
        if not (isinstance(v, (int, np.integer)) and v >= 1):
            raise InputError(f"{what} must be a positive integer; got {v!r}")
    if not (isinstance(seed, (int, np.integer)) and seed >= 0):
        raise InputError(f"seed must be a non-negative integer; got {seed!r}")
    directory = Path(directory).expanduser().resolve()
    check_target(directory, rows, features)
    if client is None:
        from .cluster import get_client
        client = get_client()
    from distributed import as_completed

    for sub in ("X", "y"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    sizes = plan(rows, chunk_rows)
    futures = [client.submit(_write_chunk, str(directory), seed, k, r, features, pure=False)
               for k, r in enumerate(sizes)]
    done, t0 = 0, time.perf_counter()
    for fut in as_completed(futures, loop=client.loop):
        done += fut.result()
        if progress:
            rate = done * (features + 1) * 8 / max(time.perf_counter() - t0, 1e-9) / 1e6
            print(f"\r  {done:,} / {rows:,} rows ({100 * done / rows:5.1f}%), {rate:,.0f} MB/s",
                  end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    b, w = true_params(seed, features)
    meta = {"format": FORMAT, "rows": rows, "features": features, "seed": seed, "chunk_rows": chunk_rows,
            "chunks": len(sizes), "dtype": "float64", "intercept": b, "coef": w.tolist(), "noise": NOISE}
    (directory / "meta.json").write_text(json.dumps(meta, indent=1))
    return directory


def _npy_shape(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a .npy header, reading nothing else."""
    with open(path, "rb") as f:
        major, _ = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f)
    return shape, dtype


def _load_pair(px: str, py: str) -> tuple[np.ndarray, np.ndarray]:
    return np.load(px), np.load(py)


def open_chunked(directory):
    """(X, y) as Dask arrays over a chunk directory (this module's layout, or any X/*.npy + y/*.npy pairs, or a
    zarr group with arrays X and y when zarr is installed), one Dask chunk per file; nothing is read."""
    import dask
    import dask.array as da

    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise DataFileError(f"no dataset directory at {directory}")
    if (directory / "zarr.json").exists() or (directory / ".zgroup").exists():
        return da.from_zarr(str(directory), component="X"), da.from_zarr(str(directory), component="y")
    if (directory / "X").is_dir() and not (directory / "meta.json").exists() and \
            next((directory / "X").glob("*.tmp.npy"), None) is not None:
        raise DataFileError(f"{directory}: an interrupted write (no meta.json, temporary files left); write it again")
    xs, ys = sorted((directory / "X").glob("*.npy")), sorted((directory / "y").glob("*.npy"))
    if not xs or [p.name for p in xs] != [p.name for p in ys]:
        raise DataFileError(f"{directory}: expected X/NNNNNN.npy and y/NNNNNN.npy files with the same names; "
                            f"found {len(xs)} in X/ and {len(ys)} in y/")
    load = dask.delayed(_load_pair, pure=True, nout=2)
    Xs, Ys = [], []
    for px, py in zip(xs, ys):
        (sx, dx), (sy, dy) = _npy_shape(px), _npy_shape(py)
        if len(sx) != 2 or sy != (sx[0],):
            raise DataFileError(f"{px} has shape {sx} and {py} has shape {sy}; expected (rows, d) and (rows,)")
        xk, yk = load(str(px), str(py))  # one task reads both: a chunk's X and y land on the same worker
        Xs.append(da.from_delayed(xk, shape=sx, dtype=dx))
        Ys.append(da.from_delayed(yk, shape=sy, dtype=dy))
    return da.concatenate(Xs, axis=0), da.concatenate(Ys, axis=0)


def read_meta(directory) -> dict:
    path = Path(directory, "meta.json")
    if not path.exists():
        raise DataFileError(f"no meta.json in {directory}: not a complete lrbench dataset")
    return json.loads(path.read_text())
