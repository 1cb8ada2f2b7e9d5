"""Reading asv results: one results JSON file (one commit, one environment, one machine) into a `Run`, with the
parameter names and units of asv's benchmarks.json and the run record the benchmark run wrote beside it."""
from __future__ import annotations

import ast
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path


class ReportError(Exception):
    """A results file or folder that cannot be used; the message names it."""


@dataclass
class Run:
    """One asv results file: values[benchmark][params tuple] is a float, nan (skipped) or None (failed)."""

    path: Path
    commit: str
    date: dt.datetime | None
    env_name: str
    machine: dict  # asv's machine record as stored in the results: machine, cpu, num_cpu, ram, os, arch, python
    param_names: dict[str, list[str]]
    units: dict[str, str]
    values: dict[str, dict[tuple, float | None]]
    stats: dict[str, dict[tuple, tuple[dict | None, list | None]]]  # (stats, samples) as asv compare takes them
    versions: dict[str, str | None] = field(default_factory=dict)
    started: dt.datetime | None = None  # when the first benchmark of the run started
    record: dict | None = None  # what the benchmark run recorded beside the results (benchmarks/run_record.py)
    record_note: str = ""  # why there is no record, when there is none

    def recorded(self, part: str):
        """(value, None) of one part of the run record, or (None, why it is not there)."""
        if self.record is None:
            return None, self.record_note
        value = self.record.get(part)
        if value is None:
            return None, f"the run record {record_path(self.path)} has no {part!r}"
        if isinstance(value, dict) and set(value) == {"error"}:
            return None, f"the benchmark run could not record it: {value['error']}"
        return value, None

    @property
    def label(self) -> str:
        return f"{self.commit[:8]} on {self.machine.get('machine', '?')}"

    def records(self, benchmark: str) -> list[dict]:
        """Every parameter combination of a benchmark as a dict: its parameters by name, plus "value"."""
        names = self.param_names.get(benchmark, [])
        out = []
        for params, value in self.values.get(benchmark, {}).items():
            rec = dict(zip(names, params))
            rec["value"] = value
            out.append(rec)
        return out

    def value(self, benchmark: str, *params) -> float | None:
        """The measured value, or None when it was skipped, failed or not run."""
        v = self.values.get(benchmark, {}).get(tuple(params))
        return v if ok(v) else None


def ok(v) -> bool:
    """A measured number (not None = failed, not NaN = skipped)."""
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def _param_value(text: str):
    """asv stores parameter values as their repr(): "'ols/numpy'", "100"."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def newest_results(results_dir: Path) -> Path:
    """The most recently written results file under an asv results folder (machine/commit-env.json)."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ReportError(f"{results_dir}: no such results folder; run the benchmarks first (make report, or "
                          "asv run --python=same --set-commit-hash $(git rev-parse HEAD))")
    files = [p for p in results_dir.glob("*/*.json") if p.name != "machine.json"]
    if not files:
        raise ReportError(f"{results_dir}: holds no asv results files (expected MACHINE/COMMIT-ENV.json)")
    return max(files, key=lambda p: p.stat().st_mtime)


def _benchmarks_json(results_file: Path) -> dict:
    """asv's benchmarks.json (each benchmark's params, param_names and unit): beside the machine folders, as asv
    writes it, or beside the results file (a copied run, as the gate keeps them)."""
    for path in (results_file.parent.parent / "benchmarks.json", results_file.parent / "benchmarks.json"):
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise ReportError(f"{path}: not a readable asv benchmarks.json ({exc})") from None
            return {k: v for k, v in data.items() if isinstance(v, dict)}
    return {}


def _default_unit(name: str) -> str:
    """A unit from the benchmark's kind, for results read without asv's benchmarks.json."""
    method = name.rsplit(".", 1)[-1]
    return "seconds" if method.startswith(("time_", "timeraw_")) else "bytes" if method.startswith("peakmem_") else ""


RECORD_SUFFIX = ".record"  # benchmarks/run_record.py writes MACHINE/COMMIT-ENV.record beside the .json


def record_path(results_file: Path) -> Path:
    return Path(results_file).with_suffix(RECORD_SUFFIX)


def load_record(results_file: Path) -> tuple[dict | None, str]:
    """(the run record beside a results file, "") or (None, why there is none)."""
    path = record_path(results_file)
    if not path.is_file():
        return None, (f"no run record ({path.name} beside the results): the run was made without "
                      "`python -m benchmarks.run_record` (older results, or asv alone); make report writes one")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"{path}: not a readable run record ({type(exc).__name__}: {exc})"
    if not isinstance(data, dict):
        return None, f"{path}: not a run record (a JSON object was expected)"
    return data, ""


def load_run(path: str | Path) -> Run:
    """Read one asv results file, or the newest one in a results folder; errors name the file."""
    path = Path(path)
    if path.is_dir():
        path = newest_results(path)
    if not path.is_file():
        raise ReportError(f"{path}: no such results file")
    try:
        from asv.results import Results
        from asv.util import UserError
    except ImportError as exc:  # asv is a dependency of the bench extra
        raise ReportError(f"reading {path} needs asv (pip install -e '.[bench]'): {exc}") from None
    try:
        res = Results.load(str(path))
    except (UserError, OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise ReportError(f"{path}: not a readable asv results file ({type(exc).__name__}: {exc})") from None
    meta = _benchmarks_json(path)
    values, stats, param_names, units, versions = {}, {}, {}, {}, {}
    try:
        for name in res.get_all_result_keys():
            raw_params = res.get_result_params(name) or []
            combos = _product(raw_params)
            vals = res.get_result_value(name, raw_params)
            sts = res.get_result_stats(name, raw_params)
            smp = res.get_result_samples(name, raw_params)
            if not raw_params:  # asv returns scalars for benchmarks without parameters
                vals, sts, smp = [vals], [sts], [smp]
            values[name] = {c: _number(v) for c, v in zip(combos, vals)}
            stats[name] = {c: (s, sm) for c, s, sm in zip(combos, sts or [None] * len(combos),
                                                          smp or [None] * len(combos))}
            info = meta.get(name, {})
            param_names[name] = list(info.get("param_names") or [f"p{i}" for i in range(len(raw_params))])
            units[name] = info.get("unit") or _default_unit(name)
            versions[name] = res.benchmark_version.get(name)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise ReportError(f"{path}: malformed asv results ({type(exc).__name__}: {exc})") from None
    date = None
    if res.date:  # the commit's date
        date = dt.datetime.fromtimestamp(res.date / 1000, tz=dt.timezone.utc)
    starts = [v for v in res.started_at.values() if isinstance(v, (int, float))]
    started = dt.datetime.fromtimestamp(min(starts) / 1000, tz=dt.timezone.utc) if starts else None
    record, note = load_record(path)
    return Run(path=path, commit=str(res.commit_hash or "unknown"), date=date, env_name=str(res.env_name),
               machine={str(k): str(v) for k, v in (res.params or {}).items()}, param_names=param_names,
               units=units, values=values, stats=stats, versions=versions, started=started, record=record,
               record_note=note)


def _product(raw_params: list[list[str]]) -> list[tuple]:
    import itertools

    return [tuple(_param_value(v) for v in combo) for combo in itertools.product(*raw_params)]


def _number(v):
    if v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None
