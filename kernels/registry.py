"""The registry: one module-level dict of "algorithm/backend" -> Kernel, filled by `register`."""
from __future__ import annotations

import importlib
from typing import Callable

from .contract import ALGORITHMS, Kernel, SolveFn
from .errors import UnavailableKernelError, UnknownKernelError

REGISTRY: dict[str, Kernel] = {}
UNAVAILABLE: dict[str, str] = {}  # backend -> why it is not registered here

# Backend modules, imported in this order; a module whose library is missing registers nothing and
# its backends are recorded as unavailable with the import error.
BACKEND_MODULES = {
    "kernels.python_": ("python",),
    "kernels.numpy_": ("numpy",),
    "kernels.numba_": ("numba", "numba-parallel", "numba-gram"),
    "kernels.torch_": ("torch-cpu", "torch-cuda"),
    "kernels.triton_fused": ("triton",),
    "kernels.references": ("statsmodels", "sklearn", "torch-nn", "torch-nn-cuda"),
    "kernels.exact": ("exact",),
    "kernels.qr": ("qr",),
}


def register(algorithm: str, backend: str, **fields) -> Callable[[SolveFn], SolveFn]:
    """Decorator: register `solve` as the kernel "algorithm/backend"."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")

    def deco(solve: SolveFn) -> SolveFn:
        name = f"{algorithm}/{backend}"
        if name in REGISTRY:
            raise ValueError(f"kernel {name!r} is registered twice")
        REGISTRY[name] = Kernel(name=name, algorithm=algorithm, backend=backend, solve=solve, **fields)
        return solve

    return deco


def mark_unavailable(backend: str, reason: str) -> None:
    UNAVAILABLE.setdefault(backend, reason)


def load_backends() -> None:
    """Import every backend module once; record why any could not register."""
    for module, backends in BACKEND_MODULES.items():
        try:
            importlib.import_module(module)
        except ImportError as exc:
            for b in backends:
                mark_unavailable(b, f"{exc.name or exc} is not installed ({type(exc).__name__}: {exc})")


def get_kernel(name: str) -> Kernel:
    """The kernel called `name`, or an error that says why not and lists what is available."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        pass
    known = ", ".join(sorted(REGISTRY))
    algorithm, _, backend = str(name).partition("/")
    if algorithm in ALGORITHMS and backend in UNAVAILABLE:
        raise UnavailableKernelError(
            f"kernel {name!r} is not available here: {backend}: {UNAVAILABLE[backend]}. Available: {known}"
        ) from None
    raise UnknownKernelError(f"unknown kernel {name!r}; known kernels: {known}") from None
