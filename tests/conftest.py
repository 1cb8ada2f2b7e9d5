"""Shared fixtures and the run's header (data directory, kernels not available here)."""
from __future__ import annotations

import pytest

import kernels
from kernels import REGISTRY, datasets


@pytest.fixture(scope="session")
def advertising():
    """The tutorial's data, min-max scaled; fails (never skips) when Advertising.csv is missing."""
    return datasets.load_advertising(scaled=True)


def pytest_report_header(config):
    reasons = "; ".join(f"{b}: {why}" for b, why in sorted(kernels.UNAVAILABLE.items())) or "none"
    return [f"lrbench data directory: {datasets.data_dir()}",
            f"registered kernels: {len(REGISTRY)}; not available here: {reasons}"]
