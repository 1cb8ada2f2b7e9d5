"""The console script as a user runs it: the tutorial's demo, fitting a CSV, listing kernels."""
from __future__ import annotations

import subprocess
import sys

import pytest

from kernels import REGISTRY, datasets
from lrbench.cli import main


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lrbench", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def test_demo_prints_every_kernel_and_writes_the_figure(tmp_path):
    out = tmp_path / "fig.png"
    res = run("demo", "--out", str(out))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    for name in (n for n, k in REGISTRY.items() if not k.lazy):
        row = next((l for l in lines if l.startswith(name + " ")), None)
        assert row, f"{name} missing from the demo table"
        if name.startswith("ols/"):
            assert "0.21519170068625" in row and "0.55340884157653" in row
    assert all(n in res.stdout for n, k in REGISTRY.items() if k.lazy)  # named as left out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    again = run("demo", "--out", str(out))  # never overwrite what the user has
    assert again.returncode != 0 and "exists" in again.stderr


def test_fit_command(tmp_path, capsys):
    path = datasets.data_dir() / "Advertising.csv"
    assert main(["fit", str(path), "--x", "TV", "--y", "Sales", "--scale", "--kernel", "ols/numpy"]) == 0
    out = capsys.readouterr().out
    assert "intercept  0.21519170068625" in out and "TV         0.55340884157653" in out
    assert main(["fit", str(path), "--x", "TV", "Radio", "--y", "Sales", "--kernel", "gd/numpy",
                 "--scale", "--learning-rate", "0.1", "--epochs", "50"]) == 0
    assert "epochs 50" in capsys.readouterr().out


def test_fit_command_reports_bad_input_without_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\nfoo,3\n4,5\n")
    res = run("fit", str(bad))
    assert res.returncode == 2
    assert "column 'x' is not numeric" in res.stderr and "Traceback" not in res.stderr
    res = run("fit", str(tmp_path / "missing.csv"))
    assert res.returncode == 2 and "not found" in res.stderr and "Traceback" not in res.stderr


def test_list_names_every_kernel(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in REGISTRY)
