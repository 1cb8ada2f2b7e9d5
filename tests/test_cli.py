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


@pytest.mark.slow  # every kernel, JIT warm-ups included, in a fresh process, twice: about 20 s
def test_demo_prints_every_kernel_and_writes_the_figure(tmp_path):
    out = tmp_path / "fig.png"
    res = run("demo", "--out", str(out))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    for name in (n for n, k in REGISTRY.items() if not k.lazy):
        row = next((line for line in lines if line.startswith(name + " ")), None)
        assert row, f"{name} missing from the demo table"
        if name.startswith("ols/"):  # the tutorial's numbers, printed to 14 places: agree to a few ulps
            intercept, slope = (float(v) for v in row.split()[1:3])
            assert abs(intercept - 0.21519170068625) < 2e-14 and abs(slope - 0.55340884157653) < 2e-14, row
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


def test_fit_command_reports_bad_input_without_traceback(tmp_path, capsys):
    """In process (the console script's own process is the demo's test): exit status 2 and one error line;
    any exception escaping main() would fail this test, so no traceback can reach the user."""
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\nfoo,3\n4,5\n")
    assert main(["fit", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "column 'x' is not numeric" in err and "Traceback" not in err
    assert main(["fit", str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "Traceback" not in err


def test_list_names_every_kernel(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in REGISTRY)


# --- refusals: one line naming the problem, exit code 2, before any long work -----------------------------

def _one_line_refusal(res, *needles):
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert all(n in lines[0] for n in needles), lines[0]
    return lines[0]


def test_fit_command_given_a_directory_says_so(tmp_path):
    _one_line_refusal(run("fit", str(tmp_path)), "is a directory")


def test_scale_names_a_constant_column(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("a,b,y\n1,5,2\n2,5,3\n3,5,4\n4,5,5.5\n")
    line = _one_line_refusal(run("fit", str(path), "--scale"), "column 'b' is constant", "min-max")
    assert "non-finite" not in line


def test_bad_cells_are_numbered_by_file_line_whatever_is_wrong(tmp_path):
    """Line 1 is the header; blank lines count, as in an editor. A missing cell, an inf and a word are named
    the same way."""
    for cell, needle in (("", "is empty"), ("inf", "holds inf"), ("nan", "is empty"), ("abc", "holds 'abc'")):
        path = tmp_path / "cells.csv"
        path.write_text(f"x,y\n1,2\n\n2,3\n{cell},4\n5,6\n")
        line = _one_line_refusal(run("fit", str(path)), "column 'x'", "row 5 of the file")
        assert needle in line, line


def test_fit_command_refuses_bad_options_in_one_line(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("x,y\n1,2\n2,4.1\n3,5.9\n4,8.2\n")
    _one_line_refusal(run("fit", str(path), "--kernel", "gd/numpy", "--epochs", str(10 ** 12)), "epochs", "limit")
    _one_line_refusal(run("fit", str(path), "--kernel", "sgd/torch-cuda"), "unknown kernel 'sgd/torch-cuda'")
    _one_line_refusal(run("fit", str(path), "--kernel", "gd/numpy", "--learning-rate", "nan"), "learning_rate")


def test_demo_refuses_its_output_before_the_work(tmp_path):
    res = run("demo", "--out", str(tmp_path))
    _one_line_refusal(res, "is a directory")
    assert res.stdout == ""  # nothing was fitted first


def test_report_refuses_an_out_that_is_a_file_before_any_work(tmp_path):
    out = tmp_path / "report.html"
    out.write_text("mine")
    res = run("report", str(tmp_path / "no-results"), "--out", str(out))
    _one_line_refusal(res, "is a file, not a folder")
    assert out.read_text() == "mine" and res.stdout == ""  # not even read the results


def test_report_refuses_a_latest_that_is_a_real_folder_before_any_work(tmp_path):
    out = tmp_path / "out"
    (out / "latest").mkdir(parents=True)
    (out / "latest" / "mine.txt").write_text("keep")
    res = run("report", str(tmp_path / "no-results"), "--out", str(out))
    _one_line_refusal(res, "latest exists and is not a link")
    assert sorted(p.name for p in out.iterdir()) == ["latest"]  # no new report folder was written
    assert (out / "latest" / "mine.txt").read_text() == "keep"


def test_report_names_missing_results_in_one_line(tmp_path):
    _one_line_refusal(run("report", str(tmp_path / "no-results"), "--out", str(tmp_path / "out")),
                      "no such results")
