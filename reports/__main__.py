"""python -m reports [RESULTS] [--baseline RESULTS]: asv results JSON in, one self-contained HTML page out.

RESULTS is an asv results file (.asv/results/MACHINE/COMMIT-ENV.json) or a results folder (its newest
file is used; default .asv/results). What the benchmark run recorded beside it (COMMIT-ENV.record: kernels,
profile, machine, accuracy ceilings and sweep, the tutorial's fits) fills the sections asv does not time; the
report computes nothing itself. With --baseline, the page also compares the two runs.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import Report, write_png_files
from .output import PAGE, check_out, new_folder, point_latest, write_index
from .results import ReportError, load_run


# Exit codes: 0 written; 2 refused (bad --out, unreadable or missing results; argparse's usage errors too),
# with one line on stderr naming the problem; 130 interrupted.
EXIT_REFUSED, EXIT_INTERRUPTED = 2, 130


def _refuse(exc) -> int:
    print(f"reports: error: {' '.join(str(exc).split())}", file=sys.stderr)
    return EXIT_REFUSED


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m reports", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="?", default=".asv/results",
                   help="asv results file, or a results folder whose newest file is used (default: .asv/results)")
    p.add_argument("--baseline", help="a second results file (or folder) to compare against, e.g. another commit")
    p.add_argument("--out", default="reports/out", help="where report folders go (default: reports/out)")
    p.add_argument("--title", default="lrbench: linear regression, written several ways, measured")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    try:
        check_out(out)  # before reading or building anything: a refusal costs the user nothing
    except ValueError as exc:
        return _refuse(exc)
    try:
        print(f"reports: reading {args.results}", flush=True)
        run = load_run(args.results)
        baseline = None
        if args.baseline:
            print(f"reports: reading baseline {args.baseline}", flush=True)
            baseline = load_run(args.baseline)
        print(f"reports: {run.path} (commit {run.commit[:8]}, machine {run.machine.get('machine', '?')})",
              flush=True)
        if run.record is None:
            print(f"reports: {run.record_note}", flush=True)
        report = Report(run, baseline, log=lambda m: print(m, flush=True))
        html = report.build(args.title)
        folder = new_folder(out)
        write_png_files(folder, report.pngs)
        (folder / PAGE).write_text(html, encoding="utf-8")
        point_latest(out, folder)
        write_index(out)
    except ReportError as exc:
        return _refuse(exc)
    except OSError as exc:  # the output could not be written after all (disk full, a race): one line
        return _refuse(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else exc)
    except KeyboardInterrupt:
        print("reports: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"reports: wrote {folder / PAGE} ({len(report.pngs)} figures beside it); "
          f"newest: {out / 'latest' / PAGE}; all: {out / 'index.html'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
