"""The dask kernels against the single-machine ones, on small data in many uneven chunks; the on-disk
datasets; the cluster (unreachable scheduler, a worker killed mid-fit); nothing left running afterwards."""
from __future__ import annotations

import os
import threading
import time
import warnings
from fractions import Fraction

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import kernels  # noqa: E402
from kernels import REGISTRY, AccuracyWarning, InputError, chunked_data, cluster, fit  # noqa: E402
from kernels.backends.exact_rational import exact_lstsq  # noqa: E402
from kernels.cluster import SchedulerError  # noqa: E402
from tests.helpers import random_problem, user_digits  # noqa: E402

UNEVEN = (37, 101, 5, 250, 1, 64, 142)  # 600 rows in 7 chunks, one of a single row


def _leftover_threads(before: set) -> list[str]:
    names = ("Dask-Worker", "TCP-Executor", "Nanny")
    deadline = time.monotonic() + 10
    while True:
        left = [t.name for t in threading.enumerate()
                if t.ident not in before and t.is_alive() and any(n in t.name for n in names)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.fixture(scope="module")
def client():
    """Two in-process workers, one thread each; closed at the end, and no thread of theirs left behind."""
    before = {t.ident for t in threading.enumerate()}
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as lc, distributed.Client(lc, set_as_default=False) as c:
        yield c
    assert _leftover_threads(before) == []


def chunked(X, y, rows=UNEVEN):
    return da.from_array(X, chunks=(rows, -1)), da.from_array(y, chunks=(rows,))


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("d", [1, 3])
def test_ols_dask_agrees_with_ols_numba(client, d, fit_intercept):
    X, y = random_problem(600, d, seed=d)
    ref = fit(X, y, kernel="ols/numba", fit_intercept=fit_intercept)
    r = fit(*chunked(X, y), kernel="ols/dask", fit_intercept=fit_intercept, scheduler=client)
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-12, atol=1e-14)
    assert r.digits == pytest.approx(ref.digits, rel=1e-6) and r.refined == ref.refined


def test_ols_dask_refines_a_large_offset_like_ols_numba(client):
    """x around 1e7 with spread 1 and an intercept of 3: ȳ - x̄·β cancels, so both kernels take the refinement pass."""
    rng = np.random.default_rng(5)
    X = 1e7 + rng.normal(size=(600, 1))
    y = 3.0 + 2.0 * X[:, 0] + 1e-3 * rng.normal(size=600)  # an intercept tiny against x̄·β
    ref = fit(X, y, kernel="ols/numba")
    # Lazy data get no full second look (it would read them again), but their first rows show values computed in
    # binary: exact as given, so the refined bound without the input's rounding holds, and there is no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        r = fit(*chunked(X, y), kernel="ols/dask", scheduler=client)
    assert r.digits >= kernels.WARN_DIGITS
    assert ref.refined and r.refined
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-11, atol=0)
    # Refined over 7 uneven chunks, the answer is the exact one of these numbers (it was 13 digits when the
    # step used the float64 mean as if it were exact: e·Σr leaked into δβ, x̄·δβ amplified it).
    truth = np.array([float(v) for v in exact_lstsq(X, y, True)])
    for result in (r, ref):
        assert result.digits <= user_digits(result.params, truth, X, y, True) >= 14.5
    # The same numbers read from 13-digit text carry a rounding the bound must count: right both ways against
    # the text's exact answer.
    xt, yt = [f"{v:.12e}" for v in X[:, 0]], [f"{v:.12e}" for v in y]
    Xr, yr = np.array([[float(t)] for t in xt]), np.array([float(t) for t in yt])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AccuracyWarning)
        rr = fit(*chunked(Xr, yr), kernel="ols/dask", scheduler=client)
    warned = any(issubclass(w.category, AccuracyWarning) for w in caught)
    text_truth = np.array([float(v) for v in exact_lstsq(np.array([[Fraction(t)] for t in xt], dtype=object),
                                                           np.array([Fraction(t) for t in yt], dtype=object), True)])
    got = user_digits(rr.params, text_truth, Xr, yr, True)
    assert rr.digits <= got and not (warned and got >= kernels.WARN_DIGITS), (rr.digits, got, warned)


