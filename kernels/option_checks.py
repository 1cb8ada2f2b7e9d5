"""Option checks, done once at the public boundary (`kernels.fit`) before any work on the data: names, types
and ranges with one rule for every backend, and the epoch budget of the iterative kernels."""
from __future__ import annotations

import dataclasses
import numbers

import numpy as np

from .contract import DTYPES, ITERATIVE, OPTIONS_BY_ALGORITHM, SCHEDULES, Kernel, Options
from .errors import InputError
from .validation import _as_float_array, _type_name

# Gradient descent's epoch budget: the loss history holds one float per epoch, and a run's work is about
# n·(d + 1) values read an epoch. A budget beyond either limit is refused before any work, with the reason:
# at 1e13 values even a compiled kernel at memory speed (about 1e10 values/s here) needs over 15 minutes.
MAX_EPOCHS = 10_000_000
MAX_WORK = 10 ** 13

_REAL = "a real number (int or float)"


def check_fit_intercept(fit_intercept) -> bool:
    """fit_intercept must be a bool (Python or NumPy): "False" or None would silently mean True or False."""
    if isinstance(fit_intercept, (bool, np.bool_)):
        return bool(fit_intercept)
    raise InputError(f"fit_intercept must be True or False; got {fit_intercept!r} ({_type_name(fit_intercept)})")


