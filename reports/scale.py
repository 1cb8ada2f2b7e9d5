"""The scale section (benchmarks/bench_scale.py, LRBENCH_PROFILE=scale): the Dask kernels on datasets on disk
against the same files' Dask read floor and raw sequential read, their references, Dask's per-task overhead,
peak memory per worker, cluster start-up, one worker against every core's; and the Dask kernels in memory.
Shown only when the run has such results. Every ratio divides two timings of the same run."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from . import analysis as A  # noqa: E402
from .figures import FLOOR_STYLE, Styles, _loglog  # noqa: E402
from .html import Cell, esc, p, table  # noqa: E402
from .results import Run, ok  # noqa: E402

OOC = "bench_scale.OutOfCore.time_fit"  # kernel, n, d, workers: one fit (ols), one epoch (gd, minibatch)
PEAK = "bench_scale.OutOfCore.track_worker_peak_mb"
READ = "bench_scale.DaskReadFloor.time_read"  # n, d, workers
VS_MEMORY = "bench_scale.DaskReadFloor.track_dataset_vs_memory"
DROPPED = "bench_scale.DaskReadFloor.track_page_cache_dropped"
RAW = "bench_scale.RawRead.time_read_files"  # n, d
EMPTY = "bench_scale.TaskOverhead.time_empty_pass"
CHUNKS = "bench_scale.TaskOverhead.track_chunks"
START = "bench_scale.ClusterStart.time_start"  # workers
MEASURES = (OOC, PEAK, READ, RAW, EMPTY, START)
REFERENCES = ("ols/dask-lstsq", "ols/dask-ml")
MEMORY_BASELINE = "ols/numba-parallel"  # the single-process kernel the Dask one is held against in memory
RAW_STYLE = {"color": "dimgrey", "lw": 1.6, "ls": ":", "marker": "s", "ms": 4}


def has_scale(run: Run) -> bool:
    """Whether the run measured anything of bench_scale (the scale profile)."""
    return any(ok(v) for b in MEASURES for v in run.values.get(b, {}).values())


def datasets(run: Run) -> list[tuple[int, int]]:
    """(n, d) of the out-of-core datasets the run measured something on."""
    found = {(r["n"], r["d"]) for b in (OOC, READ, RAW) for r in run.records(b) if ok(r["value"])}
    return sorted(found, key=lambda nd: (nd[1], nd[0]))


def worker_counts(run: Run) -> list[int]:
    return sorted({r["workers"] for b in (OOC, READ, START) for r in run.records(b) if ok(r["value"])})


def dask_kernels(run: Run) -> list[str]:
    return A.kernels(run, OOC)


def cache_state(run: Run, n: int, d: int) -> str:
    """Where the out-of-core reads came from, as the benchmark recorded it."""
    ws = worker_counts(run)
    dropped = [run.value(DROPPED, n, d, w) for w in ws]
    ratio = next((v for v in (run.value(VS_MEMORY, n, d, w) for w in ws) if v is not None), None)
    size = f"{ratio:.2g}× the memory available" if ratio is not None else "size against memory not recorded"
    if any(dropped):
        return f"page cache dropped before every sample ({size})"
    if ratio is not None and ratio > 1:
        return f"larger than memory ({size}): the page cache cannot hold it, reads come from the disk"
    if ratio is None and not any(v is not None for v in dropped):
        return "whether reads came from the disk was not recorded"
    return (f"page cache NOT dropped and the data fit in it ({size}): reads may come from memory, so these are "
            "not disk figures (LRBENCH_DROP_CACHES=1 drops it)")


def gbps(n: int, d: int, seconds: float | None) -> str:
    return f"{A.input_bytes(n, d) / seconds / 1e9:.3g}" if seconds else "—"


def ratio_cell(num: float | None, den: float | None, better_above_one: bool | None = None) -> Cell:
    if num is None or not den:
        return Cell("—", "muted")
    r = num / den
    cls = "" if better_above_one is None else ("better" if (r > 1) == better_above_one else "worse")
    return Cell(f"{r:.3g}×", cls)


def time_figure(run: Run):
    """Seconds against n, log-log, one panel per d: each Dask kernel on every core's workers (in memory from
    bench_time's Fit, out of core from OutOfCore), the Dask read floor and the raw read of the same files."""
    ks = sorted(set(dask_kernels(run)) | {k for k in A.kernels(run) if A.backend(k).startswith("dask")})
    ds = sorted({d for _, d in datasets(run)})
    if not ks or not ds:
        return None
    w = max(worker_counts(run))
    styles = Styles(run, ks)
    fig, axes = plt.subplots(1, len(ds), figsize=(6.2 * len(ds), 4.6), squeeze=False, constrained_layout=True)
    for ax, d in zip(axes[0], ds):
        disk = sorted(n for n, dd in datasets(run) if dd == d)
        mem = sorted(n for n in A.params_of(run, A.FIT, "n") if any(A.fit_time(run, k, n, d) for k in ks))
        for k in ks:
            pts = [(n, A.fit_time(run, k, n, d)) for n in mem] + [(n, run.value(OOC, k, n, d, w)) for n in disk]
            pts = [(n, t) for n, t in pts if t is not None]
            if pts:
                ax.plot(*zip(*pts), label=styles.label(k), **styles(k))
        for label, pts, style in (
                ("Dask read floor (the files, same tree)", [(n, run.value(READ, n, d, w)) for n in disk], FLOOR_STYLE),
                ("raw sequential read of the files", [(n, run.value(RAW, n, d)) for n in disk], RAW_STYLE),
                ("read floor in memory (bench_time)", [(n, A.floor_time(run, n, d)) for n in mem],
                 dict(FLOOR_STYLE, color="tab:grey"))):
            pts = [(n, t) for n, t in pts if t is not None]
            if pts:
                ax.plot(*zip(*pts), label=label, **style)
        ax.set_title(f"d = {d}, {w} worker(s)")
        _loglog(ax, "n (rows)", "time (s per fit; gd, minibatch per epoch)")
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle("Dask kernels against n: in memory, then out of core", fontsize=13)
    return fig


