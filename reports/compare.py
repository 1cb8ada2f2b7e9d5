"""Two runs side by side: the ratio per benchmark, a change marked only where asv's statistics call it one."""
from __future__ import annotations

from dataclasses import dataclass

from .results import Run, ok

FACTOR = 1.1  # asv compare's default: a change smaller than 10% is never reported
HIGHER_IS_BETTER = {"digits"}  # units where a larger value is the improvement (LRE)


@dataclass
class Change:
    benchmark: str
    params: tuple
    unit: str
    before: float | None
    after: float | None
    ratio: float | None  # after / before
    verdict: str  # "better", "worse", "same", "not significant", "not comparable", "only in one run"


def _better(a, b, a_ss, b_ss) -> bool:
    """asv compare's test: is a better (smaller) than b by FACTOR, with the statistics agreeing?"""
    from asv.commands.compare import _is_result_better  # the logic `asv compare` itself applies

    return _is_result_better(a, b, a_ss, b_ss, FACTOR, use_stats=True)


def compare(before: Run, after: Run) -> list[Change]:
    """Every benchmark and parameter combination present in either run, judged as `asv compare` judges."""
    out = []
    for name in sorted(set(before.values) | set(after.values)):
        unit = after.units.get(name) or before.units.get(name, "")
        b_vals, a_vals = before.values.get(name, {}), after.values.get(name, {})
        comparable = before.versions.get(name) == after.versions.get(name) or None in (
            before.versions.get(name), after.versions.get(name))
        for params in sorted(set(b_vals) | set(a_vals), key=repr):
            b, a = b_vals.get(params), a_vals.get(params)
            if not (ok(a) and ok(b)):
                if ok(a) or ok(b):
                    out.append(Change(name, params, unit, b if ok(b) else None, a if ok(a) else None, None,
                                      "only in one run"))
                continue
            ratio = a / b if b else None
            if not comparable:
                verdict = "not comparable"  # the benchmark's code changed between the runs
            else:
                b_ss, a_ss = before.stats.get(name, {}).get(params), after.stats.get(name, {}).get(params)
                lo_first = unit not in HIGHER_IS_BETTER
                x, y, x_ss, y_ss = (a, b, a_ss, b_ss) if lo_first else (b, a, b_ss, a_ss)
                if _better(x, y, x_ss, y_ss):
                    verdict = "better"
                elif _better(y, x, y_ss, x_ss):
                    verdict = "worse"
                elif _better(a, b, None, None) or _better(b, a, None, None):
                    verdict = "not significant"  # beyond FACTOR, but within the noise asv measured
                else:
                    verdict = "same"
            out.append(Change(name, params, unit, b, a, ratio, verdict))
    return out
