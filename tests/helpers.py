"""Test helpers: kernel lists come from the registry, so a new kernel is tested the day it registers."""
from __future__ import annotations

import numpy as np
import pytest

from kernels import REGISTRY


def kernel_params(algorithm: str | None = None, *, reference: bool | None = None, dtype: str | None = None):
    """pytest params over the registered kernels; CUDA kernels carry the `cuda` mark."""
    out = []
    for name, k in sorted(REGISTRY.items()):
        if algorithm and k.algorithm != algorithm:
            continue
        if reference is not None and k.reference != reference:
            continue
        if dtype and dtype not in k.dtypes:
            continue
        marks = [pytest.mark.cuda] if k.device == "cuda" else []
        if k.lazy and k.algorithm != "ols":  # a cluster round trip per epoch: thousands of epochs are slow
            marks.append(pytest.mark.slow)
        out.append(pytest.param(name, id=name, marks=marks))
    return out


def tolerance(dtype: str, cond: float = 1.0) -> dict:
    """rtol/atol for comparing coefficients computed in `dtype` on a problem of condition number `cond`."""
    u = {"float64": 2.0 ** -53, "float32": 2.0 ** -24}[dtype]
    if dtype == "float64":
        return {"rtol": 1e-10, "atol": 1e-12}
    return {"rtol": 64 * u * cond, "atol": 64 * u * cond}


def random_problem(n: int, d: int, seed: int, noise: float = 0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d) + rng.normal(size=d)
    coef = rng.normal(size=d)
    y = 0.7 + X @ coef + noise * rng.normal(size=n)
    return X, y
