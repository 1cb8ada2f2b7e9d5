"""Fused CUDA kernels in Triton: OLS in one pass with float64 sums, gradient descent without launch overhead.

- ols/triton: one read of x and y (any float dtype), per-lane float64 sums of values shifted by the mean of
  each program's first tile, one partial result per program, merged exactly on the host (Chan). d = 1 is
  the fused kernel; d > 1 goes through chunked float64 products on the device with the same merges.
- gd/triton: for small data every epoch runs inside ONE launch (one program loops over epochs and rows,
  writing the loss of each epoch to a device buffer); for large data two launches an epoch (a fused
  loss-and-gradient pass over all programs, then a one-program update), queued without a host sync.
  Parameters and sums are float64 whatever the data's dtype, like gd/numba; the loss history and the
  stopping rule (epochs, tol, a non-finite loss) are those of LossTracker, replayed on the host.
- read_once_cuda: the device's floor, the time to read X and y once, written the same way.

Needs a CUDA device; the module registers nothing without one. Triton's interpreter (TRITON_INTERPRET=1)
runs the same kernels on CPU tensors, which is how they are checked on a machine without a GPU.
"""
from __future__ import annotations

BACKENDS = ("triton",)  # read by kernels/registry.py before import
PROVIDES = {"triton": ("ols", "gd")}

import numpy as np
import torch
import triton
import triton.language as tl

from ..contract import Options
from ..numerics.error_bounds import UNIT_ROUNDOFF
from ..numerics.normal_equations import ols_result, solve_gram
from ..numerics.comoment_merge import merge_groups
from ..numerics.iterative import LossTracker, initial_params
from ..registry import mark_unavailable, register
from .torch_tensors import as_tensor

BOTH = ("float64", "float32")
TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
BLOCK = 1024  # elements per tile of the streaming kernels
# Launch shapes measured on an H100 (scripts/gpu_check.py --sweep, docs/performance.md): 16 warps keep the
# most loads in flight for the read and the OLS pass; gradient descent keeps 4 warps on 4096-row tiles.
READ_WARPS, READ_PROGRAMS_PER_SM = 16, 4
OLS_WARPS, OLS_PROGRAMS_PER_SM = 16, 2
WARPS, PROGRAMS_PER_SM = 4, 4
SMALL_GD = 1 << 17  # n * (d + 1) up to this: every epoch in one single-program launch
MAX_GD_FEATURES = 128
CHUNK_ROWS = 1 << 20  # d > 1 OLS: rows per float64 chunk on the device


def _programs(device, per_sm: int = 0) -> int:
    if device.type != "cuda":  # Triton's interpreter on the CPU
        return 8
    return (per_sm or PROGRAMS_PER_SM) * torch.cuda.get_device_properties(device).multi_processor_count


# --- the floor -----------------------------------------------------------------------------------

@triton.jit
def _read_partials(a_ptr, na, b_ptr, nb, out_ptr, tiles_a, tiles_b, BLOCK: tl.constexpr):
    """Program p sums its contiguous share of a, then of b (float32 sums: only the read matters)."""
    pid = tl.program_id(0)
    lane = tl.arange(0, BLOCK)
    acc = tl.zeros([BLOCK], dtype=tl.float32)
    first = pid.to(tl.int64) * tiles_a * BLOCK
    for i in range(tiles_a):
        offs = first + i * BLOCK + lane
        acc += tl.load(a_ptr + offs, mask=offs < na, other=0.0).to(tl.float32)
    first = pid.to(tl.int64) * tiles_b * BLOCK
    for i in range(tiles_b):
        offs = first + i * BLOCK + lane
        acc += tl.load(b_ptr + offs, mask=offs < nb, other=0.0).to(tl.float32)
    tl.store(out_ptr + pid, tl.sum(acc, axis=0))


def read_once_cuda(X: torch.Tensor, y: torch.Tensor) -> float:
    """Read every value of the device tensors X (n, d) and y (n,) once; returns their sum (a host sync)."""
    P = _programs(X.device, READ_PROGRAMS_PER_SM)
    na, nb = X.numel(), y.numel()
    out = torch.empty(P, dtype=torch.float32, device=X.device)
    _read_partials[(P,)](X, na, y, nb, out, triton.cdiv(triton.cdiv(na, BLOCK), P),
                         triton.cdiv(triton.cdiv(nb, BLOCK), P), BLOCK=BLOCK, num_warps=READ_WARPS)
    return float(out.sum())


