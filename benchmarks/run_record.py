"""python -m benchmarks.run_record [RESULTS] [--commit SHA]: what the report needs beside asv's numbers, recorded
by the benchmark run (`make report` runs it right after `asv run`), so the report only reads.

The record is JSON, written beside the run's results file MACHINE/COMMIT-ENV.json as MACHINE/COMMIT-ENV.record
(not .json: asv reads every .json under its results folder as results). It holds the kernels' metadata, the
profile, the machine (CPU and SIMD flags, memory, GPU, library versions, threads), and the accuracy experiments
that are not asv benchmarks: the NIST ceilings, the condition sweep and the tutorial's Advertising fits. A part
that cannot be computed (a data file missing) holds {"error": why} instead, and the report says so.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from kernels import REGISTRY, UNAVAILABLE

from . import accuracy_experiments, common, tutorial
from .machine_info import this_machine

SUFFIX = ".record"
VERSION = 1


def record_path(results_file: Path) -> Path:
    """Where the record of one asv results file goes: beside it, same name, SUFFIX for .json."""
    return Path(results_file).with_suffix(SUFFIX)


def kernels_meta() -> dict[str, dict]:
    """name -> algorithm, backend, device, reference, dtypes, description: every kernel registered here."""
    return {k.name: {"algorithm": k.algorithm, "backend": k.backend, "device": k.device,
                     "reference": k.reference, "dtypes": list(k.dtypes), "description": k.description}
            for k in sorted(REGISTRY.values(), key=lambda k: k.name)}


def profile_meta() -> dict:
    """The profile the suite ran ($LRBENCH_PROFILE) and the fixed settings the benchmarks use with it."""
    return dict(dataclasses.asdict(common.PROFILE), wide_min_rows=common.WIDE_MIN_ROWS,
                memory_features=common.MEMORY_FEATURES, epochs=common.EPOCHS,
                learning_rates=dict(common.LEARNING_RATES), batch_size=common.BATCH_SIZE,
                kernels_selected=os.environ.get("LRBENCH_KERNELS", "*"))


def _selected(algorithms=None) -> list[str]:
    return [k for k in common.kernel_names(algorithms) if k in REGISTRY]


def _attempt(what: str, compute):
    """compute(), or {"error": ...} naming what failed and why (the report shows it in its section)."""
    try:
        return compute()
    except Exception as exc:  # data missing or a kernel broken: keep the rest of the record
        return {"error": f"{what} failed: {type(exc).__name__}: {exc}"}


def advertising() -> dict:
    """The tutorial's fits of the selected kernels, and the points the figure draws."""
    ds, rows = tutorial.demo_rows(kernels=_selected())
    return {"dataset": ds.name, "x": ds.X[:, 0].tolist(), "y": ds.y.tolist(), "rows": rows}


def make_record() -> dict:
    """Everything the record holds; the accuracy experiments take seconds each."""
    ols = _selected(("ols",))
    return {
        "version": VERSION,
        "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "kernels": kernels_meta(),
        "unavailable": dict(sorted(UNAVAILABLE.items())),
        "profile": profile_meta(),
        "machine": this_machine(),
        "nist_ceilings": _attempt("accuracy_experiments.nist_ceilings()",
                                  lambda: accuracy_experiments.nist_ceilings(synthetic=False)),
        "condition_sweep": _attempt("accuracy_experiments.condition_sweep()",
                                    lambda: accuracy_experiments.condition_sweep(kernels=ols)),
        "advertising": _attempt("the tutorial's Advertising fits", advertising),
    }


def results_file(results_dir: Path, commit: str) -> Path:
    """The newest asv results file of `commit` under results_dir (MACHINE/COMMIT[:8]-ENV.json)."""
    found = sorted(Path(results_dir).glob(f"*/{commit[:8]}-*.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(f"{results_dir}: no asv results for commit {commit[:8]} "
                                f"(MACHINE/{commit[:8]}-ENV.json); run asv first (make report)")
    return found[-1]


def write(results: Path, record: dict) -> Path:
    """Write the record beside the results file (replacing the record of an earlier run of the same file)."""
    path = record_path(results)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run_record", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="?", default=".asv/results",
                   help="asv results file, or the results folder holding the run of --commit (default .asv/results)")
    p.add_argument("--commit", help="the commit asv ran (default: git rev-parse HEAD)")
    args = p.parse_args(argv)
    results = Path(args.results)
    try:
        if not results.is_file():
            commit = args.commit or subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                                   check=True).stdout.strip()
            results = results_file(results, commit)
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        print(f"run_record: error: {exc}", file=sys.stderr)
        return 2
    print(f"run_record: recording kernels, profile {common.PROFILE.name}, machine and accuracy experiments "
          f"for {results}", flush=True)
    record = make_record()
    for part in ("nist_ceilings", "condition_sweep", "advertising"):
        if isinstance(record[part], dict) and "error" in record[part]:
            print(f"run_record: {record[part]['error']}", file=sys.stderr)
    print(f"run_record: wrote {write(results, record)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
