"""Data: the tutorial's Advertising file, NIST StRD linear least-squares problems, seeded synthetic sets.

Files are read from the data directory: `--data-dir` on the command line, else $LRBENCH_DATA_DIR, else the
repository's data/. Generated data is cached under $LRBENCH_CACHE_DIR (default: the repository's .cache/).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import DataFileError, InputError

REPO = Path(__file__).resolve().parents[1]
ADVERTISING_SHA256 = "98350ef2035798df4dce301c8bbaf288030e678b43fa9713d5849d73cedc4cfd"
CACHE_MIN_VALUES = 1_000_000  # synthetic sets with at least this many values are cached on disk


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The data directory: the argument, else $LRBENCH_DATA_DIR, else the repository's data/."""
    return Path(override or os.environ.get("LRBENCH_DATA_DIR") or REPO / "data").expanduser().resolve()


def cache_dir() -> Path:
    path = Path(os.environ.get("LRBENCH_CACHE_DIR") or REPO / ".cache").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _require(path: Path, what: str) -> Path:
    if path.is_dir():
        raise DataFileError(f"{what} expected, but {path} is a directory; give the path of the file itself")
    if path.exists() and not path.is_file():
        raise DataFileError(f"{what} expected, but {path} is not a regular file")
    if not path.is_file():
        raise DataFileError(
            f"{what} not found: looked for {path}. Put the file there, or point the data directory at the "
            f"folder that holds it with --data-dir DIR or LRBENCH_DATA_DIR=DIR (see data/README.md)"
        )
    return path


@dataclass
class Dataset:
    """A regression problem: X (n, d), y (n,), and for NIST problems the certified answer."""

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str = "y"
    fit_intercept: bool = True
    certified: np.ndarray | None = None  # (intercept, coef...) or coef alone without an intercept
    meta: dict = field(default_factory=dict)


