"""The asv suite: thin classes over kernels.REGISTRY (see docs/benchmarks.md).

Environment defaults are set here, before any module of the suite imports kernels or torch.
"""
import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
# asv-managed environments install the package into site-packages, where its default cache and data folders
# would be wrong: point both at this checkout unless the user chose others.
os.environ.setdefault("LRBENCH_CACHE_DIR", str(_REPO / ".cache"))
os.environ.setdefault("LRBENCH_DATA_DIR", str(_REPO / "data"))
# asv forks every benchmark from one process that imported this suite. torch.cuda.is_available() asks the
# CUDA runtime by default, after which torch refuses CUDA in a forked child; asking NVML instead keeps the
# parent CUDA-free. Read by torch at each call, so it must be set before the first one (kernels' import).
os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