def test_numpy_input_and_column_chunks(client):
    """NumPy arrays are chunked for you; a Dask X chunked across its columns is rechunked, same answer."""
    X, y = random_problem(1000, 4, seed=3)
    ref = fit(X, y, kernel="ols/numba")
    r1 = fit(X, y, kernel="ols/dask", scheduler=client)
    r2 = fit(da.from_array(X, chunks=(300, 1)), da.from_array(y, chunks=250), kernel="ols/dask", scheduler=client)
    for r in (r1, r2):
        np.testing.assert_allclose(r.params, ref.params, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["ols/dask-lstsq", "ols/dask-ml"])
def test_references_agree_with_ols_numba(client, name):
    if name not in REGISTRY:
        pytest.skip(f"{name} is not available here")
    X, y = random_problem(600, 3, seed=9)
    ref = fit(X, y, kernel="ols/numba")
    r = fit(*chunked(X, y), kernel=name, scheduler=client)
    assert REGISTRY[name].reference
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
def test_gd_dask_has_gd_numpy_iterates(client, fit_intercept):
    X, y = random_problem(600, 3, seed=4)
    opts = {"learning_rate": 0.05, "epochs": 25, "init": [0.1, -0.2, 0.3] + ([0.0] if fit_intercept else [])}
    ref = fit(X, y, kernel="gd/numpy", fit_intercept=fit_intercept, **opts)
    r = fit(*chunked(X, y), kernel="gd/dask", fit_intercept=fit_intercept, scheduler=client, **opts)
    np.testing.assert_allclose(r.loss_history, ref.loss_history, rtol=1e-9, atol=0)
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-9, atol=1e-12)


def test_minibatch_dask_reaches_the_loss_and_its_order_is_seeded(client):
    X, y = random_problem(600, 2, seed=6, noise=0.0)
    X = (X - X.mean(0)) / X.std(0)
    opts = {"learning_rate": 0.05, "epochs": 12, "batch_size": 16}
    Xd, yd = chunked(X, y)
    a = fit(Xd, yd, kernel="minibatch/dask", scheduler=client, seed=1, **opts)
    b = fit(Xd, yd, kernel="minibatch/dask", scheduler=client, seed=1, **opts)
    c = fit(Xd, yd, kernel="minibatch/dask", scheduler=client, seed=2, **opts)
    numpy = fit(X, y, kernel="minibatch/numpy", seed=1, **opts)
    np.testing.assert_array_equal(a.params, b.params)  # the order is defined by the seed alone
    assert not np.array_equal(a.loss_history, c.loss_history)
    assert a.n_iter == 12 and a.loss_history.shape == (13,)
    assert a.loss_history[-1] < 1e-3 * a.loss_history[0]
    assert a.loss_history[-1] < 10 * numpy.loss_history[-1] + 1e-12
    mse = np.mean((X @ a.coef + a.intercept - y) ** 2)
    assert a.loss_history[-1] == pytest.approx(mse, rel=1e-9)  # the recorded loss is the returned line's


@pytest.mark.parametrize("name", ["ols/dask", "gd/dask", "minibatch/dask"])
@pytest.mark.parametrize("where", ["X", "y"])
def test_non_finite_in_a_chunk_names_its_global_row(client, name, where):
    """The same message as check_xy gives for NumPy input, found inside the kernel's own pass."""
    X, y = random_problem(600, 3, seed=2)
    row = sum(UNEVEN[:3]) + 2  # in the fourth chunk
    (X.__setitem__((row, 1), np.nan) if where == "X" else y.__setitem__(row, np.inf))
    X[row + 40, 2] = np.inf
    with pytest.raises(InputError) as expected:
        fit(X, y, kernel="ols/numpy")
    opts = {} if name.startswith("ols") else {"learning_rate": 0.01, "epochs": 2}
    with pytest.raises(InputError) as got:
        fit(*chunked(X, y), kernel=name, scheduler=client, **opts)
    if where == "X":
        assert str(got.value) == str(expected.value)
        assert f"row {row}, column 1" in str(got.value)
    else:  # check_xy names X's problem first; the dask kernels too: y's alone is checked with X fixed
        assert "X has 1 non-finite" in str(got.value) and f"row {row + 40}, column 2" in str(got.value)
        X[row + 40, 2] = 0.0
        with pytest.raises(InputError, match=f"y has 1 non-finite value.*inf at row {row}$"):
            fit(*chunked(X, y), kernel=name, scheduler=client, **opts)


