"""Shared fixtures and the run's header (data directory, kernels not available here)."""
from __future__ import annotations

import os

import pytest

# Dask kernels met by the registry-wide tests run on an in-process local cluster (threads, not processes),
# started on first use and closed when the session ends; tests/test_dask.py brings its own clusters.
os.environ.setdefault("LRBENCH_DASK_PROCESSES", "0")
os.environ.pop("LRBENCH_SCHEDULER", None)

import kernels  # noqa: E402
from kernels import REGISTRY, datasets  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _close_dask_cluster():
    """Close the local Dask cluster a registry-wide test may have started (no worker left behind)."""
    yield
    from kernels import cluster
    cluster.close()


@pytest.fixture(scope="session")
def advertising():
    """The tutorial's data, min-max scaled; fails (never skips) when Advertising.csv is missing."""
    return datasets.load_advertising(scaled=True)


def pytest_report_header(config):
    reasons = "; ".join(f"{b}: {why}" for b, why in sorted(kernels.UNAVAILABLE.items())) or "none"
    return [f"lrbench data directory: {datasets.data_dir()}",
            f"registered kernels: {len(REGISTRY)}; not available here: {reasons}"]