# --- OLS ----------------------------------------------------------------------------------------

@triton.jit
def _ols_d1_partials(x_ptr, y_ptr, out_ptr, n, tiles, BLOCK: tl.constexpr):
    """Program p, rows [p·tiles·BLOCK, (p+1)·tiles·BLOCK): shift (kx, ky) = its first tile's mean, then
    per-lane float64 Σdx, Σdy, Σdx², Σdxdy, Σdy²; writes (kx, ky, the five sums) to out[p, 0:7]."""
    pid = tl.program_id(0)
    lane = tl.arange(0, BLOCK)
    first = pid.to(tl.int64) * tiles * BLOCK
    offs = first + lane
    m = offs < n
    cnt = tl.maximum(tl.sum(m.to(tl.float64), axis=0), 1.0)
    kx = tl.sum(tl.load(x_ptr + offs, mask=m, other=0.0).to(tl.float64), axis=0) / cnt
    ky = tl.sum(tl.load(y_ptr + offs, mask=m, other=0.0).to(tl.float64), axis=0) / cnt
    sx = tl.zeros([BLOCK], dtype=tl.float64)
    sy = tl.zeros([BLOCK], dtype=tl.float64)
    sxx = tl.zeros([BLOCK], dtype=tl.float64)
    sxy = tl.zeros([BLOCK], dtype=tl.float64)
    syy = tl.zeros([BLOCK], dtype=tl.float64)
    for i in range(tiles):
        offs = first + i * BLOCK + lane
        m = offs < n
        dx = tl.where(m, tl.load(x_ptr + offs, mask=m, other=0.0).to(tl.float64) - kx, 0.0)
        dy = tl.where(m, tl.load(y_ptr + offs, mask=m, other=0.0).to(tl.float64) - ky, 0.0)
        sx += dx
        sy += dy
        sxx += dx * dx
        sxy += dx * dy
        syy += dy * dy
    base = out_ptr + pid * 8
    tl.store(base + 0, kx)
    tl.store(base + 1, ky)
    tl.store(base + 2, tl.sum(sx, axis=0))
    tl.store(base + 3, tl.sum(sy, axis=0))
    tl.store(base + 4, tl.sum(sxx, axis=0))
    tl.store(base + 5, tl.sum(sxy, axis=0))
    tl.store(base + 6, tl.sum(syy, axis=0))


def _comoments_d1(x: torch.Tensor, y: torch.Tensor):
    n = x.numel()
    P = _programs(x.device, OLS_PROGRAMS_PER_SM)
    tiles = triton.cdiv(triton.cdiv(n, BLOCK), P)
    part = torch.empty((P, 8), dtype=torch.float64, device=x.device)
    _ols_d1_partials[(P,)](x, y, part, n, tiles, BLOCK=BLOCK, num_warps=OLS_WARPS)
    part = part.cpu().numpy()  # the one host sync: P x 8 float64
    counts = np.clip(n - np.arange(P) * tiles * BLOCK, 0, tiles * BLOCK).astype(np.float64)
    safe = np.maximum(counts, 1.0)
    k, s, ss = part[:, 0:2], part[:, 2:4], part[:, 4:7]
    means = k + s / safe[:, None]
    C = np.empty((P, 2, 2))
    C[:, 0, 0] = ss[:, 0] - s[:, 0] * s[:, 0] / safe
    C[:, 1, 0] = C[:, 0, 1] = ss[:, 1] - s[:, 0] * s[:, 1] / safe
    C[:, 1, 1] = ss[:, 2] - s[:, 1] * s[:, 1] / safe
    return merge_groups(counts, means, C)


def _chunk(X: torch.Tensor, y: torch.Tensor, s: int, e: int) -> torch.Tensor:
    return torch.cat([X[s:e], y[s:e, None]], dim=1).double()  # (e - s, d + 1)


