#!/usr/bin/env python3
"""The performance gate: time HEAD against a base commit with asv and fail on a significant slowdown.

    python scripts/perf_gate.py [--base REV] [--head REV] [--factor F] [--bench REGEX] [--rounds N] [--normalise]

Both commits run in asv-managed virtualenvs (built once under .asv/env and reused), benchmark rounds
interleaved between the two commits so that a slow spell of a shared machine hits both alike. A benchmark is
a regression when it is slower by at least --factor AND asv's statistics call the difference significant (the
same test `asv compare` applies to the recorded samples). With --normalise, each fit time is first divided by
the read floor (the time to read X and y once) measured in the same run, so a machine that is slower as a
whole does not look like a regression. Prints a plain-text list, writes the two-run comparison report, and
exits 1 on a regression, 0 otherwise (also when there is no base commit to compare with).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reports.compare import compare  # noqa: E402  (the report's two-run logic: asv's own statistics)
from reports.results import ReportError, load_run  # noqa: E402

FIT = "bench_time.Fit.time_fit"
FLOOR = "bench_time.ReadFloor.time_read_once"
DEFAULT_FACTOR = float(os.environ.get("GATE_FACTOR", "2.0"))
DEFAULT_BENCH = os.environ.get("GATE_BENCH", r"bench_time\.(Fit|ReadFloor)")
DEFAULT_ROUNDS = int(os.environ.get("GATE_ROUNDS", "2"))


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


def commit_of(rev: str) -> str | None:
    try:
        return git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError:
        return None


def results_file(commit: str) -> Path:
    """The newest asv results file of `commit` on this machine (.asv/results/MACHINE/HASH8-ENV.json)."""
    found = sorted((REPO / ".asv" / "results").glob(f"*/{commit[:8]}-*.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise ReportError(f"no asv results for commit {commit[:8]} under .asv/results: did the run fail?")
    return found[-1]


def run_asv(base: str, head: str, bench: str, rounds: int, threads: int, log: Path) -> None:
    """asv continuous in managed virtualenvs, rounds interleaved between the commits; output to `log`."""
    env = dict(os.environ, LRBENCH_PROFILE=os.environ.get("LRBENCH_PROFILE", "gate"))
    # One thread by default: on a small shared machine a parallel region waits for a busy sibling core and its
    # time swings by 10x; a single-threaded kernel only shares its core. --threads 0 uses every core.
    if threads:
        env["LRBENCH_THREADS"] = str(threads)
    subprocess.run([sys.executable, "-m", "asv", "machine", "--yes"], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    cmd = [sys.executable, "-m", "asv", "continuous", "--interleave-rounds", "-a", f"rounds={rounds}",
           "--factor", "1.0", "--show-stderr", "-b", bench, base, head]
    print("gate: " + " ".join(cmd[2:]) + f"  (log: {log})", flush=True)
    t0 = time.time()
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT)
    print(f"gate: asv finished in {time.time() - t0:.0f} s (exit {proc.returncode})", flush=True)
    # asv continuous exits 1 when it sees any change at --factor 1.0: the verdict is ours, below. Any other
    # failure (environment build, broken benchmark) leaves no results, which results_file() reports.


def normalised(run, params) -> float | None:
    """A fit time over the read floor of the same (n, d) in the same run."""
    _, n, d = params
    t, floor = run.value(FIT, *params), run.value(FLOOR, n, d)
    return t / floor if t and floor else None


def verdicts(before, after, factor: float, normalise: bool):
    """(regressions, improvements): (name, params, ratio, before, after) for significant changes >= factor."""
    regressions, improvements = [], []
    for c in compare(before, after):
        if c.verdict == "only in one run" and c.before is not None and c.unit == "seconds":
            regressions.append((c.benchmark, c.params, float("inf"), c.before, float("nan")))  # gone at head
            continue
        if c.verdict == "not comparable":
            print(f"gate: note: {c.benchmark} changed between the runs; not compared")
        if c.verdict not in ("worse", "better") or not c.ratio or c.unit != "seconds":
            continue
        ratio = c.ratio
        if normalise and c.benchmark == FIT:
            a, b = normalised(after, c.params), normalised(before, c.params)
            ratio = a / b if a and b else ratio
        row = (c.benchmark, c.params, ratio, c.before, c.after)
        if c.verdict == "worse" and ratio >= factor:
            regressions.append(row)
        elif c.verdict == "better" and ratio <= 1 / factor:
            improvements.append(row)
    return regressions, improvements


def fmt(row) -> str:
    name, params, ratio, b, a = row
    short = name.replace("bench_time.", "")
    if ratio == float("inf"):
        return f"{short}({', '.join(map(str, params))}): measured at base ({b * 1e3:.3f} ms), not at head"
    return f"{short}({', '.join(map(str, params))}): {ratio:.2f}x  ({b * 1e3:.3f} ms -> {a * 1e3:.3f} ms)"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", default=os.environ.get("GATE_BASE", "HEAD~1"),
                   help="the commit to compare against (default HEAD~1, or $GATE_BASE)")
    p.add_argument("--head", default="HEAD", help="the commit under test (default HEAD)")
    p.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                   help=f"fail when slower by at least this factor and significant (default {DEFAULT_FACTOR}, "
                        "or $GATE_FACTOR)")
    p.add_argument("--bench", default=DEFAULT_BENCH, help=f"asv -b regex (default {DEFAULT_BENCH!r})")
    p.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                   help=f"interleaved rounds per commit (default {DEFAULT_ROUNDS})")
    p.add_argument("--threads", type=int, default=int(os.environ.get("GATE_THREADS", "1")),
                   help="threads for the kernels and BLAS while timing (default 1, or $GATE_THREADS; 0: all cores)")
    p.add_argument("--normalise", action="store_true",
                   help="judge fit times divided by the same run's read floor (only where the floor is steady: "
                        "at small n it is mostly a parallel loop's start-up and swings with the machine's load)")
    p.add_argument("--no-report", action="store_true", help="skip writing the comparison report")
    args = p.parse_args(argv)

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
    out = REPO / "reports" / "out"
    out.mkdir(parents=True, exist_ok=True)
    log = out / f"gate-{base[:8]}-{head[:8]}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    print(f"gate: {head[:8]} ({args.head}) against {base[:8]} ({args.base}), factor {args.factor}, "
          f"{args.rounds} interleaved rounds, {args.threads or 'all'} thread(s), profile {os.environ.get('LRBENCH_PROFILE', 'gate')}", flush=True)
    run_asv(base, head, args.bench, args.rounds, args.threads, log)
    try:
        before, after = load_run(results_file(base)), load_run(results_file(head))
    except ReportError as exc:
        print(f"gate: error: {exc}\n--- end of {log} ---\n" + "\n".join(log.read_text().splitlines()[-30:]),
              file=sys.stderr)
        return 2
    regressions, improvements = verdicts(before, after, args.factor, args.normalise)
    failed = [k for k, v in after.values.get(FIT, {}).items() if v is None]
    print(f"\ngate: {len(regressions)} regression(s), {len(improvements)} improvement(s) at factor "
          f"{args.factor}{' (normalised by the read floor)' if args.normalise else ''}")
    for row in sorted(regressions, key=lambda r: -r[2]):
        print("  REGRESSION  " + fmt(row))
    for row in sorted(improvements, key=lambda r: r[2]):
        print("  improved    " + fmt(row))
    for params in failed:
        print(f"  FAILED      Fit.time_fit({', '.join(map(str, params))})")
    if not args.no_report:
        subprocess.run([sys.executable, "-m", "reports", str(results_file(head)), "--baseline",
                        str(results_file(base)), "--no-extras", "--out", str(out / "gate"),
                        "--title", f"lrbench gate: {head[:8]} against {base[:8]}"], cwd=REPO, check=False)
    return 1 if regressions or failed else 0


if __name__ == "__main__":
    sys.exit(main())
