"""The asv suite: generated from the registry, profiles as documented, skips where promised, the timed call
is the solve alone, the fixed gradient-descent settings are stable, and the peak-memory measure measures."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kernels import REGISTRY
from kernels.contract import ITERATIVE

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import (  # noqa: E402
    base,
    bench_accuracy,
    bench_compile,
    bench_memory,
    bench_time,
    common,
    peak_memory,
    run_record,
)


def test_every_registered_kernel_is_benchmarked():
    """Every kernel the profile runs (all but the Dask kernels it leaves to the scale profile) is benchmarked."""
    names = {k for k in REGISTRY if common.in_profile(REGISTRY[k])}
    assert names >= {k for k in REGISTRY if not REGISTRY[k].lazy}  # only Dask kernels may be left out
    assert set(bench_time.Fit.params[0]) == names
    assert set(bench_memory.PeakMemory.params[0]) == names
    assert set(bench_accuracy.NistLRE.params[0]) == {k for k in names if REGISTRY[k].algorithm == "ols"}
    assert set(bench_accuracy.GdLossCurve.params[0]) == {k for k in names if REGISTRY[k].algorithm in ITERATIVE}
    assert set(bench_compile.NumbaFirstCall.params[0]) == {k for k in names if "numba" in REGISTRY[k].backend}


def test_profiles_hold_the_documented_sizes():
    full, quick = common.PROFILES["full"], common.PROFILES["quick"]
    assert full.sizes == tuple(10 ** e for e in range(2, 8))
    assert full.features == (1, 10) and full.wide == (100,)
    assert quick.wide == (100,) and max(quick.sizes) >= common.WIDE_MIN_ROWS  # the wide design's one size
    assert set(quick.sizes) < set(full.sizes) and len(quick.sizes) >= 3  # a log-log line needs 3 points
    assert common.PROFILE.name == os.environ.get("LRBENCH_PROFILE", "quick")


def test_an_unknown_profile_is_an_error_naming_the_known_ones():
    env = dict(os.environ, LRBENCH_PROFILE="huge")
    r = subprocess.run([sys.executable, "-c", "import benchmarks.common"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "LRBENCH_PROFILE='huge'" in r.stderr and "quick" in r.stderr and "full" in r.stderr


def test_kernel_filter_selects_by_pattern(monkeypatch):
    monkeypatch.setenv("LRBENCH_KERNELS", "ols/num*, gd/numpy")
    assert common.selected(REGISTRY) == sorted(
        k for k in REGISTRY if k.startswith("ols/num") or k == "gd/numpy")
    monkeypatch.setenv("LRBENCH_KERNELS", "nothing/*")
    assert common.kernel_names() == ["(none selected)"]
    with pytest.raises(NotImplementedError, match="not registered"):
        common.get("(none selected)")


def test_wide_design_runs_for_ols_at_large_n_only(monkeypatch):
    monkeypatch.setattr(common, "PROFILE", common.PROFILES["full"])
    with pytest.raises(NotImplementedError, match="OLS kernels only"):
        common.check_size(REGISTRY["gd/numpy"], 1_000_000, 100)
    with pytest.raises(NotImplementedError, match="n >= 100000"):
        common.check_size(REGISTRY["ols/numpy"], 10_000, 100)
    common.check_size(REGISTRY["ols/numpy"], 100_000, 100)  # runs


def test_too_large_for_memory_is_skipped_not_attempted(monkeypatch):
    monkeypatch.setattr(common, "available_memory", lambda: 10 * 2 ** 20)
    with pytest.raises(NotImplementedError, match="GiB"):
        common.check_size(REGISTRY["ols/numpy"], 1_000_000, 10)


def test_pure_python_stops_where_a_fit_would_take_more_than_the_budget():
    with pytest.raises(NotImplementedError, match=r"would take about \d+ s"):
        common.check_budget(REGISTRY["gd/python"], 10_000_000, 10, {})
    assert common.check_budget(REGISTRY["ols/numpy"], 100_000, 10, {}) < common.PROFILE.fit_budget_s
    assert common.check_budget(REGISTRY["gd/python"], 1_000, 10, {}) == 0.0  # small: no estimate needed
    # the calibration made once per run (asv's setup_cache) decides: a slow one skips even a fast kernel
    with pytest.raises(NotImplementedError):
        common.check_budget(REGISTRY["ols/numpy"], 100_000, 10, {("ols/numpy", 10): (1_000, 1.0)})


def test_a_kernel_that_refuses_the_calibration_is_skipped_with_its_reason():
    """ols/exact refuses d = 100 on the calibration's rows (its work limit): the size is skipped, not the run."""
    cal = common.calibrate("ols/exact", 100, 1_000_000)
    assert isinstance(cal, str) and "too large for exact rational arithmetic" in cal
    with pytest.raises(NotImplementedError, match="too large for exact"):
        common.check_budget(REGISTRY["ols/exact"], 1_000_000, 100, {("ols/exact", 100): cal})


