"""lrbench: the command line. `demo` reproduces the tutorial's comparison; `fit` fits a CSV; `list` lists kernels."""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from kernels import UNAVAILABLE, available, datasets, fit
from kernels.errors import KernelError

# Exit codes (README, "The command line"): 0 done; 2 refused: bad input, options or data file, a kernel not
# available here, divergence, an output that exists (argparse's usage errors are 2 too); 130 interrupted.
EXIT_OK, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 2, 130


class CommandError(Exception):
    """A refusal of the command line itself (an output path it will not write): one line, exit code 2."""


def _new_path(path: Path, force: bool) -> Path:
    """Checked before any work: never overwrite what the user has, never a directory in place of a file."""
    if path.is_dir():
        raise CommandError(f"--out {path} is a directory; give the path of the PNG file to write")
    if path.exists() and not force:
        raise CommandError(f"{path} exists; choose another --out or pass --force to replace it")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise CommandError(f"--out {path}: {parent} is a file, not a folder")
    return path


def cmd_demo(args) -> int:
    # imported here: matplotlib and the references' libraries are not needed by `list` or `fit`
    from benchmarks.tutorial import demo_rows
    from reports import figures
    from reports.output import new_folder

    out = _new_path(Path(args.out), args.force) if args.out else None  # before the fits
    ds, rows = demo_rows(args.data_dir)
    print(f"Advertising (Sales ~ TV, min-max scaled, n = {len(ds.y)}), every registered kernel:")
    print(f"{'kernel':<22} {'intercept':>17} {'slope':>17} {'|diff| vs statsmodels':>22} {'time':>10}  options")
    for r in rows:
        opts = ", ".join(f"{k}={v}" for k, v in r["options"].items()) or "-"
        print(f"{r['kernel']:<22} {r['intercept']:>17.14f} {r['slope']:>17.14f} {r['diff']:>22.2e} "
              f"{r['seconds'] * 1e3:>8.2f}ms  {opts}")
    lazy = sorted(k["name"] for k in available() if k["lazy"])
    if lazy:
        print(f"left out (for data beyond memory, see README \"Beyond one machine's memory\"): {', '.join(lazy)}")
    if UNAVAILABLE:
        print("not available here: " + "; ".join(f"{b} ({why})" for b, why in sorted(UNAVAILABLE.items())))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    else:
        out = new_folder(Path("reports/out/demo")) / "advertising.png"
    figures.save(figures.advertising(ds.X[:, 0], ds.y, rows), _new_path(out, args.force))
    print(f"figure: {out}")
    return 0


def cmd_fit(args) -> int:
    X, y, names, target = datasets.read_csv_columns(args.csv, columns=args.x, target=args.y)
    if args.scale:
        X, y = datasets.minmax(X, names), datasets.minmax(y, [target])
    opts = {k: v for k, v in (("learning_rate", args.learning_rate), ("epochs", args.epochs),
                               ("batch_size", args.batch_size), ("seed", args.seed), ("tol", args.tol),
                               ("dtype", args.dtype), ("scheduler", args.scheduler)) if v is not None}
    r = fit(X, y, kernel=args.kernel, fit_intercept=not args.no_intercept, **opts)
    print(f"{args.kernel} on {args.csv}: {target} ~ {' + '.join(names)} (n = {len(y)})")
    if not args.no_intercept:
        print(f"  intercept  {r.intercept:.15g}")
    for name, c in zip(names, r.coef):
        print(f"  {name:<10} {c:.15g}")
    if r.n_iter is not None:
        print(f"  epochs {r.n_iter}, final loss {r.loss_history[-1]:.6g}")
    if r.digits is not None:
        print(f"  about {r.digits:.1f} digits can be vouched for (condition number {r.cond:.3g})")
    return 0


