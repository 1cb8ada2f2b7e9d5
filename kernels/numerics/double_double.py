"""Error-free transformations for double-double arithmetic: a + b and a·b as an unevaluated sum hi + lo that
is exact. Callers must compile without fast-math (reassociation would cancel the error terms to zero)."""
from __future__ import annotations

from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def fma(typingctx, a, b, c):
    """a * b + c with one rounding (LLVM's fma: the CPU's instruction where it has one)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)
    return sig, codegen


@njit(cache=True, nogil=True)
def two_sum(a, b):
    """(s, e) with s = fl(a + b) and s + e = a + b exactly (Knuth's TwoSum, no branch)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(cache=True, nogil=True)
def two_prod(a, b):
    """(p, e) with p = fl(a·b) and p + e = a·b exactly (one fused multiply-add)."""
    p = a * b
    return p, fma(a, b, -p)


@njit(cache=True, nogil=True)
def dd_add(ah, al, bh, bl):
    """(ah + al) + (bh + bl) as a normalised double-double (error about u² of the sum's size)."""
    s, e = two_sum(ah, bh)
    e += al + bl
    return two_sum(s, e)


@njit(cache=True, nogil=True)
def dot2(ah, al, bh, bl, m):
    """Σ (ah + al)·(bh + bl) over [:m] as a double-double (hi, lo): Ogita-Rump-Oishi Dot2, in four independent
    lanes so the TwoSum chains overlap. Error about u²·Σ|a||b| + n²u²·Σ|a||b|: as if summed in twice the
    precision. Pass zeros for al or bl where an operand is a plain float."""
    s0, s1, s2, s3 = 0.0, 0.0, 0.0, 0.0
    e0, e1, e2, e3 = 0.0, 0.0, 0.0, 0.0
    m4 = m - m % 4
    for i in range(0, m4, 4):
        p, pe = two_prod(ah[i], bh[i])
        s0, t = two_sum(s0, p)
        e0 += t + pe + (ah[i] * bl[i] + al[i] * bh[i])
        p, pe = two_prod(ah[i + 1], bh[i + 1])
        s1, t = two_sum(s1, p)
        e1 += t + pe + (ah[i + 1] * bl[i + 1] + al[i + 1] * bh[i + 1])
        p, pe = two_prod(ah[i + 2], bh[i + 2])
        s2, t = two_sum(s2, p)
        e2 += t + pe + (ah[i + 2] * bl[i + 2] + al[i + 2] * bh[i + 2])
        p, pe = two_prod(ah[i + 3], bh[i + 3])
        s3, t = two_sum(s3, p)
        e3 += t + pe + (ah[i + 3] * bl[i + 3] + al[i + 3] * bh[i + 3])
    for i in range(m4, m):
        p, pe = two_prod(ah[i], bh[i])
        s0, t = two_sum(s0, p)
        e0 += t + pe + (ah[i] * bl[i] + al[i] * bh[i])
    h, lo = dd_add(s0, e0, s1, e1)
    h, lo = dd_add(h, lo, s2, e2)
    return dd_add(h, lo, s3, e3)