def out_of_core_table(run: Run, n: int, d: int) -> str:
    """One row per kernel and worker count: time, GB/s, multiples of the floors, speed-ups, peak per worker."""
    ws = worker_counts(run)
    chunks = next((v for v in (run.value(CHUNKS, n, d, w) for w in ws) if v), None)
    chunk_mb = A.input_bytes(n, d) / chunks / 2 ** 20 if chunks else None
    raw = run.value(RAW, n, d)
    rows = [["raw sequential read (this process, no Dask)", "—", A.human_seconds(raw), gbps(n, d, raw), "", "",
             "", "", "", "", ""]]
    for w in ws:
        floor = run.value(READ, n, d, w)
        rows.append(["Dask read floor", w, A.human_seconds(floor), gbps(n, d, floor), "1×",
                     ratio_cell(floor, raw), ratio_cell(run.value(READ, n, d, ws[0]), floor), "", "", "", ""])
    for k in dask_kernels(run):
        for w in ws:
            measured = run.values.get(OOC, {})
            if (k, n, d, w) not in measured:
                continue  # not in this run at all
            t = run.value(OOC, k, n, d, w)
            took = A.human_seconds(t) if t is not None else \
                Cell("failed" if measured[(k, n, d, w)] is None else "skipped", "muted")
            peak = run.value(PEAK, k, n, d, w)
            refs = [ratio_cell(run.value(OOC, ref, n, d, w), t, True) if A.algorithm(k) == "ols" and k != ref
                    else Cell("", "muted") for ref in REFERENCES]
            rows.append([k, w, took, gbps(n, d, t),
                         ratio_cell(t, run.value(READ, n, d, w)), ratio_cell(t, raw),
                         ratio_cell(run.value(OOC, k, n, d, ws[0]), t), *refs,
                         f"{peak:.0f}" if peak else "—",
                         f"{peak / chunk_mb:.2g}" if peak and chunk_mb else "—"])
    head = ["", "workers", "time", "GB/s", "× Dask read floor", "× raw read", f"speed-up on it over {ws[0]} worker",
            *(f"speed-up over {r}" for r in REFERENCES), "peak MB per worker", "peak / chunk size"]
    return table(head, rows, name_cols=2)


