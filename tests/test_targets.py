"""The performance targets: every label names its target in the form the report reads back, and the report
marks a ratio met or missed by it."""
from __future__ import annotations

import math

from benchmarks.bench_targets import TARGETS, side_by_side
from reports.targets import goal, met


def test_every_target_label_names_a_target_the_report_reads():
    for label, (needs, n, d, num, den) in TARGETS.items():
        g = goal(label)
        assert g is not None and g[0] in ("<=", ">=") and g[1] > 0, label
        assert needs and n >= 1_000_000 and d >= 1, label


def test_met_and_missed():
    assert met("a / b (target <= 1.1)", 1.05) is True
    assert met("a / b (target <= 1.1)", 1.2) is False
    assert met("a / b (target >= 2)", 2.5) is True
    assert met("a / b (target >= 2)", 1.5) is False
    assert met("a / b", 1.0) is None and met("a / b (target <= 1)", math.nan) is None


def test_side_by_side_is_a_ratio_of_medians():
    calls = {"a": 0, "b": 0}

    def a():
        calls["a"] += 1
        sum(range(20_000))

    def b():
        calls["b"] += 1

    assert side_by_side(a, b, rounds=5) > 1.0  # a does work, b none
    assert calls == {"a": 6, "b": 6}  # one untimed call each, then five rounds
