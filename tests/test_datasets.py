"""Data loading: the data directory setting, clear errors for missing or malformed files, seeded generators."""
from __future__ import annotations

import numpy as np
import pytest

from kernels import DataFileError, InputError, datasets, fit


def test_advertising_scaled_as_the_tutorial(advertising):
    assert advertising.X.shape == (200, 1) and advertising.y.shape == (200,)
    assert advertising.X.min() == 0.0 and advertising.X.max() == 1.0
    assert advertising.y.min() == 0.0 and advertising.y.max() == 1.0
    raw = datasets.load_advertising(scaled=False)
    assert raw.X.max() == pytest.approx(296.4) and raw.y.max() == pytest.approx(27.0)


def test_advertising_multiple_features():
    ds = datasets.load_advertising(scaled=False, features=("TV", "Radio", "Newspaper"))
    assert ds.X.shape == (200, 3) and ds.feature_names == ("TV", "Radio", "Newspaper")


def test_missing_file_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("LRBENCH_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError) as e:
        datasets.load_advertising()
    assert str(tmp_path / "Advertising.csv") in str(e.value)
    assert "LRBENCH_DATA_DIR" in str(e.value) and "--data-dir" in str(e.value)
    with pytest.raises(DataFileError, match="certified.json"):
        datasets.load_nist("Norris")


def test_modified_advertising_is_rejected(tmp_path, monkeypatch):
    src = datasets.data_dir() / "Advertising.csv"
    (tmp_path / "Advertising.csv").write_text(src.read_text().replace("230.1", "230.2"))
    monkeypatch.setenv("LRBENCH_DATA_DIR", str(tmp_path))
    with pytest.raises(DataFileError, match="not the expected Advertising.csv"):
        datasets.load_advertising()


def test_data_dir_argument_beats_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LRBENCH_DATA_DIR", str(tmp_path))
    real = datasets.data_dir(None)
    assert real == tmp_path.resolve()
    assert datasets.data_dir("/somewhere/else") == datasets.Path("/somewhere/else")


@pytest.mark.parametrize("problem", list(datasets.nist_certified()))
def test_nist_design_matches_certified_description(problem):
    cert = datasets.nist_certified()[problem]
    P = datasets.load_nist(problem)
    assert P.X.shape[0] == cert["n"] == P.y.shape[0]
    p = P.X.shape[1] + int(P.fit_intercept)
    assert P.certified.shape == (p,) and P.fit_intercept == cert["intercept"]
    if cert["degree"]:
        np.testing.assert_array_equal(P.X[:, -1], P.X[:, 0] ** cert["degree"])
    exact = datasets.load_nist(problem, exact=True)
    assert exact.X.dtype == object and float(exact.X[-1, -1]) == P.X[-1, -1]


def test_nist_unknown_problem():
    with pytest.raises(InputError, match="unknown NIST problem 'Filipp'; known: Norris"):
        datasets.load_nist("Filipp")


def test_non_numeric_csv_column_is_named(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x,z,y\n1,2,3\n2,abc,5\n3,4,7\n")
    with pytest.raises(InputError, match=r"column 'z' is not numeric: row 3 of the file holds 'abc'"):
        datasets.read_csv_columns(path)
    X, y, names, target = datasets.read_csv_columns(path, columns=["x"], target="y")
    assert names == ["x"] and target == "y" and fit(X, y).coef[0] == pytest.approx(2.0)


def test_synthetic_is_seeded_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("LRBENCH_CACHE_DIR", str(tmp_path))
    a = datasets.make_regression(1000, 3, seed=1, cache=True)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and all(f.endswith(".npy") for f in files)
    b = datasets.make_regression(1000, 3, seed=1, cache=True)  # from the cache
    c = datasets.make_regression(1000, 3, seed=1, cache=False)  # generated again
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.X, c.X)
    assert not np.array_equal(a.X, datasets.make_regression(1000, 3, seed=2, cache=False).X)


def test_synthetic_offset_and_collinearity_mean_what_they_say():
    ds = datasets.make_regression(20000, 2, noise=0.0, offset=1e3, collinearity=0.9, seed=3, cache=False)
    assert ds.X.mean() == pytest.approx(1e3, abs=0.1)
    corr = np.corrcoef(ds.X.T)[0, 1]
    assert corr == pytest.approx(0.81, abs=0.03)
    r = fit(ds.X, ds.y)
    np.testing.assert_allclose(r.coef, ds.meta["coef"], rtol=1e-8)
    assert r.intercept == pytest.approx(ds.meta["intercept"], rel=1e-8)
