"""The fused loss-and-gradient loops of gd/numba and gd/numba-parallel over a band of rows: Σr², Σr and Σr·x
with r = b + X w - y, one pass, vectorised, no temporaries."""
from __future__ import annotations

import numpy as np
from numba import njit

from .settings import REASSOC


@njit(cache=True, nogil=True, fastmath=REASSOC)
def gd_band_d1(x, y, b, w, s, e):
    """Σr², Σr, Σr·x over rows s:e with r = b + w x - y, one vectorised pass.

    The loop indexes slices from 0 (WRAPAROUND_NOTE in settings.py): indexed from s, it compiled to gathers."""
    xs = x[s:e]
    ys = y[s:e]
    sse = 0.0
    gb = 0.0
    gw = 0.0
    for i in range(xs.shape[0]):
        xi = xs[i]
        r = b + w * xi - ys[i]
        sse += r * r
        gb += r
        gw += r * xi
    return sse, gb, gw


@njit(cache=True, nogil=True, fastmath=REASSOC, inline="always")
def gd_rows(X, y, b, w, g, s, e, sse, gb):
    """Σr² and Σr over rows s:e added to (sse, gb) and returned, Σr·x added into g, with r = b + X w - y.

    Rows go four at a time (d <= 8) or two (wider), their terms summed in pairs before the running sums: one
    trip of the short inner loops serves several rows (one row a trip kept the pass at 1.5-2x the read floor at
    d = 5-100, and up to 15x at d = 2-3; four rows a trip lost to two from d = 30; docs/performance.md).
    The grouping depends only on the row's offset from s, so rows summed block by block from s (BLOCK is a
    multiple of 4; gd_first_epoch.py) give the same sums bit for bit."""
    d = X.shape[1]
    Xs = X[s:e]  # indexed from 0 (WRAPAROUND_NOTE in settings.py)
    ys = y[s:e]
    m = ys.shape[0]
    step = 4 if d <= 8 else 2
    top = m - m % step
    if step == 4:
        for i in range(0, top, 4):
            r0 = b - ys[i]
            r1 = b - ys[i + 1]
            r2 = b - ys[i + 2]
            r3 = b - ys[i + 3]
            for j in range(d):
                wj = w[j]
                r0 += wj * Xs[i, j]
                r1 += wj * Xs[i + 1, j]
                r2 += wj * Xs[i + 2, j]
                r3 += wj * Xs[i + 3, j]
            sse += (r0 * r0 + r1 * r1) + (r2 * r2 + r3 * r3)
            gb += (r0 + r1) + (r2 + r3)
            for j in range(d):
                g[j] += (r0 * Xs[i, j] + r1 * Xs[i + 1, j]) + (r2 * Xs[i + 2, j] + r3 * Xs[i + 3, j])
    else:
        for i in range(0, top, 2):
            r0 = b - ys[i]
            r1 = b - ys[i + 1]
            for j in range(d):
                r0 += w[j] * Xs[i, j]
                r1 += w[j] * Xs[i + 1, j]
            sse += r0 * r0 + r1 * r1
            gb += r0 + r1
            for j in range(d):
                g[j] += r0 * Xs[i, j] + r1 * Xs[i + 1, j]
    for i in range(top, m):
        r = b - ys[i]
        for j in range(d):
            r += w[j] * Xs[i, j]
        sse += r * r
        gb += r
        for j in range(d):
            g[j] += r * Xs[i, j]
    return sse, gb


@njit(cache=True, nogil=True, fastmath=REASSOC)
def gd_band(X, y, b, w, gw, s, e):
    """Σr², Σr over rows s:e, and Σr·x into gw, with r = b + X w - y: one pass (gd_rows).

    The gradient is summed in a local array and written to gw once: summed straight into gw (a row of the
    threads' shared partials array) it went through memory every row, since the compiler cannot rule out
    that gw overlaps X, and the threads' rows of partials share cache lines; with two threads that made the
    pass about 2x slower at d = 10-30 (docs/performance.md)."""
    g = np.zeros(X.shape[1])
    sse, gb = gd_rows(X, y, b, w, g, s, e, 0.0, 0.0)
    for j in range(X.shape[1]):
        gw[j] = g[j]
    return sse, gb