def _comoments_chunked(X: torch.Tensor, y: torch.Tensor):
    """d > 1: float64 chunks of [X y] shifted by the previous chunk's mean, ZᵀZ on the device, exact merges."""
    n, d = X.shape
    K = torch.cat([X[:64].double().mean(dim=0), y[:64].double().mean().reshape(1)])
    counts, means, Cs = [], [], []
    for s in range(0, n, CHUNK_ROWS):
        e = min(s + CHUNK_ROWS, n)
        Z = _chunk(X, y, s, e) - K  # (rows, d + 1) float64 chunk
        S = Z.sum(dim=0)
        C = Z.T @ Z - torch.outer(S, S) / (e - s)
        K = K + S / (e - s)
        counts.append(e - s)
        means.append(K)
        Cs.append(C)
    return merge_groups(np.asarray(counts, dtype=np.float64), torch.stack(means).cpu().numpy(),
                        torch.stack(Cs).cpu().numpy())


def _ols(data, fit_intercept: bool, opts: Options):
    X, y = data
    n, d = X.shape
    if fit_intercept:
        mean, M = _comoments_d1(X.reshape(-1), y) if d == 1 else _comoments_chunked(X, y)
        x_mean, y_mean = mean[:d], float(mean[d])
    else:  # no intercept: raw products [X y]ᵀ[X y], float64 chunks on the device
        M = torch.zeros((d + 1, d + 1), dtype=torch.float64, device=X.device)
        for s in range(0, n, CHUNK_ROWS):
            Z = _chunk(X, y, s, min(s + CHUNK_ROWS, n))
            M += Z.T @ Z
        M = M.cpu().numpy()
        x_mean, y_mean = None, 0.0
    G = M[:d, :d]
    growth = n / (_programs(X.device, OLS_PROGRAMS_PER_SM) * BLOCK) + BLOCK if d == 1 and fit_intercept else float(n)
    beta, cond, digits = solve_gram(G, M[d, :d], kernel="ols/triton", u_acc=UNIT_ROUNDOFF["float64"],
                                    u_input=UNIT_ROUNDOFF[opts.dtype], n=n, yy=float(M[d, d]),
                                    x_mean=x_mean, y_mean=y_mean, growth=growth)
    return ols_result("ols/triton", beta, x_mean, y_mean, cond=cond, digits=digits)


_ols.__doc__ = "One fused pass (d = 1): float64 shifted co-moments per program, exact merge on the host."


# --- gradient descent -----------------------------------------------------------------------------

@triton.jit
def _tile_sums(x_ptr, y_ptr, rows, rmask, cols, cmask, w, b, sse, gb, gw, D: tl.constexpr):
    """Add one tile of rows to the running (Σr², Σr, Σr·x) with r = x·w + b - y, in float64."""
    xt = tl.load(x_ptr + rows[:, None] * D + cols[None, :], mask=rmask[:, None] & cmask[None, :],
                 other=0.0).to(tl.float64)
    yt = tl.load(y_ptr + rows, mask=rmask, other=0.0).to(tl.float64)
    r = tl.where(rmask, tl.sum(xt * w[None, :], axis=1) + b - yt, 0.0)
    return sse + r * r, gb + r, gw + r[:, None] * xt


@triton.jit
def _gd_all_epochs(x_ptr, y_ptr, n, w_ptr, b_ptr, hp_ptr, hist_ptr, count_ptr, epochs,
                   D: tl.constexpr, D_PAD: tl.constexpr, ROWS: tl.constexpr, FIT_INTERCEPT: tl.constexpr):
    """One program runs every epoch: loss and gradient over all rows, loss to hist[k], update, stop rule.

    hp = (learning_rate, tol) in float64 (a scalar argument would arrive as float32).
    """
    cols = tl.arange(0, D_PAD)
    cmask = cols < D
    rl = tl.arange(0, ROWS)
    w = tl.load(w_ptr + cols, mask=cmask, other=0.0)
    b = tl.load(b_ptr)
    lr = tl.load(hp_ptr)
    tol = tl.load(hp_ptr + 1)
    scale = 2.0 * lr / n
    prev = b * 0.0
    k = 0
    stop = 0
    while stop == 0:
        sse = tl.zeros([ROWS], dtype=tl.float64)
        gb = tl.zeros([ROWS], dtype=tl.float64)
        gw = tl.zeros([ROWS, D_PAD], dtype=tl.float64)
        for start in range(0, n, ROWS):
            rows = start + rl
            sse, gb, gw = _tile_sums(x_ptr, y_ptr, rows, rows < n, cols, cmask, w, b, sse, gb, gw, D)
        loss = tl.sum(sse, axis=0) / n
        tl.store(hist_ptr + k, loss)
        finite = (loss - loss) == 0.0  # false for inf and nan alike
        converged = (k >= 1) & (tol > 0) & (tl.abs(prev - loss) < tol)
        halt = (k >= epochs) | (finite == 0) | converged
        move = halt == 0
        w = tl.where(move, w - scale * tl.sum(gw, axis=0), w)
        if FIT_INTERCEPT:
            b = tl.where(move, b - scale * tl.sum(gb, axis=0), b)
        prev = loss
        k += 1
        stop = halt.to(tl.int32)
    tl.store(w_ptr + cols, w, mask=cmask)
    tl.store(b_ptr, b)
    tl.store(count_ptr, k)