def test_lazy_checks_read_nothing_and_refuse_bad_shapes(client):
    X = da.ones((10, 2), chunks=3)
    with pytest.raises(InputError, match="different lengths"):
        fit(X, da.ones(9, chunks=3), kernel="ols/dask", scheduler=client)
    with pytest.raises(InputError, match="unknown chunk sizes"):
        fit(X[X[:, 0] > 0], da.ones(10, chunks=3), kernel="ols/dask", scheduler=client)
    with pytest.raises(InputError, match="does not take option"):
        fit(*random_problem(10, 1, seed=0), kernel="ols/numpy", scheduler=client)


def test_unreachable_scheduler_fails_fast():
    X, y = random_problem(50, 1, seed=1)
    t0 = time.monotonic()
    with pytest.raises(SchedulerError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        fit(X, y, kernel="ols/dask", scheduler="tcp://127.0.0.1:9")
    assert time.monotonic() - t0 < cluster.CONNECT_TIMEOUT_S + 5


def test_local_cluster_starts_once_timed_apart(capsys):
    cluster.close()
    X, y = random_problem(200, 1, seed=1)
    first = fit(X, y, kernel="ols/dask")
    second = fit(X, y, kernel="ols/dask")
    assert first.timings["cluster_start"] > 0 and second.timings["cluster_start"] == 0.0
    assert "dashboard: http" in capsys.readouterr().err
    cluster.close()
    kw = cluster.local_cluster_kwargs()
    assert kw["threads_per_worker"] == 1


def test_local_cluster_defaults(monkeypatch):
    monkeypatch.delenv(cluster.ENV_PROCESSES, raising=False)
    kw = cluster.local_cluster_kwargs()
    assert kw["processes"] and kw["threads_per_worker"] == 1 and kw["memory_limit"]
    assert kw["env"]["OPENBLAS_NUM_THREADS"] == "1" and kw["env"]["NUMBA_NUM_THREADS"] == "1"


# --- on-disk datasets -----------------------------------------------------------------------------------

def test_dataset_out_of_core_through_the_loader(client, tmp_path):
    path = chunked_data.write_dataset(tmp_path / "ds", rows=5000, features=2, seed=3, chunk_rows=700,
                                      client=client, progress=False)
    X, y = chunked_data.open_chunked(path)
    assert X.shape == (5000, 2) and X.chunks[0] == (700,) * 7 + (100,)
    Xn, yn = np.asarray(X.compute()), np.asarray(y.compute())
    ref = fit(Xn, yn, kernel="ols/numba")
    r = fit(X, y, kernel="ols/dask", scheduler=client)
    np.testing.assert_allclose(r.params, ref.params, rtol=1e-12, atol=1e-14)
    meta = chunked_data.read_meta(path)
    np.testing.assert_allclose(r.coef, meta["coef"], atol=0.05)  # the generating model, up to noise


def test_loader_reads_nothing(tmp_path, client):
    path = chunked_data.write_dataset(tmp_path / "ds", rows=300, features=1, seed=0, chunk_rows=100,
                                      client=client, progress=False)
    f = path / "y" / "000001.npy"
    f.write_bytes(f.read_bytes()[:200])  # header intact, data truncated: only a real read can notice
    X, y = chunked_data.open_chunked(path)
    assert y.shape == (300,)
    with pytest.raises(ValueError):
        y.compute(scheduler="sync")


def test_writer_is_deterministic_whatever_the_worker_count(tmp_path, client):
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as lc, \
            distributed.Client(lc, set_as_default=False) as one:
        a = chunked_data.write_dataset(tmp_path / "a", rows=2500, features=3, seed=7, chunk_rows=600,
                                       client=one, progress=False)
    b = chunked_data.write_dataset(tmp_path / "b", rows=2500, features=3, seed=7, chunk_rows=600, client=client,
                                   progress=False)
    files = sorted(p.relative_to(a) for p in a.rglob("*.npy"))
    assert len(files) == 10
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes()
    X2, _ = chunked_data.chunk_rows_of(7, 2, 600, 3)  # chunk 2 alone, regenerated from its own seed
    np.testing.assert_array_equal(np.load(a / "X" / "000002.npy"), X2)
    c = chunked_data.write_dataset(tmp_path / "c", rows=2500, features=3, seed=8, chunk_rows=600, client=client,
                                   progress=False)
    assert (c / "X" / "000000.npy").read_bytes() != (a / "X" / "000000.npy").read_bytes()


def test_writer_refuses_to_overwrite_or_fill_the_disk(tmp_path, client, monkeypatch):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("a user's file")
    with pytest.raises(InputError, match="already exists and is not empty"):
        chunked_data.write_dataset(target, rows=100, client=client, progress=False)
    assert (target / "notes.txt").read_text() == "a user's file"
    monkeypatch.setattr(chunked_data.shutil, "disk_usage", lambda p: type("U", (), {"free": 10_000})())
    with pytest.raises(InputError, match="not enough free disk space"):
        chunked_data.write_dataset(tmp_path / "new", rows=10_000, client=client, progress=False)
    assert not (tmp_path / "new").exists()
    with pytest.raises(InputError, match="rows must be a positive integer"):
        chunked_data.write_dataset(tmp_path / "new", rows=0, client=client, progress=False)


def test_make_data_command(tmp_path, capsys):
    from lrbench.cli import main
    out = tmp_path / "ds"
    assert main(["make-data", str(out), "--rows", "2e3", "--features", "1", "--chunk-rows", "500"]) == 0
    assert chunked_data.read_meta(out)["rows"] == 2000
    assert main(["make-data", str(out), "--rows", "2e3"]) == 2
    assert "already exists" in capsys.readouterr().err
    cluster.close()


# --- a real worker process killed in the middle of a fit ----------------------------------------------

@pytest.mark.slow
def test_worker_killed_mid_fit_gives_the_answer_or_a_clear_error(tmp_path):
    import psutil

    me = psutil.Process()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  env=dict(cluster.ONE_THREAD)) as lc, \
            distributed.Client(lc, set_as_default=False) as c:
        path = chunked_data.write_dataset(tmp_path / "ds", rows=40_000, features=1, seed=1, chunk_rows=2_000,
                                          client=c, progress=False)
        X, y = chunked_data.open_chunked(path)
        opts = {"learning_rate": 0.05, "epochs": 30}
        ref = fit(np.asarray(X.compute()), np.asarray(y.compute()), kernel="gd/numpy", **opts)
        out: dict = {}
        t = threading.Thread(target=lambda: out.update(r=_try(lambda: fit(X, y, kernel="gd/dask", scheduler=c,
                                                                          **opts))))
        t.start()
        time.sleep(2.0)
        pids = c.run(os.getpid)  # worker address -> its process
        assert len(pids) == 2
        psutil.Process(sorted(pids.values())[-1]).kill()
        t.join(timeout=120)
        assert not t.is_alive(), "the fit hung after a worker was killed"
        r = out["r"]
        if isinstance(r, Exception):
            assert "worker" in str(r).lower() or "KilledWorker" in type(r).__name__
        else:
            np.testing.assert_allclose(r.params, ref.params, rtol=1e-9)
    assert _worker_processes(me) == []