def overhead_table(run: Run) -> str:
    rows = []
    for n, d in datasets(run):
        for w in worker_counts(run):
            empty, chunks, fit = run.value(EMPTY, n, d, w), run.value(CHUNKS, n, d, w), run.value(OOC, "ols/dask",
                                                                                                   n, d, w)
            if empty is None:
                continue
            rows.append([A.human_n(n), d, w, A.human_seconds(empty), f"{chunks:.0f}" if chunks else "—",
                         A.human_seconds(empty / chunks) if chunks else "—",
                         f"{100 * empty / fit:.2g} %" if fit else "—"])
    if not rows:
        return p("No pass of empty tasks in this run.", "note")
    return table(["n", "d", "workers", "empty pass", "chunks", "per chunk", "of ols/dask's time"], rows, name_cols=3)


def in_memory_table(run: Run) -> str:
    """The Dask kernels in bench_time's Fit (data in memory): against the read floor, ols/numba-parallel and
    the references, same n and d."""
    ks = [k for k in A.kernels(run) if A.backend(k).startswith("dask")]
    rows = []
    for d in sorted(x for x in A.params_of(run, A.FIT, "d") if isinstance(x, int)):
        for n in sorted(A.params_of(run, A.FIT, "n")):
            for k in ks:
                t = A.fit_time(run, k, n, d)
                if t is None or A.is_reference(run, k):
                    continue
                base = A.fit_time(run, MEMORY_BASELINE, n, d) if A.algorithm(k) == "ols" else None
                refs = [ratio_cell(A.fit_time(run, r, n, d), t, True) if A.algorithm(k) == "ols" else Cell("", "muted")
                        for r in REFERENCES]
                rows.append([k, A.human_n(n), d, A.human_seconds(t), ratio_cell(t, A.floor_time(run, n, d)),
                             ratio_cell(t, base), *refs])
    if not rows:
        return p("No Dask kernel ran in memory in this run.", "note")
    return table(["kernel", "n", "d", "time (gd per epoch)", "× read floor", f"× {MEMORY_BASELINE}",
                  *(f"speed-up over {r}" for r in REFERENCES)], rows, name_cols=3)


def scale_section(report) -> str:
    """The section's HTML; `report` supplies _figure (the PNG store of the page)."""
    run = report.run
    html = report._figure(time_figure(run), "scale_time_vs_n.png", "Dask kernels: time against n",
                          "Each Dask kernel's time against n, log-log, on the local cluster's every-core workers: "
                          "in memory (bench_time's Fit), then out of core (datasets on disk, opened lazily). "
                          "Dashed black: one Dask pass that only reads and sums each chunk of the same files "
                          "(the same tasks and tree); dotted: this process reading the files sequentially.")
    cpu = run.machine.get("cpu", "?")
    html += p(f"CPU: {cpu}; {run.machine.get('num_cpu', '?')} cores; RAM {run.machine.get('ram', '?')} (asv's "
              "machine record). Time as a multiple of a floor: at 1× the kernel costs one read of the data; "
              "GB/s = the dataset's bytes (X and y, float64) over the time. Speed-ups over the references: their "
              "time over the kernel's, same files and workers; — where a reference did not run (dask.array's "
              "lstsq is skipped when its Q, the size of X, would not fit in half the memory available).")
    for n, d in datasets(run):
        html += f"<h3>{esc(A.human_n(n))} rows, d = {d}: {esc(A.human_bytes(A.input_bytes(n, d)))} on disk</h3>"
        html += p("Reads: " + cache_state(run, n, d) + ".") + out_of_core_table(run, n, d)
    html += "<h3>Dask's own cost: a pass of empty tasks</h3>" + p(
        "The dataset's chunk structure with no data: one empty task per chunk, tree-reduced, on the same cluster. "
        "Its time over the chunk count is the scheduler's cost per task.") + overhead_table(run)
    starts = [(w, run.value(START, w)) for w in A.params_of(run, START, "workers")]
    starts = [(w, t) for w, t in starts if t is not None]
    html += "<h3>Cluster start-up</h3>" + (table(["workers", "start-up (LocalCluster and client)"],
                                                 [[w, A.human_seconds(t)] for w, t in starts]) + p(
        "Timed apart from every fit, like JIT compilation: a fit on a running cluster does not pay it.")
        if starts else p("Cluster start-up was not measured in this run.", "note"))
    html += "<h3>In memory</h3>" + in_memory_table(run)
    return html
