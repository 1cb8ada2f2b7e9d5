"""ols/dask: one pass over the chunks; each task runs the numba co-moment kernel on its chunk, and the
partials (count, pilot, offset, co-moment) merge exactly in a tree (Chan). Then the solve of ols/numba, and
its refinement pass (residuals in double-double, one more tree-reduced pass) when the problem needs it."""
from __future__ import annotations

from functools import partial

import numpy as np

from ...contract import Options
from ...numerics.comoment_merge import merge_offsets
from ...registry import register
from ..numba_jit.comoments import chunk_comoments, raw_moments
from ..numba_jit.refinement import _residual_band, ols_from_moments
from ..numba_jit.settings import BLOCK
from .chunks import BAD, EXTRA_OPTIONS, combine_bad, locate_bad, no_bad, partials, prepare, raise_if_bad, tree_reduce


def _width(p: int) -> int:
    return 1 + 2 * p + p * p + BAD  # count, pilot (p), offset (p), co-moment (p, p), BAD tail


def _with_bad(out: np.ndarray, X, y, row0: int) -> np.ndarray:
    if not np.all(np.isfinite(out[:-BAD])):  # a NaN/inf shows in the sums: only then look for it
        out[-BAD:] = locate_bad(X, y, row0)
    return out


def _chunk(X, y, row0):
    """One chunk's count, pilot mean, offset and centred co-moment (one pass, numba), flattened."""
    n, K0, off, M = chunk_comoments(X, y)
    return _with_bad(np.concatenate([[n], K0, off, M.ravel(), no_bad()]), X, y, row0)


def _chunk_raw(X, y, row0):
    """Without intercept: [X y]ᵀ[X y] of the chunk (lower), in the same layout (pilot and offset zero)."""
    p = X.shape[1] + 1
    M = raw_moments(X, y, parallel=False)
    return _with_bad(np.concatenate([[X.shape[0]], np.zeros(2 * p), M.ravel(), no_bad()]), X, y, row0)


def _merge(p: int, parts):
    """(k, width) partials -> (1, width): co-moments merged exactly around the first non-empty chunk's pilot."""
    keep = parts[parts[:, 0] > 0]
    if keep.shape[0] == 0:
        return parts[:1]
    K0s = np.ascontiguousarray(keep[:, 1:1 + p])
    n, off, M = merge_offsets(np.ascontiguousarray(keep[:, 0]), K0s, np.ascontiguousarray(keep[:, 1 + p:1 + 2 * p]),
                              np.ascontiguousarray(keep[:, 1 + 2 * p:-BAD]).reshape(-1, p, p))
    return np.concatenate([[n], K0s[0], off, M.ravel(), combine_bad(parts[:, -BAD:])])[None, :]


def _merge_raw(parts):
    out = parts[:1].copy()
    with np.errstate(over="ignore", invalid="ignore"):  # overflowed sums: the solve names the range error
        out[0, :-BAD] = parts[:, :-BAD].sum(axis=0)
    out[0, -BAD:] = combine_bad(parts[:, -BAD:])
    return out


def _residuals(bh, bl, beta_h, beta_l, x_mean, X, y, row0):
    """One chunk's double-double residual sums (Σr, Σ (x - x̄) r, Σ (x - x̄)), flattened: (2d + 1) x (hi, lo)."""
    out = np.zeros((2 * X.shape[1] + 1, 2))
    _residual_band(X, y, 0, X.shape[0], bh, bl, beta_h, beta_l, x_mean, out)
    return out.ravel()


def _residual_sums(data):
    """refine_ols's residual sums over the chunks: one more pass, a task per chunk; each chunk's (2d + 1, 2)
    sums come back to the client (chunks x d values, never rows), where they are summed exactly."""
    d = data.X.shape[1]

    def sums(bh, bl, beta_h, beta_l, xm):
        fn = partial(_residuals, float(bh), float(bl), np.ascontiguousarray(beta_h, dtype=np.float64),
                     np.ascontiguousarray(beta_l, dtype=np.float64), np.ascontiguousarray(xm, dtype=np.float64))
        return data.compute(partials(data, fn, 2 * (2 * d + 1))).reshape(-1, 2 * d + 1, 2)
    return sums


@register("ols", "dask", dtypes=("float64", "float32"), prepare=prepare, lazy=True, extra_options=EXTRA_OPTIONS,
          description="one pass of per-chunk co-moments (numba, one task per chunk) merged exactly in a tree; "
                      "non-finite input located in the same pass")
def ols_dask(data, fit_intercept: bool, opts: Options):
    """One pass, O(n d²) spread over the workers, O(chunks · d²) travelling; a second pass only to refine."""
    d = data.X.shape[1]
    p = d + 1
    reduce = tree_reduce(partials(data, _chunk if fit_intercept else _chunk_raw, _width(p)),
                         partial(_merge, p) if fit_intercept else _merge_raw)
    total = data.compute(reduce)[0]
    raise_if_bad(total[-BAD:])
    n, M = int(total[0]), total[1 + 2 * p:-BAD].reshape(p, p)
    x_mean, y_mean = None, 0.0
    if fit_intercept:
        mean = total[1:1 + p] + total[1 + p:1 + 2 * p]
        x_mean, y_mean = mean[:d], float(mean[d])
    result = ols_from_moments("ols/dask", M, x_mean, y_mean, n, opts, _residual_sums(data), BLOCK)
    result.timings.update(data.timings)
    return result