def _count(text: str) -> int:
    """A row count such as 1e9 or 1000000, which must be a whole positive number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 1 and value == int(value)):
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1: {text!r}")
    return int(value)


def cmd_make_data(args) -> int:
    from kernels import chunked_data, cluster

    try:
        path = chunked_data.write_dataset(args.dir, rows=args.rows, features=args.features, seed=args.seed,
                                          chunk_rows=args.chunk_rows, client=cluster.get_client(args.scheduler))
    finally:
        cluster.close()  # before interpreter exit, so no worker outlives its scheduler
    print(f"dataset: {path} ({args.rows:,} rows, {args.features} feature(s), seed {args.seed}); "
          f"open it with kernels.chunked_data.open_chunked({str(path)!r})")
    return 0


def cmd_list(args) -> int:
    for k in available():
        tag = " (reference)" if k["reference"] else ""
        print(f"{k['name']:<24} {k['device']:<5} {'/'.join(k['dtypes']):<16} {k['description']}{tag}")
    for b, why in sorted(UNAVAILABLE.items()):
        print(f"[not available] {b}: {why}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lrbench", description=__doc__)
    p.add_argument("--data-dir", help="where Advertising.csv and nist/ are (default: $LRBENCH_DATA_DIR or data/)")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="the tutorial's comparison: every kernel on Advertising, a table and a figure")
    d.add_argument("--out", help="PNG path for the figure (default: reports/out/demo/<UTC time>/advertising.png)")
    d.add_argument("--force", action="store_true", help="replace --out if it exists")
    d.set_defaults(func=cmd_demo)
    f = sub.add_parser("fit", help="fit columns of a CSV file with one kernel")
    f.add_argument("csv")
    f.add_argument("--x", nargs="+", help="feature columns (default: every column but the target)")
    f.add_argument("--y", help="target column (default: the last column)")
    f.add_argument("--kernel", default="ols/numpy")
    f.add_argument("--no-intercept", action="store_true")
    f.add_argument("--scale", action="store_true", help="min-max scale every column first, as the tutorial did")
    f.add_argument("--learning-rate", type=float)
    f.add_argument("--epochs", type=int)
    f.add_argument("--batch-size", type=int)
    f.add_argument("--seed", type=int)
    f.add_argument("--tol", type=float)
    f.add_argument("--dtype", choices=("float64", "float32"))
    f.add_argument("--scheduler", help="dask kernels: a Dask scheduler address, tcp://host:8786 "
                                       "(default: $LRBENCH_SCHEDULER, else a local cluster)")
    f.set_defaults(func=cmd_fit)
    md = sub.add_parser("make-data", help="write a seeded synthetic dataset to disk in row chunks (for dask kernels)")
    md.add_argument("dir", help="a new directory (an existing non-empty one is refused)")
    md.add_argument("--rows", type=_count, required=True, help="rows, e.g. 1e9")
    md.add_argument("--features", type=_count, default=1)
    md.add_argument("--seed", type=int, default=0)
    md.add_argument("--chunk-rows", type=_count, default=1 << 22, help="rows per chunk file (default 4194304)")
    md.add_argument("--scheduler", help="write on this Dask cluster (default: $LRBENCH_SCHEDULER, else local)")
    md.set_defaults(func=cmd_make_data)
    ls = sub.add_parser("list", help="the registered kernels, and the backends not available here and why")
    ls.set_defaults(func=cmd_list)
    rp = sub.add_parser("report", add_help=False,
                        help="asv results JSON in, one HTML page out (python -m reports; --help for its options)")
    rp.set_defaults(func=None)
    gt = sub.add_parser("gate", add_help=False,
                        help="the performance gate: HEAD against a base commit with asv (--help for its options)")
    gt.set_defaults(func=None)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["report"]:  # the report generator has its own options: hand them over untouched
        from reports.__main__ import main as report_main
        return report_main(argv[1:])
    if argv[:1] == ["gate"]:
        from .gate import main as gate_main
        return gate_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.data_dir:
        os.environ["LRBENCH_DATA_DIR"] = args.data_dir
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            return args.func(args)
    except (KernelError, CommandError) as exc:
        return _refuse(exc)
    except OSError as exc:  # a file or folder it cannot read or write: the system's reason, in one line
        return _refuse(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else exc)
    except MemoryError:
        return _refuse("out of memory: the data (or the kernel's working copies) do not fit; use fewer rows")
    except KeyboardInterrupt:
        print("lrbench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _refuse(exc) -> int:
    print(f"lrbench: error: {' '.join(str(exc).split())}", file=sys.stderr)
    return EXIT_REFUSED


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (AccuracyWarning) as one line on stderr, not Python's two with a source line."""
    print(f"lrbench: warning: {' '.join(str(message).split())}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
