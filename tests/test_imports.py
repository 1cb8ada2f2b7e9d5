"""The package imports and works with an optional library made unimportable: its kernels are not registered."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = """
import json, sys
for mod in {blocked!r}:
    sys.modules[mod] = None  # makes `import mod` raise ImportError
import numpy as np
import kernels
x = np.arange(10.0); y = 3 * x + 1
r = kernels.fit(x, y, kernel="ols/numpy")
err = None
try:
    kernels.fit(x, y, kernel={probe!r})
except kernels.UnavailableKernelError as e:
    err = str(e)
print(json.dumps({{"kernels": sorted(kernels.REGISTRY), "coef": r.coef.tolist(), "error": err}}))
"""


@pytest.mark.parametrize("blocked, probe, gone", [
    (["torch"], "gd/torch-cpu", ["torch-cpu", "torch-nn"]),
    (["numba"], "ols/numba", ["numba"]),
    (["torch", "numba"], "ols/numba-parallel", ["torch-cpu", "numba"]),
])
def test_import_without_optional_library(blocked, probe, gone):
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(blocked=blocked, probe=probe)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["coef"] == pytest.approx([3.0])
    assert {"ols/numpy", "gd/python", "ols/statsmodels", "sgd/sklearn"} <= set(res["kernels"])
    assert not [k for k in res["kernels"] if k.split("/")[1] in gone]
    assert res["error"] and "is not available here" in res["error"] and blocked[-1] in res["error"]
