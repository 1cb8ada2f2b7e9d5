"""The tutorial's comparison: every kernel on the scaled Advertising data (Sales ~ TV), the seed's example."""
from __future__ import annotations

import time
import warnings

from kernels import available, datasets, fit

# Options per algorithm: the tutorial's gd settings; sgd and minibatch sized to converge.
DEMO_OPTIONS = {
    "ols": {},
    "gd": {"learning_rate": 0.1, "epochs": 1000},
    "sgd": {"learning_rate": 0.01, "epochs": 200},
    "minibatch": {"learning_rate": 0.05, "epochs": 500, "batch_size": 32},
}


def demo_rows(data_dir=None, kernels=None) -> tuple[datasets.Dataset, list[dict]]:
    """Fit the scaled Advertising data with every registered kernel (or those named); one row per kernel:
    kernel, intercept, slope, seconds (second call: the first compiles), n_iter, reference, options, diff
    (largest difference from ols/statsmodels, else from the first kernel)."""
    ds = datasets.load_advertising(scaled=True, data_dir_override=data_dir)
    rows = []
    for info in available():
        name = info["name"]
        if kernels is not None and name not in kernels:
            continue
        if info.get("lazy"):  # Dask: a cluster round trip an epoch says nothing on 200 rows (README)
            continue
        opts = DEMO_OPTIONS[info["algorithm"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a warm-up call compiles JIT kernels; it is not timed
            fit(ds.X, ds.y, kernel=name, **opts)
        t0 = time.perf_counter()
        r = fit(ds.X, ds.y, kernel=name, **opts)
        rows.append({"kernel": name, "intercept": float(r.intercept), "slope": float(r.coef[0]),
                     "seconds": time.perf_counter() - t0, "n_iter": r.n_iter, "reference": info["reference"],
                     "options": opts})
    if not rows:
        raise ValueError(f"no kernel to fit: none of {sorted(kernels or [])} is registered here")
    ref = next((r for r in rows if r["kernel"] == "ols/statsmodels"), rows[0])
    for r in rows:
        r["diff"] = max(abs(r["intercept"] - ref["intercept"]), abs(r["slope"] - ref["slope"]))
    return ds, rows
