"""Peak memory of one fit, beyond its input, as a multiple of the input's size.

asv's own peakmem_ reports the process's lifetime peak RSS: the interpreter, every imported library and the
data made in setup, with no way to subtract them. This measures what one fit adds: the peak RSS during
prepare + solve (conversions, copies, temporaries) minus the RSS just before, with X and y already in memory;
for CUDA kernels the device allocator's peak is added. See docs/benchmarks.md.
"""
from __future__ import annotations

from . import peak_memory
from .common import (MEMORY_FEATURES, PROFILE, Estimates, check_budget, check_size, data, get, input_bytes,
                     kernel_names, options, warm_up)


class PeakMemory(Estimates):
    """Extra peak memory of one fit (prepare + solve) over the input X (n, 10) and y, in multiples of it."""

    param_names = ["kernel", "n"]
    params = [kernel_names(), list(PROFILE.memory_sizes)]
    rounds = 1
    timeout = 600

    def setup(self, calibrations, name, n):
        why = peak_memory.supported()
        if why:
            raise NotImplementedError(why)
        kernel = get(name)
        d = MEMORY_FEATURES
        check_size(kernel, n, d)
        check_budget(kernel, n, d, calibrations)
        self.kernel, self.opts = kernel, options(kernel)
        self.X, self.y = data(n, d)
        warm_up(kernel, self.X, self.y)
        peak_memory.fix_malloc_threshold()  # this process only: asv runs each benchmark in its own

    def track_peakmem_extra(self, calibrations, name, n):
        k = self.kernel
        extra = peak_memory.peak_extra_bytes(lambda: k.solve(k.prepare(self.X, self.y, self.opts), True, self.opts),
                                             cuda=k.device == "cuda")
        return extra / input_bytes(n, MEMORY_FEATURES)

    track_peakmem_extra.unit = "x input"