def test_estimate_scales_with_rows_and_epochs():
    k = REGISTRY["gd/python"]
    rows, t = common.calibrate(k.name, 1, 10_000_000)
    est = common.estimate(k, (rows, t), 10_000_000)
    X, y = common.data(rows, 1)
    # linear in rows and epochs from the calibration, with the safety factor far beyond it
    assert est == pytest.approx(common.EPOCHS * common.ESTIMATE_SAFETY * t * 10_000_000 / rows, rel=1e-12)
    one = min(common.timed_fit(k, X, y, common.options(k, epochs=1)) for _ in range(3))
    assert 0.1 * one < t < 10.0 * one  # the calibration timed one epoch: noise on a shared machine, not 10x
    assert common.estimate(k, (rows, t), 2 * 10_000_000) == pytest.approx(2 * est)


def test_a_fixed_per_call_cost_is_not_multiplied_by_n(monkeypatch):
    """A kernel costing 20 ms a call whatever n must not be skipped from its time on 2,000 rows x n / 2,000.

    (20 ms, not more: the calibration rightly stops refining when the next size would itself cost a good part
    of the budget, and a loaded machine stretches the sleep.)"""
    import time as _time

    def solve(data, fit_intercept, opts):
        _time.sleep(0.02)
        return REGISTRY["ols/numpy"].solve(data, fit_intercept, opts)

    monkeypatch.setitem(REGISTRY, "ols/slow-start", replace(REGISTRY["ols/numpy"], name="ols/slow-start", solve=solve))
    monkeypatch.setattr(common, "PROFILE", common.PROFILES["quick"])
    cal = common.calibrate("ols/slow-start", 1, 1_000_000)
    est = common.estimate(REGISTRY["ols/slow-start"], cal, 1_000_000)
    assert cal[0] == common.CALIBRATION_ROWS[-1]  # refined on the most rows
    assert est < common.PROFILE.fit_budget_s, est  # linear from 2,000 rows would say about 15 s


class _Counting:
    """A kernel wrapper counting prepare, solve and sync calls."""

    def __init__(self, kernel):
        self.calls = {"prepare": 0, "solve": 0, "sync": 0}

        def prepare(X, y, opts):
            self.calls["prepare"] += 1
            return kernel.prepare(X, y, opts)

        def solve(data, fit_intercept, opts):
            self.calls["solve"] += 1
            return kernel.solve(data, fit_intercept, opts)

        def sync():
            self.calls["sync"] += 1

        self.kernel = replace(kernel, name="gd/counting", prepare=prepare, solve=solve, sync=sync)


def test_time_fit_times_the_solve_alone_and_synchronises(monkeypatch):
    c = _Counting(REGISTRY["gd/numpy"])
    monkeypatch.setitem(REGISTRY, "gd/counting", c.kernel)
    base._prepared.clear()
    b = bench_time.Fit()
    b.setup({}, "gd/counting", 1_000, 1)  # warm-up fit and the one prepare happen here
    before = dict(c.calls)
    b.time_fit({}, "gd/counting", 1_000, 1)
    assert c.calls["prepare"] == before["prepare"]  # no conversion in the timed call
    assert c.calls["solve"] == before["solve"] + 1
    assert c.calls["sync"] == before["sync"] + 1  # a device kernel is waited for before the clock stops
    b.setup({}, "gd/counting", 1_000, 1)  # asv re-runs setup before each sample: the prepared input is reused
    assert c.calls["prepare"] == before["prepare"]
    base._prepared.clear()


@pytest.mark.parametrize("name", sorted(k for k in REGISTRY if REGISTRY[k].algorithm in ITERATIVE))
def test_fixed_gradient_descent_settings_are_stable(name):
    """The benchmark's epochs and learning rate lower the loss on its data, smallest size included."""
    k = REGISTRY[name]
    for n, d in ((100, 10), (1_000, 1)):
        X, y = common.data(n, d)
        opts = common.options(k)
        r = k.solve(k.prepare(X, y, opts), True, opts)
        assert r.n_iter == common.EPOCHS
        assert r.loss_history[-1] < 0.5 * r.loss_history[0], (name, n, d, r.loss_history)


@pytest.mark.skipif(peak_memory.supported() is not None, reason="needs Linux's /proc/self/clear_refs")
def test_peak_memory_sees_a_temporary_and_not_what_was_there_before():
    held = np.ones(8_000_000)  # 64 MB already in memory: must not count
    extra = peak_memory.peak_extra_bytes(lambda: np.ones(6_000_000).sum())  # a 48 MB temporary
    assert 40e6 < extra < 60e6
    assert peak_memory.peak_extra_bytes(lambda: held[:10].sum()) < 8e6