def _worker_processes(me, wait_s: float = 15.0) -> list[str]:
    """Child processes still running, other than multiprocessing's own helpers (its resource tracker)."""
    import psutil

    deadline = time.monotonic() + wait_s
    while True:
        left = []
        for p in me.children(recursive=True):
            try:
                if p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(p.cmdline()):
                    left.append(" ".join(p.cmdline())[:120])
            except psutil.NoSuchProcess:
                pass
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _try(f):
    try:
        return f()
    except Exception as exc:  # noqa: BLE001  (the test inspects whatever the fit raised)
        return exc


# --- the scale benchmarks time what they say -----------------------------------------------------------

def test_dask_read_floor_reads_every_value_once(client):
    from benchmarks.bench_scale import dask_read_floor
    X, y = random_problem(600, 2, seed=1)
    total = client.compute(dask_read_floor(*chunked(X, y), client), sync=True)
    assert total.shape == (1, 1)
    assert total[0, 0] == pytest.approx(X.sum() + y.sum(), rel=1e-12)


@pytest.mark.parametrize("profile, expected", [("quick", {"ols/dask", "gd/dask"}), ("tiny", set()),
                                               ("scale", {n for n, k in REGISTRY.items() if k.lazy})])
def test_profiles_choose_their_dask_kernels(monkeypatch, profile, expected):
    from benchmarks import common
    monkeypatch.setattr(common, "PROFILE", common.PROFILES[profile])
    names = set(common.kernel_names())
    assert {n for n in names if REGISTRY[n].lazy} == expected
    assert ("ols/numpy" in names) == (profile != "scale") and "ols/numba-parallel" in names