def _real(name: str, v, *, positive: bool = False) -> float:
    """An option given as a real number, as the Python float of exactly its value (a NumPy float32 carries
    the same value into the same float64 arithmetic as a Python float would)."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.integer, np.floating)):
        raise InputError(f"{name} must be {_REAL}; got {v!r} ({_type_name(v)})")
    try:
        f = float(v)
    except OverflowError:
        raise InputError(f"{name} must be a finite number; got {v!r}") from None
    ok = np.isfinite(f) and (f > 0 if positive else f >= 0)
    if not ok:
        raise InputError(f"{name} must be a {'positive' if positive else 'non-negative'} finite number"
                         f"{' (0 = always run every epoch)' if name == 'tol' else ''}; got {v!r}")
    if isinstance(v, numbers.Integral) and float(f) != v:
        raise InputError(f"{name} = {v} cannot be represented exactly as a float; got {v!r}")
    return f


def _integer(name: str, v, *, minimum: int, what: str) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Integral, np.integer)):
        raise InputError(f"{name} must be {what}; got {v!r} ({_type_name(v)})")
    i = int(v)
    if i < minimum:
        raise InputError(f"{name} must be {what}; got {v!r}")
    return i


def _dtype_name(v) -> str:
    """"float32"/"float64", also from np.float32 or np.dtype("float32"); anything else is refused."""
    if isinstance(v, str) and v in DTYPES:
        return v
    name = None
    if v is not None and not isinstance(v, (bool, numbers.Number)):
        try:
            name = np.dtype(v).name
        except (TypeError, ValueError):
            name = None
    if name in DTYPES:
        return name
    raise InputError(f"dtype must be one of {', '.join(DTYPES)} (a string, or the NumPy dtype); got {v!r}")


def _init(v, d: int, fit_intercept: bool) -> np.ndarray:
    p = d + int(fit_intercept)
    want = (f"init must hold {p} finite numbers ({'intercept first, then ' if fit_intercept else ''}"
            f"{d} coefficient(s))")
    if isinstance(v, (str, bytes, dict)) or not hasattr(v, "__len__") and not hasattr(v, "__array__"):
        raise InputError(f"{want}; got {v!r} ({_type_name(v)})")
    try:
        init = _as_float_array(v, "init").ravel()
    except InputError as exc:
        raise InputError(f"{want}; {exc}") from None
    if init.shape != (p,) or not np.isfinite(init).all():
        shown = init.tolist() if init.size <= 20 else f"{init.size} values"
        raise InputError(f"{want}; got {shown!r}")
    return init.astype(np.float64)


def check_option_types(kernel: Kernel, options: dict) -> Options:
    """Options by name, type and range, before any work on the data: one rule for every backend.

    Numbers are taken from int, float and NumPy scalars (never bool or str) and stored as Python int/float,
    so the iterates do not depend on the type that carried a value; init is checked in check_options."""
    allowed = OPTIONS_BY_ALGORITHM[kernel.algorithm] + kernel.extra_options
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InputError(
            f"{kernel.name} does not take option(s) {', '.join(unknown)}; it takes: {', '.join(allowed)}"
        )
    opts = Options(**options)
    dtype = _dtype_name(opts.dtype)
    if dtype not in kernel.dtypes:
        raise InputError(f"{kernel.name} does not support dtype {dtype}; it supports {', '.join(kernel.dtypes)}")
    scheduler = _scheduler(opts.scheduler)
    # replace() costs more than the rest of a small fit's option handling: only when something changes
    if not (isinstance(opts.dtype, str) and opts.dtype == dtype) or scheduler is not opts.scheduler:
        opts = dataclasses.replace(opts, dtype=dtype, scheduler=scheduler)
    if kernel.algorithm not in ITERATIVE:
        return opts
    epochs = _integer("epochs", opts.epochs, minimum=1, what="a positive integer")
    if epochs > MAX_EPOCHS:
        raise InputError(
            f"epochs = {epochs} is beyond the limit of {MAX_EPOCHS:,} epochs (the loss history keeps one value "
            f"an epoch, and a run that long cannot finish in reasonable time); ask for fewer epochs, or pass "
            "tol > 0 with a budget within the limit to stop at convergence"
        )
    if not isinstance(opts.schedule, str) or opts.schedule not in SCHEDULES:
        raise InputError(f"schedule must be one of {', '.join(SCHEDULES)}; got {opts.schedule!r}")
    return dataclasses.replace(
        opts,
        learning_rate=_real("learning_rate", opts.learning_rate, positive=True),
        epochs=epochs,
        tol=_real("tol", opts.tol),
        seed=_seed(opts.seed),
        batch_size=_integer("batch_size", opts.batch_size, minimum=1, what="a positive integer"),
        power_t=_real("power_t", opts.power_t, positive=True),
    )


def _scheduler(v):
    """The Dask kernels' scheduler: None (the local cluster, or $LRBENCH_SCHEDULER), an address such as
    "tcp://host:8786", or a distributed.Client."""
    if v is None or (isinstance(v, str) and "://" in v) or type(v).__name__ == "Client":
        return v
    raise InputError(f"scheduler must be a Dask scheduler address such as 'tcp://host:8786', a "
                     f"distributed.Client, or None (the local cluster); got {v!r} ({_type_name(v)})")


MAX_SEED = 2 ** 32 - 1  # the largest seed every backend takes (scikit-learn's RandomState stops here)


def _seed(v) -> int:
    seed = _integer("seed", v, minimum=0, what=f"an integer from 0 to {MAX_SEED}")
    if seed > MAX_SEED:
        raise InputError(f"seed must be an integer from 0 to {MAX_SEED} (2**32 - 1); got {v!r}")
    return seed


def check_budget(kernel: Kernel, opts: Options, n: int, d: int) -> None:
    """Refuse an iterative run whose work, about n·(d + 1)·epochs values read, is beyond MAX_WORK."""
    if kernel.algorithm not in ITERATIVE:
        return
    work = n * (d + 1) * opts.epochs
    if work > MAX_WORK:
        most = max(1, MAX_WORK // (n * (d + 1)))
        raise InputError(
            f"{kernel.name}: {opts.epochs} epochs over {n} rows x {d} column(s) is about {work:.2g} values to "
            f"read, beyond the limit of {MAX_WORK:.0e} (a run that cannot finish in reasonable time); "
            f"ask for at most {most} epochs here, or use fewer rows"
        )


def check_options(kernel: Kernel, options: dict, d: int, fit_intercept: bool, n: int | None = None) -> Options:
    """Turn keyword options into Options, rejecting names the kernel's algorithm does not take, values of the
    wrong type or range, and (given n) an epoch budget that cannot finish."""
    opts = options if isinstance(options, Options) else check_option_types(kernel, options)
    if kernel.algorithm not in ITERATIVE:
        return opts
    if n is not None:
        check_budget(kernel, opts, n, d)
        if opts.batch_size > n:  # one batch of every row either way; keeps the value within a machine int
            opts = dataclasses.replace(opts, batch_size=n)
    if opts.init is not None:
        opts = dataclasses.replace(opts, init=_init(opts.init, d, fit_intercept))
    return opts
