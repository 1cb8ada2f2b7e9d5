"""The report's section on the performance targets: each a ratio the Targets benchmark measured side by side
(benchmarks/bench_targets.py), its label naming the target, "(target <= 1.1)" or "(target >= 2)"."""
from __future__ import annotations

import math
import re

from .html import Cell, esc, p, table
from .results import Run, ok

TARGETS = "bench_targets.Targets.track_ratio"
_GOAL = re.compile(r"\(target\s*(<=|>=)\s*([0-9.eE+-]+)\)\s*$")


def goal(label: str) -> tuple[str, float] | None:
    """("<=" or ">=", bound) from a target's label, or None when it names none."""
    m = _GOAL.search(label)
    return (m.group(1), float(m.group(2))) if m else None


def met(label: str, value: float) -> bool | None:
    g = goal(label)
    if g is None or not math.isfinite(value):
        return None
    return value <= g[1] if g[0] == "<=" else value >= g[1]


def has_targets(run: Run) -> bool:
    return bool(run.values.get(TARGETS))


def targets_section(run: Run) -> str:
    """One row per target: the measured ratio, the target and whether this run met it."""
    rows = []
    for rec in run.records(TARGETS):
        label, value = rec.get("target", "?"), rec.get("value")
        if not ok(value):
            rows.append([label.split(" (target")[0], Cell("skipped or failed", "muted"), "", ""])
            continue
        g, m = goal(label), met(label, value)
        rows.append([label.split(" (target")[0], f"{value:.3g}", f"{g[0]} {g[1]:g}" if g else "",
                     Cell("met" if m else "missed", "better" if m else "worse") if m is not None else ""])
    machine = run.machine.get("cpu") or run.machine.get("machine", "this machine")
    return p(f"Each ratio is two times measured side by side in one process on {esc(str(machine))}: "
             "interleaved rounds, the median of each (benchmarks/bench_targets.py). \"fit\" is kernels.fit as a user "
             "calls it; \"kernel\" the kernel alone on prepared data; the compute floor n·d(d+1) flops at the "
             "matrix-multiply rate timed in the same rounds.") + table(["ratio", "this run", "target", ""], rows)