def read_csv_columns(path: str | os.PathLike, columns=None, target=None) -> tuple[np.ndarray, np.ndarray, list, str]:
    """(X, y, feature names, target name) from a CSV with a header; every used column must be numeric and
    finite. Errors name the cell by its line in the file ("row 2 of the file" is the first line after the
    header), whatever is wrong with it, so the user can look it up in an editor."""
    import pandas as pd

    path = _require(Path(path), "CSV file")
    try:
        # blank lines kept as empty rows, then dropped, so the frame's index + 2 is the line in the file
        frame = pd.read_csv(path, skip_blank_lines=False)
    except Exception as exc:  # pandas raises several parser errors; name the file whatever it was
        raise DataFileError(f"cannot read {path} as CSV: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from None
    frame = frame.dropna(how="all")
    frame = frame.loc[:, [c for c in frame.columns if not str(c).startswith("Unnamed")]]
    target = target if target is not None else frame.columns[-1]
    columns = list(columns) if columns else [c for c in frame.columns if c != target]
    missing = [c for c in [*columns, target] if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: no column(s) {', '.join(map(repr, missing))}; it has {', '.join(frame.columns)}")
    for c in [*columns, target]:
        if frame[c].dtype.kind == "b":
            raise InputError(f"{path}: column {c!r} holds True/False, not numbers")
        values = pd.to_numeric(frame[c], errors="coerce")
        bad = values.isna() & frame[c].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{path}: column {c!r} is not numeric: row {int(frame.index[row]) + 2} of the file holds "
                f"{frame[c].iloc[row]!r}"
            )
        missing = ~np.isfinite(values.to_numpy(dtype=np.float64))
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            cell = frame[c].iloc[row]
            cell = cell.item() if isinstance(cell, np.generic) else cell  # inf, not np.float64(inf)
            what = "is empty" if pd.isna(cell) and not isinstance(cell, str) else f"holds {cell!r}"
            raise InputError(
                f"{path}: column {c!r} has {int(missing.sum())} missing or non-finite value(s): row "
                f"{int(frame.index[row]) + 2} of the file {what}"
            )
    X = frame[columns].to_numpy(dtype=np.float64)
    y = frame[target].to_numpy(dtype=np.float64)
    return X, y, columns, str(target)


def minmax(a: np.ndarray, names=None) -> np.ndarray:
    """Scale each column to [0, 1], as the tutorial did; a constant column (nothing to scale) is an error
    naming it (names: the columns' names, for the message)."""
    lo, hi = a.min(axis=0), a.max(axis=0)
    flat = np.flatnonzero(np.atleast_1d(hi == lo))
    if flat.size:
        j = int(flat[0])
        name = repr(list(names)[j]) if names is not None else str(j)
        raise InputError(f"column {name} is constant (every value is {np.atleast_1d(lo)[j]:g}): "
                         "it cannot be min-max scaled (its range is 0); leave it out, or do not scale")
    return (a - lo) / (hi - lo)


def load_advertising(scaled: bool = True, features=("TV",), data_dir_override=None, verify: bool = True) -> Dataset:
    """The tutorial's data: Sales against TV (or any of TV, Radio, Newspaper), min-max scaled by default."""
    path = _require(data_dir(data_dir_override) / "Advertising.csv", "Advertising.csv")
    if verify:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != ADVERTISING_SHA256:
            raise DataFileError(f"{path} is not the expected Advertising.csv (sha256 {digest}, "
                                f"expected {ADVERTISING_SHA256})")
    X, y, names, target = read_csv_columns(path, columns=features, target="Sales")
    if scaled:
        X, y = minmax(X), minmax(y)
    return Dataset("advertising", X, y, tuple(names), target, meta={"scaled": scaled, "path": str(path)})


def nist_certified(data_dir_override=None) -> dict:
    path = _require(data_dir(data_dir_override) / "nist" / "certified.json", "NIST certified values (nist/certified.json)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path} is not valid JSON: {exc}") from None


def nist_problems(data_dir_override=None) -> list[str]:
    """Names of the NIST StRD problems present, in the order of certified.json."""
    return list(nist_certified(data_dir_override))


def _nist_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or len(rows) < 2:
        raise DataFileError(f"{path} has no data rows")
    return rows[0], rows[1:]


def load_nist(name: str, exact: bool = False, data_dir_override=None) -> Dataset:
    """A NIST StRD problem: its design (powers of x, or the listed columns) and certified coefficients.

    exact=False: floats, with powers of x formed in float64 (what every float64 kernel sees).
    exact=True: X and y as Fractions read from the decimal text, powers formed exactly (object arrays).
    """
    certs = nist_certified(data_dir_override)
    if name not in certs:
        raise InputError(f"unknown NIST problem {name!r}; known: {', '.join(certs)}")
    cert = certs[name]
    path = _require(data_dir(data_dir_override) / "nist" / f"{name}.csv", f"NIST problem file nist/{name}.csv")
    header, rows = _nist_rows(path)
    conv = Fraction if exact else float
    try:
        table = [[conv(v) for v in row] for row in rows]
    except ValueError as exc:
        raise DataFileError(f"{path}: not a number: {exc}") from None
    yi = header.index("y")
    y = [r[yi] for r in table]
    if cert.get("degree"):
        x = [r[header.index("x")] for r in table]
        cols = [[xi ** k for k in range(1, cert["degree"] + 1)] for xi in x]
        names = tuple("x" if k == 1 else f"x^{k}" for k in range(1, cert["degree"] + 1))
    else:
        feats = [h for h in header if h != "y"]
        cols = [[r[header.index(h)] for h in feats] for r in table]
        names = tuple(feats)
    dtype = object if exact else np.float64
    X, yv = np.array(cols, dtype=dtype), np.array(y, dtype=dtype)
    if len(yv) != cert["n"]:
        raise DataFileError(f"{path}: {len(yv)} rows, but certified.json says n = {cert['n']}")
    return Dataset(name, X, yv, names, "y", fit_intercept=bool(cert["intercept"]),
                   certified=np.array(cert["beta"], dtype=np.float64), meta=dict(cert))


def make_regression(n: int, d: int = 1, noise: float = 0.1, offset: float = 0.0, collinearity: float = 0.0,
                    seed: int = 0, dtype: str = "float64", cache: bool | None = None) -> Dataset:
    """Seeded synthetic data: y = 1 + X @ (1, 2, ..., d)/d + noise·N(0, 1).

    offset is added to every feature (large offsets make the uncentred problem ill-conditioned);
    collinearity ρ in [0, 1) mixes a shared column into every feature (pairwise correlation about ρ²).
    Sets of at least CACHE_MIN_VALUES values are cached as .npy files under the cache directory.
    """
    if n < 1 or d < 1:
        raise InputError(f"n and d must be positive; got n={n}, d={d}")
    if not 0 <= collinearity < 1:
        raise InputError(f"collinearity must be in [0, 1); got {collinearity}")
    coef = np.arange(1, d + 1, dtype=np.float64) / d
    key = f"reg-n{n}-d{d}-noise{noise!r}-off{offset!r}-col{collinearity!r}-seed{seed}-{dtype}"
    meta = {"noise": noise, "offset": offset, "collinearity": collinearity, "seed": seed, "coef": coef,
            "intercept": 1.0 - offset * coef.sum()}
    use_cache = (n * (d + 1) >= CACHE_MIN_VALUES) if cache is None else cache
    paths = [cache_dir() / f"{key}-{part}.npy" for part in ("X", "y")] if use_cache else None
    if paths and all(p.exists() for p in paths):
        try:
            X, y = (np.load(p) for p in paths)
            if X.shape == (n, d) and y.shape == (n,):
                return Dataset(key, X, y, tuple(f"x{j}" for j in range(d)), meta=meta)
        except (OSError, ValueError):
            pass  # a truncated cache file: regenerate it below
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if collinearity:
        shared = rng.standard_normal((n, 1))
        X *= np.sqrt(1 - collinearity ** 2)
        X += collinearity * shared
    y = 1.0 + X @ coef + noise * rng.standard_normal(n)
    if offset:
        X += offset  # y is unchanged: the true intercept becomes 1 - offset * sum(coef)
    X, y = X.astype(dtype, copy=False), y.astype(dtype, copy=False)
    if paths:
        for p, a in zip(paths, (X, y)):
            tmp = p.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, a)
            os.replace(tmp, p)
    return Dataset(key, X, y, tuple(f"x{j}" for j in range(d)), meta=meta)
