"""The performance gate's judgement (lrbench/gate.py) on runs built from known samples.

The samples go through asv's own statistics (asv_runner.statistics.compute_stats), so the significance test
is the one `asv compare` applies; only the timings are made up, to cover the cases the gate must get right.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("asv")
from asv_runner.statistics import compute_stats  # noqa: E402

from lrbench import gate  # noqa: E402
from reports.results import Run  # noqa: E402

N, D = 100_000, 1


def noisy(fast: float, count: int = 40, seed: int = 0, spread: float = 1.0) -> list[float]:
    """Samples whose fastest is `fast`: interference only adds time (up to `spread` x fast on top)."""
    rng = np.random.default_rng(seed)
    extra = rng.exponential(0.3, count).clip(0, spread)
    extra[0] = 0.0
    return list(fast * (1 + extra))


def run(commit: str, fits: dict[str, list[float]], floor: list[float] | None = None) -> Run:
    values, stats = {gate.FIT: {}, gate.FLOOR: {}}, {gate.FIT: {}, gate.FLOOR: {}}
    for kernel, samples in fits.items():
        key = (kernel, N, D)
        if samples is None:  # failed at this commit
            values[gate.FIT][key], stats[gate.FIT][key] = None, (None, None)
            continue
        value, st = compute_stats(samples, 1)
        values[gate.FIT][key], stats[gate.FIT][key] = value, (st, samples)
    if floor is not None:
        value, st = compute_stats(floor, 1)
        values[gate.FLOOR][(N, D)], stats[gate.FLOOR][(N, D)] = value, (st, floor)
    return Run(path=Path(f"{commit}.json"), commit=commit, date=None, env_name="virtualenv-py3.11",
               machine={}, param_names={gate.FIT: ["kernel", "n", "d"], gate.FLOOR: ["n", "d"]},
               units={gate.FIT: "seconds", gate.FLOOR: "seconds"}, values=values, stats=stats,
               versions={gate.FIT: "v1", gate.FLOOR: "v1"})


def test_a_doubled_kernel_is_a_suspect_and_the_rest_are_not():
    before = run("a", {"ols/numpy": noisy(1e-3, seed=1), "ols/numba": noisy(3e-4, seed=2)})
    after = run("b", {"ols/numpy": noisy(2e-3, seed=3), "ols/numba": noisy(3e-4, seed=4)})
    suspects, improvements, missing = gate.judge(before, after, 1.5)
    assert [s.params[0] for s in suspects] == ["ols/numpy"]
    assert suspects[0].ratio == pytest.approx(2.0)
    assert suspects[0].direction == "worse"
    assert improvements == [] and missing == []


def test_a_slow_spell_in_the_medians_does_not_make_a_suspect():
    # the head's samples are mostly slow (a busy neighbour), but its fastest sample equals the base's: the
    # medians differ by about 2x, the code does not
    base = noisy(1e-3, seed=5, spread=0.1)
    head = [1e-3] + [2.2e-3 + 1e-5 * i for i in range(39)]
    before, after = run("a", {"ols/numpy": base}), run("b", {"ols/numpy": head})
    assert after.value(gate.FIT, "ols/numpy", N, D) / before.value(gate.FIT, "ols/numpy", N, D) > 1.9
    suspects, improvements, _ = gate.judge(before, after, 1.5)
    assert suspects == [] and improvements == []


def test_a_suspect_stands_only_when_the_confirmation_run_agrees():
    before = run("a", {"ols/numpy": noisy(1e-3, seed=6), "ols/numba": noisy(3e-4, seed=7)})
    after = run("b", {"ols/numpy": noisy(2e-3, seed=8), "ols/numba": noisy(6e-4, seed=9)})
    suspects, _, _ = gate.judge(before, after, 1.5)
    assert {s.params[0] for s in suspects} == {"ols/numpy", "ols/numba"}
    # measured again: ols/numpy is still twice as slow, ols/numba's slowness was the machine's
    again_before = run("a", {"ols/numpy": noisy(1e-3, seed=10), "ols/numba": noisy(3e-4, seed=11)})
    again_after = run("b", {"ols/numpy": noisy(2.1e-3, seed=12), "ols/numba": noisy(3.1e-4, seed=13)})
    regressions, cleared, _ = gate.confirmed(suspects, again_before, again_after, 1.5)
    assert [r.params[0] for r in regressions] == ["ols/numpy"]
    assert [c.params[0] for c in cleared] == ["ols/numba"]
    assert cleared[0].ratio == pytest.approx(3.1 / 3.0)


def test_confirmation_needs_significance_not_only_the_ratio():
    # two samples each, overlapping wildly: the fastest ratio reaches the factor, asv's test cannot tell
    before, after = run("a", {"ols/numpy": [1e-3, 9e-3]}), run("b", {"ols/numpy": [2e-3, 8e-3]})
    suspects, _, _ = gate.judge(before, after, 1.5)
    assert suspects and suspects[0].direction is None
    regressions, cleared, _ = gate.confirmed(suspects, before, after, 1.5)
    assert regressions == [] and len(cleared) == 1


def test_improvements_need_the_factor_and_significance():
    before = run("a", {"ols/numpy": noisy(2e-3, seed=14), "ols/numba": noisy(3e-4, seed=15)})
    after = run("b", {"ols/numpy": noisy(1e-3, seed=16), "ols/numba": noisy(2.5e-4, seed=17)})
    suspects, improvements, _ = gate.judge(before, after, 1.5)
    assert suspects == []
    assert [i.params[0] for i in improvements] == ["ols/numpy"]  # ols/numba's 1.2x is under the factor


def test_an_improvement_is_reported_only_when_the_second_run_agrees():
    before = run("a", {"ols/numpy": noisy(2e-3, seed=29), "ols/qr": noisy(2e-3, seed=30)})
    after = run("b", {"ols/numpy": noisy(1e-3, seed=31), "ols/qr": noisy(1.2e-3, seed=32)})
    _, improvements, _ = gate.judge(before, after, 1.5)
    assert {i.params[0] for i in improvements} == {"ols/numpy", "ols/qr"}
    again_before = run("a", {"ols/numpy": noisy(2e-3, seed=33), "ols/qr": noisy(2e-3, seed=34)})
    again_after = run("b", {"ols/numpy": noisy(1e-3, seed=35), "ols/qr": noisy(1.9e-3, seed=36)})
    _, _, better = gate.confirmed([], again_before, again_after, 1.5, improvements=improvements)
    assert [b.params[0] for b in better] == ["ols/numpy"]


def test_a_kernel_measured_at_base_but_failing_at_head_is_missing():
    before = run("a", {"ols/numpy": noisy(1e-3, seed=18)})
    after = run("b", {"ols/numpy": None})
    suspects, _, missing = gate.judge(before, after, 1.5)
    assert suspects == [] and len(missing) == 1
    assert missing[0].ratio == float("inf") and "not at head" in missing[0].line()


def test_normalised_judgement_divides_by_the_same_runs_floor():
    # the whole head run is 2x slower (fit and floor alike): normalised, nothing changed
    before = run("a", {"ols/numpy": noisy(1e-3, seed=19)}, floor=noisy(1e-4, seed=20))
    after = run("b", {"ols/numpy": noisy(2e-3, seed=21)}, floor=noisy(2e-4, seed=22))
    assert [s.benchmark for s in gate.judge(before, after, 1.5)[0]] == [gate.FIT, gate.FLOOR]
    suspects, _, _ = gate.judge(before, after, 1.5, normalise=True)
    assert suspects == []  # the floor is the yardstick there, not a timing judged on its own
    # a kernel that got slower while the machine did not
    after = run("b", {"ols/numpy": noisy(2e-3, seed=21)}, floor=noisy(1e-4, seed=22))
    suspects, _, _ = gate.judge(before, after, 1.5, normalise=True)
    assert [s.benchmark for s in suspects] == [gate.FIT] and suspects[0].normalised
    assert suspects[0].ratio == pytest.approx(2.0)


def test_the_confirmation_measures_only_the_suspects():
    import re

    before = run("a", {"ols/numpy": noisy(1e-3, seed=23), "gd/numba": noisy(1e-3, seed=24)},
                 floor=noisy(1e-4, seed=25))
    after = run("b", {"ols/numpy": noisy(2e-3, seed=26), "gd/numba": noisy(1e-3, seed=27)},
                floor=noisy(1e-4, seed=28))
    suspects, _, _ = gate.judge(before, after, 1.5)
    bench, kernels = gate.confirm_selection(suspects, normalise=False)
    assert kernels == "ols/numpy"
    assert re.search(bench, gate.FIT) and not re.search(bench, gate.FLOOR)
    assert not re.search(bench, "bench_time.Prepare.time_prepare")
    bench, _ = gate.confirm_selection(suspects, normalise=True)
    assert re.search(bench, gate.FIT) and re.search(bench, gate.FLOOR)
    floor_only = [s for s in gate.judge(before, run("b", {"ols/numpy": noisy(1e-3, seed=26)},
                                                   floor=noisy(2e-4, seed=28)), 1.5)[0]]
    bench, kernels = gate.confirm_selection(floor_only, normalise=False)
    assert re.search(bench, gate.FLOOR) and not re.search(bench, gate.FIT) and kernels is None


def test_a_benchmark_whose_code_changed_is_still_judged():
    """asv versions a benchmark by its source: a commit that edits `Fit` must not slip through the gate."""
    before = run("a", {"ols/numpy": noisy(1e-3, seed=41)})
    after = run("b", {"ols/numpy": noisy(2e-3, seed=42)})
    after.versions[gate.FIT] = "v2"
    suspects, _, _ = gate.judge(before, after, 1.5)
    assert len(suspects) == 1 and suspects[0].direction == "worse"
    regressions, _, _ = gate.confirmed(suspects, before, after, 1.5)
    assert len(regressions) == 1


def test_significance_must_point_the_same_way_as_the_ratio():
    """Fastest samples 1.6x slower while the bulk of the samples is much faster: asv's test says "better",
    which must not confirm a regression."""
    base = [1e-3] + [5e-3] * 39
    head = [1.6e-3] + [1.7e-3] * 39
    before, after = run("a", {"ols/numpy": base}), run("b", {"ols/numpy": head})
    suspects, _, _ = gate.judge(before, after, 1.5)
    assert suspects and suspects[0].direction == "better"
    regressions, cleared, _ = gate.confirmed(suspects, before, after, 1.5)
    assert regressions == [] and len(cleared) == 1


@pytest.mark.parametrize("factor", ["1.0", "0.5"])
def test_a_factor_of_one_or_less_is_refused(factor, capsys):
    with pytest.raises(SystemExit) as exc:
        gate.main(["--factor", factor])
    assert exc.value.code == 2
    assert "--factor must be above 1.0" in capsys.readouterr().err


def test_the_confirmation_pools_the_fastest_samples_of_both_runs():
    """A 2x slowdown whose base happened to be slow in the second run (0.58 ms against 0.45 ms in the first):
    judged on the second run alone it is 1.54x, on the fastest of both runs 2.0x."""
    first = (run("a", {"ols/numpy": noisy(4.5e-4, seed=37)}), run("b", {"ols/numpy": noisy(9e-4, seed=38)}))
    suspects, _, _ = gate.judge(*first, 1.5)
    again = (run("a", {"ols/numpy": noisy(5.8e-4, seed=39)}), run("b", {"ols/numpy": noisy(9e-4, seed=40)}))
    alone, _, _ = gate.confirmed(suspects, *again, 1.7)
    pooled, _, _ = gate.confirmed(suspects, *again, 1.7, first=first)
    assert alone == []  # 9.0 / 5.8 = 1.55 < 1.7
    assert len(pooled) == 1 and pooled[0].ratio == pytest.approx(2.0)
