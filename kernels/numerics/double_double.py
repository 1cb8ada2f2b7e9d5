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
