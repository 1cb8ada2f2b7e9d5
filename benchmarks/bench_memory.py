"""Peak memory of one fit, beyond its input, as a multiple of the input's size.

asv's own peakmem_ reports the process's lifetime peak RSS: the interpreter, every imported library and the
data made in setup, with no way to subtract them. This measures what one fit adds: the peak RSS during
prepare + solve (conversions, copies, temporaries) minus the RSS just before, with X and y already in memory;
for CUDA kernels the device allocator's peak is added. See docs/benchmarks.md.
"""
from __future__ import annotations

from . import peak_memory
from .base import KernelBenchmark
from .common import MEMORY_FEATURES, PROFILE, input_bytes, kernel_names


class PeakMemory(KernelBenchmark):
    """Extra peak memory of one fit (prepare + solve) over the input X (n, 10) and y, in multiples of it."""

    param_names = ["kernel", "n"]
    params = [kernel_names(), list(PROFILE.memory_sizes)]
    features = MEMORY_FEATURES
    rounds = 1
    repeat = 0  # asv's default: track_ benchmarks take one value

    def skip_unless_supported(self) -> None:
        why = peak_memory.supported()
        if why:
            raise NotImplementedError(why)

    def setup(self, calibrations, name, n):
        super().setup(calibrations, name, n)
        peak_memory.fix_malloc_threshold()  # this process only: asv runs each benchmark in its own

    def track_peakmem_extra(self, calibrations, name, n):
        extra = peak_memory.peak_extra_bytes(self.fit, cuda=self.kernel.device == "cuda")
        return extra / input_bytes(n, self.features)

    track_peakmem_extra.unit = "x input"