@triton.jit
def _gd_partials(x_ptr, y_ptr, n, w_ptr, b_ptr, state_ptr, part_ptr, tiles,
                 D: tl.constexpr, D_PAD: tl.constexpr, ROWS: tl.constexpr):
    """One epoch's sums over program p's rows: part[p] = (Σr², Σr, Σr·x); reads nothing once stopped."""
    pid = tl.program_id(0)
    cols = tl.arange(0, D_PAD)
    cmask = cols < D
    rl = tl.arange(0, ROWS)
    active = tl.load(state_ptr) == 0
    w = tl.load(w_ptr + cols, mask=cmask, other=0.0)
    b = tl.load(b_ptr)
    sse = tl.zeros([ROWS], dtype=tl.float64)
    gb = tl.zeros([ROWS], dtype=tl.float64)
    gw = tl.zeros([ROWS, D_PAD], dtype=tl.float64)
    first = pid.to(tl.int64) * tiles * ROWS
    for i in range(tiles):
        rows = first + i * ROWS + rl
        sse, gb, gw = _tile_sums(x_ptr, y_ptr, rows, (rows < n) & active, cols, cmask, w, b, sse, gb, gw, D)
    base = part_ptr + pid * (D_PAD + 2)
    tl.store(base, tl.sum(sse, axis=0))
    tl.store(base + 1, tl.sum(gb, axis=0))
    tl.store(base + 2 + cols, tl.sum(gw, axis=0))


@triton.jit
def _gd_update(part_ptr, n_parts, w_ptr, b_ptr, hp_ptr, hist_ptr, state_ptr, n, epochs,
               D: tl.constexpr, D_PAD: tl.constexpr, PCH: tl.constexpr, FIT_INTERCEPT: tl.constexpr):
    """Sum the programs' partials; record the loss of epoch k = state[1]; update, or set state[0] = 1 (stop)."""
    cols = tl.arange(0, D_PAD)
    cmask = cols < D
    pl = tl.arange(0, PCH)
    halted = tl.load(state_ptr)
    k = tl.load(state_ptr + 1)
    sse = tl.zeros([PCH], dtype=tl.float64)
    gb = tl.zeros([PCH], dtype=tl.float64)
    gw = tl.zeros([PCH, D_PAD], dtype=tl.float64)
    for p0 in range(0, n_parts, PCH):
        rows = p0 + pl
        pmask = rows < n_parts
        sse += tl.load(part_ptr + rows * (D_PAD + 2), mask=pmask, other=0.0)
        gb += tl.load(part_ptr + rows * (D_PAD + 2) + 1, mask=pmask, other=0.0)
        gw += tl.load(part_ptr + rows[:, None] * (D_PAD + 2) + 2 + cols[None, :],
                      mask=pmask[:, None] & cmask[None, :], other=0.0)
    lr = tl.load(hp_ptr)
    tol = tl.load(hp_ptr + 1)
    loss = tl.sum(sse, axis=0) / n
    prev = tl.load(hist_ptr + tl.maximum(k - 1, 0))
    live = halted == 0
    tl.store(hist_ptr + k, loss, mask=live)
    finite = (loss - loss) == 0.0  # false for inf and nan alike
    converged = (k >= 1) & (tol > 0) & (tl.abs(prev - loss) < tol)
    halt = (k >= epochs) | (finite == 0) | converged
    move = live & (halt == 0)
    scale = 2.0 * lr / n
    w = tl.load(w_ptr + cols, mask=cmask, other=0.0)
    tl.store(w_ptr + cols, w - scale * tl.sum(gw, axis=0), mask=cmask & move)
    if FIT_INTERCEPT:
        b = tl.load(b_ptr)
        tl.store(b_ptr, b - scale * tl.sum(gb, axis=0), mask=move)
    tl.store(state_ptr, ((halted != 0) | halt).to(tl.int32))
    tl.store(state_ptr + 1, k + live.to(tl.int32))


