"""The performance gate: time HEAD against a base commit with asv and fail on a real slowdown.

    lrbench gate [--base REV] [--head REV] [--factor F] [--rounds N] [--confirm-rounds N]
                                [--normalise] [--threads T] [--bench REGEX]

1. Measure: `asv continuous` in asv-managed virtualenvs (built once under .asv/env and reused), benchmark rounds
   interleaved between the two commits, every sample recorded.
2. Judge each benchmark on its fastest sample at each commit (min over all rounds). Interference from the rest
   of a shared machine only ever adds time to a CPU-bound fit, so the minimum over many short samples spread
   over several seconds is the steadiest estimate of what the code costs; medians move with the machine's
   load. With --normalise, each fit's fastest time is divided by the fastest read floor (reading X and y once)
   of the same run first.
3. Confirm: a benchmark whose fastest-sample ratio reaches --factor is measured again, alone, in a second
   interleaved asv run. It is a regression only if, with those samples added, its fastest sample is still
   slower by at least --factor, and asv's statistics on the second run's samples call the difference
   significant (the test `asv compare` applies to the recorded samples).
   A benchmark measured at base but missing or failing at head is a regression without confirmation.

Prints one plain-text line per regression and improvement with its ratio, writes the two-run comparison report
and the asv logs under reports/out/gate/, and exits 1 on a regression or a failed benchmark, 2 when the gate
itself cannot run, 0 otherwise (also when there is no base commit to compare with).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from reports.analysis import FIT, FLOOR  # the benchmarks the gate times
from reports.compare import FACTOR as ASV_FACTOR  # asv compare's default: 1.1
from reports.compare import compare  # the report's two-run logic: asv's own statistics
from reports.output import new_folder
from reports.results import ReportError, Run, load_run

REPO = Path(__file__).resolve().parents[1]

DEFAULT_FACTOR = float(os.environ.get("GATE_FACTOR", "1.5"))
DEFAULT_BENCH = os.environ.get("GATE_BENCH", r"bench_time\.(Fit|ReadFloor)")
DEFAULT_ROUNDS = int(os.environ.get("GATE_ROUNDS", "2"))
DEFAULT_CONFIRM_ROUNDS = int(os.environ.get("GATE_CONFIRM_ROUNDS", "3"))
INF = float("inf")


class GateError(Exception):
    """The gate could not measure (no results, asv failed before running anything)."""


@dataclass
class Judged:
    benchmark: str
    params: tuple
    ratio: float  # head / base of the fastest samples (inf: measured at base, not at head)
    before: float  # base's fastest sample, seconds (or fit / floor with --normalise)
    after: float
    direction: str | None  # asv's test on the recorded samples: "worse", "better", or None (no difference)
    normalised: bool = False

    @property
    def key(self) -> tuple:
        return self.benchmark, self.params

    def line(self) -> str:
        short = self.benchmark.replace("bench_time.", "")
        where = f"{short}({', '.join(map(str, self.params))})"
        if self.ratio == INF:
            return f"{where}: measured at base ({self.before * 1e3:.3f} ms), not at head"
        if self.normalised:
            values = f"{self.before:.2f} -> {self.after:.2f} x the read floor"
        else:
            values = f"{self.before * 1e3:.3f} ms -> {self.after * 1e3:.3f} ms"
        agrees = self.direction == ("worse" if self.ratio >= 1 else "better")
        sig = "" if agrees else ", not significant by asv's test"
        return f"{where}: {self.ratio:.2f}x  (fastest sample {values}{sig})"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


def commit_of(rev: str) -> str | None:
    try:
        return git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError:
        return None


def results_file(commit: str, since: float = 0.0) -> Path:
    """The newest results file of `commit` in asv's managed virtualenvs on this machine, written after `since`
    (a Unix time: a file an earlier run left must not pass for this one's).
    (.asv/results/MACHINE/HASH8-virtualenv-ENV.json; runs in an existing environment, such as `make report`'s,
    are other files and never touched here.)"""
    found = sorted((p for p in (REPO / ".asv" / "results").glob(f"*/{commit[:8]}-virtualenv-*.json")
                    if p.stat().st_mtime >= since), key=lambda p: p.stat().st_mtime)
    if not found:
        raise GateError(f"asv wrote no results for commit {commit[:8]} under .asv/results: did the run fail?")
    return found[-1]


def run_asv(base: str, head: str, bench: str, rounds: int, threads: int, log: Path,
            kernels: str | None = None) -> None:
    """asv continuous in managed virtualenvs, rounds interleaved between the commits; output to `log`."""
    env = dict(os.environ, LRBENCH_PROFILE=os.environ.get("LRBENCH_PROFILE", "gate"))
    # One thread by default: on a small shared machine a parallel region waits for a busy sibling core and its
    # time swings by 10x; a single-threaded kernel only shares its core. --threads 0 uses every core.
    if threads:
        env["LRBENCH_THREADS"] = str(threads)
    if kernels:
        env["LRBENCH_KERNELS"] = kernels
    machine = subprocess.run([sys.executable, "-m", "asv", "machine", "--yes"], cwd=REPO, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if machine.returncode:
        raise GateError(f"asv machine --yes failed: {machine.stderr.strip()[-500:]}")
    cmd = [sys.executable, "-m", "asv", "continuous", "--interleave-rounds", "-a", f"rounds={rounds}",
           "--record-samples", "--factor", "1.0", "--show-stderr", "-b", bench, base, head]
    print("gate: " + ("LRBENCH_KERNELS=" + kernels + " " if kernels else "") + " ".join(cmd[2:])
          + f"  (log: {log.relative_to(REPO)})", flush=True)
    t0 = time.time()
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT)
    print(f"gate: asv finished in {time.time() - t0:.0f} s (exit {proc.returncode})", flush=True)
    # asv continuous exits 1 when it sees any change at --factor 1.0: the verdict is ours, below. Any other
    # failure (environment build, broken benchmark) leaves no results, which results_file() reports.


def _fastest_one(run: Run, benchmark: str, params: tuple) -> float | None:
    _, samples = run.stats.get(benchmark, {}).get(tuple(params), (None, None))
    good = [s for s in (samples or []) if isinstance(s, (int, float)) and s == s and s > 0]
    return min(good) if good else run.value(benchmark, *params)


def fastest(run: Run, benchmark: str, params: tuple, also: Run | None = None) -> float | None:
    """The fastest recorded sample (asv's value, a median, when the samples were not recorded); with `also`,
    the fastest over both runs of the same commit (the first run and the confirmation's)."""
    found = [t for t in (_fastest_one(r, benchmark, params) for r in (run, also) if r is not None) if t]
    return min(found) if found else None


def fastest_normalised(run: Run, params: tuple, also: Run | None = None) -> float | None:
    """A fit's fastest sample over the fastest read floor of the same (n, d) in the same run(s)."""
    _, n, d = params
    t, floor = fastest(run, FIT, params, also), fastest(run, FLOOR, (n, d), also)
    return t / floor if t and floor else None


def asv_direction(before: Run, after: Run, benchmark: str, params: tuple) -> str | None:
    """asv compare's own test on the two runs' recorded samples: "worse" (after slower), "better", or None.

    Applied here for every timing, also where reports.compare calls the runs not comparable (the benchmark's
    source changed between the commits): a gate that stopped judging whenever a benchmark was edited would
    pass any commit that touches one."""
    from asv.commands.compare import _is_result_better

    b, a = before.value(benchmark, *params), after.value(benchmark, *params)
    if b is None or a is None:
        return None
    b_ss = before.stats.get(benchmark, {}).get(tuple(params))
    a_ss = after.stats.get(benchmark, {}).get(tuple(params))
    if _is_result_better(a, b, a_ss, b_ss, ASV_FACTOR):
        return "better"
    if _is_result_better(b, a, b_ss, a_ss, ASV_FACTOR):
        return "worse"
    return None


def measured(before: Run, after: Run, normalise: bool = False,
             pooled: tuple[Run, Run] | None = None) -> tuple[list[Judged], list[Judged]]:
    """(rows, missing): every timing measured in both runs, judged on its fastest samples; and the timings
    measured at base but missing or failed at head. pooled: the same commits' earlier runs, whose samples
    count towards the fastest too (asv's significance test still sees only this run's samples)."""
    also_b, also_a = pooled or (None, None)
    rows, missing, noted = [], [], set()
    for c in compare(before, after):
        if c.unit != "seconds":
            continue
        if c.verdict == "only in one run":
            if c.before is not None:
                missing.append(Judged(c.benchmark, c.params, INF, c.before, float("nan"), "worse"))
            continue
        if c.verdict == "not comparable" and c.benchmark not in noted:
            noted.add(c.benchmark)
            print(f"gate: note: {c.benchmark}'s code changed between the commits; compared all the same")
        if normalise and c.benchmark == FLOOR:
            continue  # the yardstick itself: its raw time moves with the machine, which --normalise discounts
        norm = normalise and c.benchmark == FIT
        if norm:
            b, a = fastest_normalised(before, c.params, also_b), fastest_normalised(after, c.params, also_a)
        else:
            b, a = fastest(before, c.benchmark, c.params, also_b), fastest(after, c.benchmark, c.params, also_a)
        if a and b:
            rows.append(Judged(c.benchmark, c.params, a / b, b, a,
                               asv_direction(before, after, c.benchmark, c.params), norm))
    return rows, missing


def judge(before: Run, after: Run, factor: float, normalise: bool = False):
    """(suspects, improvements, missing) between two runs.

    suspects: every timing whose fastest sample got slower by at least `factor` (significant or not: the
    confirmation run decides); improvements: faster by at least `factor` and significant; missing: measured
    at base, missing at head (a benchmark that broke or vanished).
    """
    rows, missing = measured(before, after, normalise)
    suspects = [r for r in rows if r.ratio >= factor]
    improvements = [r for r in rows if r.ratio <= 1 / factor and r.direction == "better"]
    return suspects, improvements, missing


def confirmed(suspects: list[Judged], again_before: Run, again_after: Run, factor: float,
              normalise: bool = False, improvements: list[Judged] = (),
              first: tuple[Run, Run] | None = None) -> tuple[list, list, list]:
    """(regressions, cleared, improvements) after the second run.

    A suspect stands only if, with the second run's samples added, its fastest sample is still slower by at
    least `factor`, and asv's statistics on the second run's samples call the difference significant
    (`first`: the first run's (base, head), pooled into the fastest samples; cleared rows carry the pooled
    figures; a suspect the second run did not measure at all stands). An improvement is reported only if the
    second run agrees in the same way.
    """
    rows, missing = measured(again_before, again_after, normalise, pooled=first)
    again = {r.key: r for r in rows + missing}
    regressions, cleared = [], []
    for s in suspects:
        r = again.get(s.key)
        if r is None:
            regressions.append(s)
        elif r.ratio >= factor and r.direction == "worse":
            regressions.append(r)
        else:
            cleared.append(r)
    better = [again[i.key] for i in improvements
              if i.key in again and again[i.key].ratio <= 1 / factor and again[i.key].direction == "better"]
    return regressions, cleared, better


def confirm_selection(timings: list[Judged], normalise: bool) -> tuple[str, str | None]:
    """(asv -b regex, $LRBENCH_KERNELS) measuring only these timings' benchmarks and kernels (and the floor
    when normalising)."""
    names = {t.benchmark for t in timings}
    if normalise and FIT in names:
        names.add(FLOOR)
    kernels = sorted({t.params[0] for t in timings if t.params and isinstance(t.params[0], str)
                      and "/" in t.params[0]})
    return "|".join(re.escape(n) for n in sorted(names)), ",".join(kernels) or None


def measure(base: str, head: str, bench: str, rounds: int, threads: int, folder: Path, tag: str,
            kernels: str | None = None) -> tuple[Run, Run, dict[str, Path]]:
    """One asv continuous run; the two results files copied into `folder` as TAG-base.json / TAG-head.json.
    Returns both runs and where asv wrote each commit's file."""
    log = folder / f"{tag}.log"
    t0 = time.time() - 1.0  # file times may be coarser than the clock
    run_asv(base, head, bench, rounds, threads, log, kernels)
    index = REPO / ".asv" / "results" / "benchmarks.json"
    if tag == "run" and index.exists():  # asv's index of the first run: parameter names and units for the copies
        shutil.copy2(index, folder / "benchmarks.json")
    try:
        written, copies = {}, []
        for name, commit in (("base", base), ("head", head)):
            written[name] = results_file(commit, since=t0)
            copies.append(Path(shutil.copy2(written[name], folder / f"{tag}-{name}.json")))
        return load_run(copies[0]), load_run(copies[1]), written
    except (GateError, ReportError) as exc:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise GateError(f"{exc}\n--- end of {log} ---\n{tail}") from None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", default=os.environ.get("GATE_BASE", "HEAD~1"),
                   help="the commit to compare against (default HEAD~1, or $GATE_BASE)")
    p.add_argument("--head", default="HEAD", help="the commit under test (default HEAD)")
    p.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                   help=f"fail when slower by at least this factor, confirmed and significant (default "
                        f"{DEFAULT_FACTOR}, or $GATE_FACTOR)")
    p.add_argument("--bench", default=DEFAULT_BENCH, help=f"asv -b regex (default {DEFAULT_BENCH!r})")
    p.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                   help=f"interleaved rounds per commit (default {DEFAULT_ROUNDS}, or $GATE_ROUNDS)")
    p.add_argument("--confirm-rounds", type=int, default=DEFAULT_CONFIRM_ROUNDS,
                   help=f"interleaved rounds of the confirmation run (default {DEFAULT_CONFIRM_ROUNDS}, or "
                        "$GATE_CONFIRM_ROUNDS; 0: no confirmation, judge on the first run alone)")
    p.add_argument("--threads", type=int, default=int(os.environ.get("GATE_THREADS", "1")),
                   help="threads for the kernels and BLAS while timing (default 1, or $GATE_THREADS; 0: all cores)")
    p.add_argument("--normalise", action="store_true",
                   help="judge each fit's fastest time divided by the same run's fastest read floor")
    p.add_argument("--no-report", action="store_true", help="skip writing the comparison report")
    args = p.parse_args(argv)
    if args.factor <= 1.0:
        p.error(f"--factor must be above 1.0 (got {args.factor}): at 1.0 every measured difference would fail")
    if args.rounds < 1 or args.confirm_rounds < 0:
        p.error("--rounds must be at least 1 and --confirm-rounds at least 0")

    head = commit_of(args.head)
    if head is None:
        print(f"gate: {args.head!r} is not a commit", file=sys.stderr)
        return 2
    base = commit_of(args.base)
    if base is None:
        print(f"gate: no base commit {args.base!r} (the first commit?): nothing to compare, passing")
        return 0
    if base == head:
        print(f"gate: base and head are the same commit ({head[:8]}): nothing to compare, passing")
        return 0
    folder = new_folder(REPO / "reports" / "out" / "gate")  # nothing earlier is overwritten
    print(f"gate: {head[:8]} ({args.head}) against {base[:8]} ({args.base}), factor {args.factor}, "
          f"{args.rounds} interleaved rounds, {args.threads or 'all'} thread(s), profile "
          f"{os.environ.get('LRBENCH_PROFILE', 'gate')}; output in {folder.relative_to(REPO)}", flush=True)
    try:
        before, after, written = measure(base, head, args.bench, args.rounds, args.threads, folder, "run")
    except GateError as exc:
        print(f"gate: error: {exc}", file=sys.stderr)
        return 2
    suspects, improvements, missing = judge(before, after, args.factor, args.normalise)
    regressions, cleared = suspects, []
    if (suspects or improvements) and args.confirm_rounds:
        print(f"gate: {len(suspects)} suspect(s) and {len(improvements)} improvement(s) at {args.factor}x on the "
              "fastest samples; measuring them again:")
        for s in suspects:
            print("  suspect     " + s.line())
        for s in improvements:
            print("  faster?     " + s.line())
        bench, kernels = confirm_selection(suspects + improvements, args.normalise)
        index = REPO / ".asv" / "results" / "benchmarks.json"
        try:
            *again, _ = measure(base, head, bench, args.confirm_rounds, args.threads, folder, "confirm", kernels)
        except GateError as exc:
            print(f"gate: error: {exc}", file=sys.stderr)
            return 2
        finally:  # the history keeps the full first run (and its benchmark index), not the confirmation's subset
            for name, path in written.items():
                shutil.copy2(folder / f"run-{name}.json", path)
            if (folder / "benchmarks.json").exists():
                shutil.copy2(folder / "benchmarks.json", index)
        regressions, cleared, improvements = confirmed(suspects, *again, args.factor, args.normalise,
                                                       improvements, first=(before, after))
    elif suspects:
        regressions = [s for s in suspects if s.direction == "worse"]
        cleared = [s for s in suspects if s.direction != "worse"]
    regressions += missing
    listed = {m.key for m in missing}
    failed = [k for k, v in after.values.get(FIT, {}).items() if v is None and (FIT, k) not in listed]

    lines = [f"gate: {head[:8]} against {base[:8]}: {len(regressions)} regression(s), {len(improvements)} "
             f"improvement(s) at factor {args.factor} (fastest samples"
             f"{', fits over the read floor' if args.normalise else ''})"]
    lines += ["  REGRESSION  " + r.line() for r in sorted(regressions, key=lambda r: -r.ratio)]
    lines += ["  improved    " + r.line() for r in sorted(improvements, key=lambda r: r.ratio)]
    lines += [f"  FAILED      Fit.time_fit({', '.join(map(str, params))})" for params in failed]
    lines += ["  cleared     " + r.line() + " (with the confirmation run)" for r in cleared]
    verdict = "\n".join(lines)
    print("\n" + verdict)
    (folder / "verdict.txt").write_text(verdict + "\n")
    if not args.no_report:
        subprocess.run([sys.executable, "-m", "reports", str(folder / "run-head.json"), "--baseline",
                        str(folder / "run-base.json"), "--out", str(folder),
                        "--title", f"lrbench gate: {head[:8]} against {base[:8]}"], cwd=REPO, check=False)
    return 1 if regressions or failed else 0


if __name__ == "__main__":
    sys.exit(main())
