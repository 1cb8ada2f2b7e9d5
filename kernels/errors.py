"""The errors and warnings a fit can raise; every one names the problem and, where it helps, the fix."""


class KernelError(Exception):
    """Base class for every error this package raises on purpose."""


class InputError(KernelError, ValueError):
    """X, y or an option is unusable: shape, NaN/inf, too few rows, unknown option."""


class SingularDesignError(InputError):
    """The design matrix has no unique least-squares solution (constant or repeated columns)."""


class RangeError(InputError):
    """The values' squares or products leave float64's range (overflow, or underflow to subnormal numbers);
    `fit` then retries once with every column and y rescaled by a power of two (exact)."""


class UnderflowError(RangeError, SingularDesignError):
    """A column has no variance left in the working dtype: its values are too small to square, or rounding to
    the dtype made it constant. `fit` retries once rescaled; what still has none is singular."""


class UnknownKernelError(KernelError, KeyError):
    """No kernel of that name exists; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class UnavailableKernelError(KernelError, RuntimeError):
    """The kernel exists but cannot run here (library not installed, no CUDA device)."""


class DivergenceError(KernelError, ArithmeticError):
    """Gradient descent's loss became non-finite or grew: the learning rate is too large."""


class DataFileError(KernelError, FileNotFoundError):
    """A data file is missing or malformed; the message says where it looked."""


class AccuracyWarning(UserWarning):
    """A fit returned fewer trustworthy digits than the warning threshold.

    Filter it like any warning: ``warnings.simplefilter("error", AccuracyWarning)`` makes it an error.
    """
