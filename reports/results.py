"""Reading asv results: one results JSON file (one commit, one environment, one machine) into a `Run`."""
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
    """asv's benchmarks.json beside the machine folders: units and parameter names of each benchmark."""
    path = results_file.parent.parent / "benchmarks.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path}: not a readable asv benchmarks.json ({exc})") from None
    return {k: v for k, v in data.items() if isinstance(v, dict)}


# This suite's parameter names and units, for a results file read without asv's benchmarks.json beside it.
_KNOWN = {
    "time_fit": (["kernel", "n", "d"], "seconds"), "time_read_once": (["n", "d"], "seconds"),
    "time_prepare": (["kernel", "n", "d"], "seconds"), "timeraw_first_call": (["kernel", "cache"], "seconds"),
    "track_peakmem_extra": (["kernel", "n"], "x input"), "track_lre": (["kernel", "problem"], "digits"),
    "track_coef_error": (["kernel", "case"], "relative"), "track_distance": (["kernel", "d"], "relative"),
    "track_excess_loss": (["kernel", "epoch"], "relative"),
}


def _default_unit(name: str) -> str:
    method = name.rsplit(".", 1)[-1]
    if method in _KNOWN:
        return _KNOWN[method][1]
    return "seconds" if method.startswith(("time_", "timeraw_")) else "bytes" if method.startswith("peakmem_") else ""


def _default_param_names(name: str, count: int) -> list[str]:
    names = _KNOWN.get(name.rsplit(".", 1)[-1], ([], ""))[0]
    return names if len(names) == count else [f"p{i}" for i in range(count)]


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
            param_names[name] = list(info.get("param_names") or _default_param_names(name, len(raw_params)))
            units[name] = info.get("unit") or _default_unit(name)
            versions[name] = res.benchmark_version.get(name)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise ReportError(f"{path}: malformed asv results ({type(exc).__name__}: {exc})") from None
    date = None
    if res.date:  # the commit's date
        date = dt.datetime.fromtimestamp(res.date / 1000, tz=dt.timezone.utc)
    starts = [v for v in res.started_at.values() if isinstance(v, (int, float))]
    started = dt.datetime.fromtimestamp(min(starts) / 1000, tz=dt.timezone.utc) if starts else None
    return Run(path=path, commit=str(res.commit_hash or "unknown"), date=date, env_name=str(res.env_name),
               machine={str(k): str(v) for k, v in (res.params or {}).items()}, param_names=param_names,
               units=units, values=values, stats=stats, versions=versions, started=started)


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