@pytest.mark.skipif(peak_memory.supported() is not None, reason="needs Linux's /proc/self/clear_refs")
def test_peakmem_benchmark_reports_a_multiple_of_the_input(monkeypatch):
    monkeypatch.setattr(common, "MEMORY_FEATURES", 10)
    b = bench_memory.PeakMemory()
    b.setup({}, "ols/numpy", 100_000)
    ratio = b.track_peakmem_extra({}, "ols/numpy", 100_000)
    # ols/numpy centres X into an (n, d) temporary: about 10/11 of the input, plus small change
    assert 0.7 < ratio < 2.5, ratio


def test_numba_first_call_child_runs_in_a_fresh_process(tmp_path):
    name = next(k for k in sorted(REGISTRY) if "numba" in REGISTRY[k].backend)
    setup = bench_compile._CHILD_SETUP.format(cache_dir="", root=str(tmp_path), name=name,
                                              opts=bench_compile._child_options(name))
    code = setup + "import time; t = time.perf_counter()\n" + bench_compile._CHILD_STMT + \
        "\nprint(time.perf_counter() - t)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert r.returncode == 0, r.stderr
    first = r.stdout.split()[-1]
    assert float(first) > 0.05  # compiling takes a while; a cache hit from elsewhere would be near zero
    assert any(tmp_path.iterdir())  # numba wrote its cache into the fresh folder, not a shared one


def test_the_names_the_report_reads_are_benchmarks_of_this_suite():
    """reports.analysis and reports.scale name the asv benchmarks they read (the gate too): each must be a method
    of a class here."""
    import importlib

    from reports import analysis, scale

    names = [v for mod in (analysis, scale) for k, v in vars(mod).items()
             if k.isupper() and isinstance(v, str) and v.count(".") == 2]
    assert analysis.FIT in names and analysis.FLOOR in names and scale.OOC in names and len(names) >= 19
    for name in names:
        module, cls, method = name.split(".")
        owner = getattr(importlib.import_module(f"benchmarks.{module}"), cls, None)
        assert owner is not None and callable(getattr(owner, method, None)), name


def test_the_run_record_describes_the_kernels_profile_and_machine(tmp_path, monkeypatch):
    from reports.results import load_record, record_path

    results = tmp_path / "m" / "abcdef12-env.json"
    assert run_record.record_path(results) == record_path(results)  # both sides look in the same place
    kernels = run_record.kernels_meta()
    assert set(kernels) == set(REGISTRY)
    for name, meta in kernels.items():
        k = REGISTRY[name]
        assert (meta["algorithm"], meta["backend"], meta["device"], meta["reference"]) == \
            (k.algorithm, k.backend, k.device, k.reference)
    prof = run_record.profile_meta()
    assert prof["name"] == common.PROFILE.name and tuple(prof["sizes"]) == common.PROFILE.sizes
    assert prof["memory_features"] == common.MEMORY_FEATURES
    # the experiments are slow: the record's assembly is checked with them stubbed, failures kept as errors
    monkeypatch.setattr(run_record.accuracy_experiments, "nist_ceilings", lambda synthetic: {"Norris": {"float64": 14}})
    monkeypatch.setattr(run_record.accuracy_experiments, "condition_sweep",
                        lambda kernels: 1 / 0)
    monkeypatch.setattr(run_record, "advertising", lambda: {"rows": []})
    results.parent.mkdir()
    results.write_text("{}")  # stands in for asv's results file: the record goes beside it
    path = run_record.write(results, run_record.make_record())
    record, note = load_record(results)
    assert path == record_path(results) and note == ""
    assert record["nist_ceilings"] == {"Norris": {"float64": 14}}
    assert "ZeroDivisionError" in record["condition_sweep"]["error"]
    assert any(row[0] == "SIMD" for row in record["machine"]["hardware"])
    assert run_record.results_file(tmp_path, "abcdef12" + "0" * 32) == results
    with pytest.raises(FileNotFoundError, match="no asv results for commit ffffffff"):
        run_record.results_file(tmp_path, "f" * 40)


def test_the_tutorial_rows_are_the_fits_of_the_advertising_data():
    from benchmarks.tutorial import demo_rows

    ds, rows = demo_rows(kernels=["ols/numpy", "gd/numpy"])
    assert [r["kernel"] for r in rows] == ["ols/numpy", "gd/numpy"]
    ols = np.polyfit(ds.X[:, 0], ds.y, 1)  # the same line computed another way
    assert rows[0]["slope"] == pytest.approx(ols[0], rel=1e-12)
    assert rows[0]["intercept"] == pytest.approx(ols[1], rel=1e-12)
    assert rows[1]["diff"] < 1e-3 and rows[1]["n_iter"] == 1000