def _pow2(v: int) -> int:
    return 1 << max(0, (int(v) - 1).bit_length())


def _gd(data, fit_intercept: bool, opts: Options):
    X, y = data
    n, d = X.shape
    if d > MAX_GD_FEATURES:
        raise ValueError(f"gd/triton handles at most {MAX_GD_FEATURES} features; X has {d}")
    dev = X.device
    b0, w0 = initial_params(opts, d, fit_intercept)
    D_PAD = _pow2(d)
    ROWS = max(16, 4096 // D_PAD)
    w = torch.zeros(D_PAD, dtype=torch.float64, device=dev)
    w[:d] = torch.from_numpy(w0).to(dev)
    b = torch.full((1,), b0, dtype=torch.float64, device=dev)
    hp = torch.tensor([opts.learning_rate, opts.tol], dtype=torch.float64, device=dev)
    hist = torch.empty(opts.epochs + 1, dtype=torch.float64, device=dev)
    if n * (d + 1) <= SMALL_GD:
        count = torch.zeros(1, dtype=torch.int32, device=dev)
        _gd_all_epochs[(1,)](X, y, n, w, b, hp, hist, count, opts.epochs, D=d, D_PAD=D_PAD, ROWS=ROWS,
                             FIT_INTERCEPT=fit_intercept, num_warps=8)
        count = int(count.item())
    else:
        P = _programs(dev)
        tiles = triton.cdiv(triton.cdiv(n, ROWS), P)
        part = torch.empty((P, D_PAD + 2), dtype=torch.float64, device=dev)
        state = torch.zeros(2, dtype=torch.int32, device=dev)  # (halted, losses recorded)
        for k in range(opts.epochs + 1):
            _gd_partials[(P,)](X, y, n, w, b, state, part, tiles, D=d, D_PAD=D_PAD, ROWS=ROWS, num_warps=WARPS)
            _gd_update[(1,)](part, P, w, b, hp, hist, state, n, opts.epochs, D=d, D_PAD=D_PAD,
                             PCH=max(1, min(_pow2(P), 2048 // D_PAD)), FIT_INTERCEPT=fit_intercept,
                             num_warps=WARPS)
            if opts.tol > 0 and k % 256 == 255 and int(state[0].item()):
                break  # converged: stop queueing epochs that would do nothing
        count = int(state[1].item())
    losses = hist[:count].cpu().numpy()
    tr = LossTracker(opts, "gd/triton")
    for loss in losses:  # the same stopping rule, applied to the same losses: stops (or raises) at the end
        if tr.record(loss):
            break
    return tr.result(float(b.item()), w[:d].cpu().numpy())


_gd.__doc__ = "Full-batch gradient descent: all epochs in one launch (small n) or two launches an epoch, no sync."


def _prepare(X, y, opts: Options):
    """Host arrays -> contiguous CUDA tensors in the requested dtype: the one host-to-device transfer."""
    return as_tensor(X, "cuda", opts).contiguous(), as_tensor(y, "cuda", opts).contiguous()


if torch.cuda.is_available():
    common = dict(prepare=_prepare, device="cuda", dtypes=BOTH, sync=torch.cuda.synchronize)
    register("ols", "triton", description="Triton: one fused read of x and y, float64 shifted co-moments "
             "per program merged exactly on the host (d = 1; d > 1 in float64 chunks)", **common)(_ols)
    register("gd", "triton", description="Triton: every epoch in one launch for small n (loss history "
             "written on the device); else two launches an epoch, no host sync", **common)(_gd)
else:
    mark_unavailable("triton", "no CUDA device (torch.cuda.is_available() is False)")


def gd_epoch_seconds(n: int, epochs: int = 1000, d: int = 1, dtype: str = "float32") -> float:
    """Seconds per epoch of gd/triton on random data (CUDA events around solve, after a warm-up)."""
    X = torch.randn(n, d, device="cuda", dtype=TORCH_DTYPES[dtype])
    y = X.sum(dim=1) + 0.1 * torch.randn(n, device="cuda", dtype=X.dtype)
    opts = Options(learning_rate=0.1, epochs=epochs, dtype=dtype)
    _gd((X, y), True, opts)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    _gd((X, y), True, opts)
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / 1e3 / epochs

