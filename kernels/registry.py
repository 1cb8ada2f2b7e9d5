"""The registry: one module-level dict of "algorithm/backend" -> Kernel, filled by `register`."""
from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from typing import Callable

from .contract import ALGORITHMS, Kernel, SolveFn
from .errors import UnavailableKernelError, UnknownKernelError

REGISTRY: dict[str, Kernel] = {}
UNAVAILABLE: dict[str, str] = {}  # backend -> why it is not registered here
PROVIDES: dict[str, tuple[str, ...]] = {}  # backend -> the algorithms it has where it is available (declared)

BACKENDS_PACKAGE = "kernels.backends"
BACKENDS_DIR = Path(__file__).with_name("backends")


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


def _declared(path: Path, name: str):
    if path.is_dir():
        path = path / "__init__.py"
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def declared_backends(path: Path) -> tuple[str, ...]:
    """The module-level `BACKENDS = (...)` of a backend module, read without importing it (its library may be
    missing): the names to mark unavailable when the import fails."""
    return tuple(_declared(path, "BACKENDS") or ())


def declared_algorithms(path: Path) -> dict[str, tuple[str, ...]]:
    """The module-level `PROVIDES = {backend: (algorithm, ...)}` of a backend module (optional): the kernels
    it has on a machine with everything installed, so that a name it never has is unknown, not unavailable."""
    return {b: tuple(a) for b, a in (_declared(path, "PROVIDES") or {}).items()}


def load_backends() -> None:
    """Import every module (or package) in kernels/backends/ once, in name order; a module whose library is
    missing registers nothing, and the backends it declares are recorded as unavailable with the reason."""
    for info in sorted(pkgutil.iter_modules([str(BACKENDS_DIR)]), key=lambda m: m.name):
        PROVIDES.update(declared_algorithms(BACKENDS_DIR / (info.name if info.ispkg else f"{info.name}.py")))
        try:
            importlib.import_module(f"{BACKENDS_PACKAGE}.{info.name}")
        except ImportError as exc:
            for b in declared_backends(BACKENDS_DIR / (info.name if info.ispkg else f"{info.name}.py")):
                mark_unavailable(b, f"{exc.name or exc} is not installed ({type(exc).__name__}: {exc})")


def get_kernel(name: str) -> Kernel:
    """The kernel called `name`, or an error that says why not and lists what is available."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        pass
    known = ", ".join(sorted(REGISTRY))
    algorithm, _, backend = str(name).partition("/")
    exists = algorithm in ALGORITHMS and algorithm in PROVIDES.get(backend, ALGORITHMS)
    if exists and backend in UNAVAILABLE:
        raise UnavailableKernelError(
            f"kernel {name!r} is not available here: {backend}: {UNAVAILABLE[backend]}. Available: {known}"
        ) from None
    why = ""
    if backend in PROVIDES and algorithm in ALGORITHMS:
        why = f" (no machine has it: backend {backend} provides {', '.join(PROVIDES[backend])} only)"
    raise UnknownKernelError(f"unknown kernel {name!r}{why}; known kernels: {known}") from None
