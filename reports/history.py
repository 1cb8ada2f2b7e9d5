"""python -m reports.history KERNEL [--n N] [--d D]: one kernel's fit time across commits, from asv's results.

Reads every results file of one machine under .asv/results (asv continuous, the gate and `asv run` over a
commit range all leave one per commit and environment), orders them by commit date, and writes a page with
the kernel's time and its time over the read floor of the same run, per commit. asv's own view of the same
history is `asv publish && asv preview`.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from . import html as H  # noqa: E402
from .analysis import FIT, FLOOR, on_device  # noqa: E402
from .output import new_folder  # noqa: E402
from .results import ReportError, Run, load_run  # noqa: E402


def runs_of(results_dir: Path, machine: str | None) -> list[Run]:
    """Every readable results file of `machine` (default: the only one, or the newest folder), oldest first."""
    folders = [p for p in Path(results_dir).iterdir() if p.is_dir()] if Path(results_dir).is_dir() else []
    if machine:
        folders = [p for p in folders if p.name == machine]
    if not folders:
        raise ReportError(f"{results_dir}: no results{' for machine ' + machine if machine else ''}")
    folder = max(folders, key=lambda p: p.stat().st_mtime)
    runs = [load_run(p) for p in sorted(folder.glob("*.json")) if p.name != "machine.json"]
    return sorted((r for r in runs if r.date), key=lambda r: r.date)


def history(runs: list[Run], kernel: str, n: int, d: int) -> list[tuple[Run, float | None, float | None]]:
    """(run, seconds, seconds / read floor) for each run that measured kernel at (n, d)."""
    out = []
    for r in runs:
        t, floor = r.value(FIT, kernel, n, d), r.value(FLOOR, n, d)
        gpu = on_device(r, kernel)  # the recorded floor is the CPU's: no ratio for a GPU kernel
        if t is not None:
            out.append((r, t, t / floor if floor and not gpu else None))
    return out


def figure(rows, kernel: str, n: int, d: int) -> bytes:
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    labels = [f"{r.commit[:8]}\n{r.env_name[:18]}" for r, _, _ in rows]
    x = range(len(rows))
    axes[0].plot(x, [t for _, t, _ in rows], "o-")
    axes[0].set_ylabel("seconds per fit")
    axes[1].plot(x, [q if q else float("nan") for _, _, q in rows], "s-", color="C1")
    axes[1].axhline(1.0, color="k", ls="--", lw=1)
    axes[1].set_ylabel("time / read floor (same run)")
    for ax in axes:
        ax.set_xticks(list(x), labels, rotation=30, ha="right", fontsize=8)
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{kernel} at n = {n:,}, d = {d}, by commit (oldest left)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.history", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kernel", help='a kernel name, e.g. "ols/numba"')
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--d", type=int, default=1)
    p.add_argument("--results", default=".asv/results")
    p.add_argument("--machine", help="asv machine name (default: the most recently written)")
    p.add_argument("--out", default="reports/out/history")
    args = p.parse_args(argv)
    try:
        rows = history(runs_of(Path(args.results), args.machine), args.kernel, args.n, args.d)
    except ReportError as exc:
        print(f"reports.history: error: {exc}", file=sys.stderr)
        return 2
    if not rows:
        print(f"reports.history: no results for {args.kernel} at n = {args.n}, d = {args.d} under {args.results}",
              file=sys.stderr)
        return 2
    png = figure(rows, args.kernel, args.n, args.d)
    table = H.table(["commit", "environment", "date (UTC)", "seconds", "x read floor"],
                    [[r.commit[:8], r.env_name, f"{r.date:%Y-%m-%d %H:%M}", f"{t:.4g}",
                      f"{q:.2f}" if q else "—"] for r, t, q in rows], name_cols=3)
    title = f"{args.kernel}: time across commits"
    body = H.figure(png, title, "Left: seconds per fit; right: the same over the read floor measured in the same "
                    "run, which cancels a machine that is slower as a whole.", "history.png") + table
    folder = new_folder(Path(args.out))
    (folder / "history.png").write_bytes(png)
    (folder / "history.html").write_text(H.page(title, [f"{len(rows)} runs from {args.results}"],
                                                [("history", "By commit", body)]), encoding="utf-8")
    print(f"reports.history: wrote {folder / 'history.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
