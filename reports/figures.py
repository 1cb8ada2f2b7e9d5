"""The report's figures (matplotlib, Agg): each function takes a Run and returns a Figure, or None without data."""
from __future__ import annotations

import math

import matplotlib
import matplotlib.text
import matplotlib.transforms

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import LogLocator  # noqa: E402

from . import analysis as A  # noqa: E402
from .results import Run, ok  # noqa: E402

# Sized for the page: a four-panel figure (about 16 in at 100 dpi) is shown about 1,250 px wide.
plt.rcParams.update({"font.size": 10.5, "axes.titlesize": 11.5, "axes.labelsize": 10.5, "legend.fontsize": 9,
                     "xtick.labelsize": 9.5, "ytick.labelsize": 9.5, "figure.dpi": 100, "savefig.dpi": 100})

_MARKERS = "osD^v<>ph*XP"
_PALETTE = [plt.get_cmap("tab20")(i) for i in range(0, 20, 2)] + [plt.get_cmap("tab20")(i) for i in range(1, 20, 2)]
FLOOR_STYLE = {"color": "black", "lw": 2.2, "ls": (0, (4, 2)), "alpha": 0.75}
MIN_BYTES = 4096  # one page: a peak below it reads as "no extra memory" on a log axis


class Styles:
    """One colour and marker per backend, the same in every figure; references drawn dashed and labelled."""

    def __init__(self, run: Run | None, kernels: list[str]):
        backends = sorted({A.backend(k) for k in kernels})
        self.color = {b: _PALETTE[i % len(_PALETTE)] for i, b in enumerate(backends)}
        self.marker = {b: _MARKERS[i % len(_MARKERS)] for i, b in enumerate(backends)}
        self.references = {k for k in kernels if A.is_reference(run, k)}

    def __call__(self, kernel: str) -> dict:
        b = A.backend(kernel)
        ref = kernel in self.references
        return {"color": self.color.get(b, "grey"), "marker": self.marker.get(b, "o"), "ms": 4.5,
                "ls": "--" if ref else "-", "lw": 1.4, "mfc": "white" if ref else None}

    def label(self, kernel: str) -> str:
        return kernel + ("  (reference)" if kernel in self.references else "")


def _loglog(ax, xlabel: str, ylabel: str) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, numticks=12))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.1)


def time_vs_n(run: Run) -> plt.Figure | None:
    """Seconds per fit (per epoch for gradient descent) against n, log-log: a panel per algorithm and d."""
    ks = A.kernels(run)
    if not ks:
        return None
    styles = Styles(run, ks)
    algos = [a for a in A.ALGORITHMS if any(A.algorithm(k) == a for k in ks)]
    ds = [d for d in sorted(A.params_of(run, A.FIT, "d")) if any(
        run.value(A.FIT, k, n, d) is not None for k in ks for n in A.params_of(run, A.FIT, "n"))]
    sizes = sorted(A.params_of(run, A.FIT, "n"))
    fig, axes = plt.subplots(len(ds), len(algos), figsize=(4.1 * len(algos), 3.3 * len(ds) + 1.9),
                             squeeze=False, constrained_layout=True)
    for i, d in enumerate(ds):
        floor = [(n, A.floor_time(run, n, d)) for n in sizes]
        floor = [(n, t) for n, t in floor if t is not None]
        for j, algo in enumerate(algos):
            ax = axes[i][j]
            for k in (k for k in ks if A.algorithm(k) == algo):
                pts = [(n, A.fit_time(run, k, n, d)) for n in sizes]
                pts = [(n, t) for n, t in pts if t is not None]
                if pts:
                    ax.plot(*zip(*pts), label=styles.label(k), **styles(k))
            if floor:
                ax.plot(*zip(*floor), label="read floor (one pass over X, y)", **FLOOR_STYLE)
            per = "s per epoch" if algo in A.ITERATIVE else "s per fit"
            ax.set_title(f"{algo}  (d = {d})")
            _loglog(ax, "n (rows)", f"time ({per})")
        # one legend per column, under its last panel: the kernels are the same in every row
    for j, algo in enumerate(algos):
        handles, labels = [], []
        for i in range(len(ds)):
            for h, l in zip(*axes[i][j].get_legend_handles_labels()):
                if l not in labels:
                    handles.append(h)
                    labels.append(l)
        axes[-1][j].legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1,
                           frameon=False)
    fig.suptitle("Time against data size (log-log); gradient descent per epoch; dashed black: the read floor",
                 fontsize=13)
    return fig


def memory(run: Run) -> plt.Figure | None:
    """Extra peak memory of one fit against the input's size, log-log, one panel per algorithm."""
    recs = [r for r in run.records(A.MEMORY) if ok(r["value"]) and "/" in str(r.get("kernel"))]
    if not recs:
        return None
    ks = A.kernels(run, A.MEMORY)
    styles = Styles(run, A.kernels(run) or ks)
    algos = [a for a in A.ALGORITHMS if any(A.algorithm(k) == a for k in ks)]
    fig, axes = plt.subplots(1, len(algos), figsize=(4.1 * len(algos), 6.4), squeeze=False,
                             constrained_layout=True)
    d = A.memory_features(run)  # without the run record the input's width is unknown: draw against n

    def size(n):
        return A.input_bytes(n, d) if d else n

    sizes = sorted({size(r["n"]) for r in recs})
    for j, algo in enumerate(algos):
        ax = axes[0][j]
        for k in (k for k in ks if A.algorithm(k) == algo):
            pts = sorted((size(r["n"]), max(r["value"] * size(r["n"]), MIN_BYTES) if d else max(r["value"], 1e-3))
                         for r in recs if r["kernel"] == k)
            if pts:
                ax.plot(*zip(*pts), label=styles.label(k), **styles(k))
        xs = np.array([min(sizes) / 1.5, max(sizes) * 1.5])
        for mult, ls in ((1.0, ":"), (0.1, (0, (1, 4)))):
            ax.plot(xs, mult * xs if d else mult + 0 * xs, color="grey", ls=ls, lw=1, label=f"{mult:g} × input")
        ax.set_title(f"{algo}  (d = {d or '? (no run record)'})")
        if d:
            _loglog(ax, "input size: X and y (bytes)", "extra peak memory (bytes)")
            ax.axhline(MIN_BYTES, color="grey", lw=0.6, alpha=0.5)
        else:
            _loglog(ax, "rows n", "extra peak memory (multiple of the input)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    fig.suptitle("Peak memory one fit adds beyond its input (RSS high-water mark; at most 4 KiB drawn at 4 KiB)",
                 fontsize=13)
    return fig


def lre_heatmap(run: Run, ceilings: dict | None = None) -> plt.Figure | None:
    """Kernels x NIST problems, coloured by LRE (0-15 digits); grey cells: the kernel refused the problem."""
    recs = run.records(A.LRE)
    ks = [k for k in A.kernels(run, A.LRE)]
    problems = [p for p in A.params_of(run, A.LRE, "problem") if not str(p).startswith("(")]
    if not ks or not problems:
        return None
    rows = list(ks)
    grid = np.full((len(rows) + (1 if ceilings else 0), len(problems)), np.nan)
    for r in recs:
        if r.get("kernel") in ks and r.get("problem") in problems and ok(r["value"]):
            grid[rows.index(r["kernel"]), problems.index(r["problem"])] = r["value"]
    if ceilings:
        rows.append("ceiling: exact solution of the float64 input")
        for j, p in enumerate(problems):
            c = ceilings.get(p, {}).get("float64")
            if c is not None:
                grid[-1, j] = c
    fig, ax = plt.subplots(figsize=(1.0 * len(problems) + 4.2, 0.36 * len(rows) + 1.8), constrained_layout=True)
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad("#d9d9d9")
    im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=15, aspect="auto")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            v = grid[i, j]
            ax.text(j, i, "refused" if np.isnan(v) else f"{v:.1f}", ha="center", va="center", fontsize=7.5,
                    color="black" if np.isnan(v) or v > 9 else "white")
    ax.set_xticks(range(len(problems)), [str(p) for p in problems], rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    if ceilings:
        ax.axhline(len(rows) - 1.5, color="white", lw=3)
    fig.colorbar(im, ax=ax, label="LRE: correct digits (0-15)", shrink=0.9)
    ax.set_title("Log relative error against NIST's certified values (worst coefficient)")
    return fig


def coef_error(run: Run) -> plt.Figure | None:
    """Relative coefficient error against statsmodels, log scale, one bar per kernel and case."""
    recs = [r for r in run.records(A.COEF) if ok(r["value"])]
    if not recs:
        return None
    ks = A.kernels(run, A.COEF)
    cases = A.params_of(run, A.COEF, "case")
    fig, ax = plt.subplots(figsize=(8.5, 0.38 * len(ks) * max(1, len(cases)) / 1.6 + 1.6), constrained_layout=True)
    h = 0.8 / max(1, len(cases))
    for c, case in enumerate(cases):
        vals = [run.value(A.COEF, k, case) for k in ks]
        ys = np.arange(len(ks)) + (c - (len(cases) - 1) / 2) * h
        ax.barh(ys, [max(v, 1e-17) if v is not None else np.nan for v in vals], height=h,
                color=_PALETTE[c], label=str(case))
    ax.set_xscale("log")
    ax.set_yticks(range(len(ks)), ks)
    ax.invert_yaxis()
    ax.set_xlabel("max |β − β_statsmodels| / max |β_statsmodels|  (log scale; statsmodels is a reference, not the truth)")
    ax.grid(True, axis="x", alpha=0.35)
    ax.legend(title="synthetic data, d = 10", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("Coefficient error against statsmodels")
    return fig


def speed_accuracy(run: Run, n: int, d: int) -> tuple[plt.Figure | None, dict]:
    """Time against accuracy at one size: OLS (mean NIST LRE) and gradient descent (digits of agreement with
    OLS after the fixed epochs); the Pareto front marked. Returns the figure and {panel: front names}."""
    panels = []
    ols = []
    for k in A.kernels(run):
        if A.algorithm(k) != "ols":
            continue
        t, (acc, _, total) = A.fit_time(run, k, n, d), A.mean_lre(run, k)
        if t is not None and acc is not None:
            ols.append((k, t, acc))
    if ols:
        panels.append(("OLS: mean LRE over the NIST problems (a refusal counts 0)", "s per fit", ols))
    it = []
    for k in A.kernels(run):
        if A.algorithm(k) not in A.ITERATIVE:
            continue
        t = A.fit_time(run, k, n, d)
        dist = run.value(A.DISTANCE, k, d)
        if t is not None and dist is not None:
            it.append((k, t, -math.log10(max(dist, 1e-16))))
    if it:
        e = A.epochs(run)
        panels.append((f"gradient descent: −log10 distance from OLS after {e} epochs", "s per epoch", it))
    if not panels:
        return None, {}
    styles = Styles(run, A.kernels(run))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.6 * len(panels), 5.4), squeeze=False, constrained_layout=True)
    fronts = {}
    for ax, (ylabel, unit, pts) in zip(axes[0], panels):
        front = A.pareto(pts)
        fronts[ylabel] = sorted(front)
        for k, t, a in pts:
            st = styles(k)
            ax.scatter([t], [a], s=70 if k in front else 34, color=st["color"], marker=st["marker"],
                       edgecolors="black" if k in front else "none", linewidths=1.2, zorder=3)
        fp = sorted((t, a) for k, t, a in pts if k in front)
        if len(fp) > 1:
            ax.step(*zip(*fp), where="post", color="black", lw=1, alpha=0.6, zorder=2, label="Pareto front")
        ax.set_xscale("log")
        ax.set_xlabel(f"time ({unit}, n = {A.human_n(n)}, d = {d}; log scale)")
        ax.set_ylabel(ylabel.split(": ", 1)[1])
        ax.set_title(ylabel.split(": ", 1)[0] + "  (black-edged: on the Pareto front)")
        ax.grid(True, alpha=0.3)
        ax.margins(x=0.3, y=0.22)
    # Labels are placed in display coordinates: fix the layout first, so nothing moves after placement.
    fig.canvas.draw()
    fig.set_layout_engine("none")
    for ax, (_, _, pts) in zip(axes[0], panels):
        ax.set_xlim(ax.get_xlim())
        ax.set_ylim(ax.get_ylim())
        _place_labels(ax, [(t, a, k) for k, t, a in pts])
    return fig, fronts


def _place_labels(ax, points: list[tuple[float, float, str]]) -> None:
    """Label each point at the nearest offset (growing rings, 8 directions) where the label overlaps no
    other label or point and stays inside the axes; far labels get a leader line."""
    renderer = ax.figure.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    pts_disp = [tuple(ax.transData.transform((x, y))) for x, y, _ in points]
    dots = [matplotlib.transforms.Bbox.from_extents(qx - 5, qy - 5, qx + 5, qy + 5) for qx, qy in pts_disp]
    placed = []
    dirs = [(1, 0.4), (1, -1), (-1, 0.4), (-1, -1), (0.2, 1.4), (0.2, -2), (1, 1.4), (-1, 1.4), (1, -2), (-1, -2)]
    offsets = [(dx * r, dy * r) for r in (7, 16, 28, 42, 58, 76, 96) for dx, dy in dirs]
    for i, (x, y, text) in enumerate(points):
        chosen = None
        # first inside the axes; if the neighbourhood is full, anywhere free (the saved figure grows to fit)
        for must_be_inside in (True, False):
            for dx, dy in offsets:
                t = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7,
                                ha="left" if dx >= 0 else "right", va="bottom" if dy >= 0 else "top",
                                annotation_clip=False,
                                arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "grey"}
                                if abs(dx) + abs(dy) > 12 else None)
                t.get_window_extent(renderer)  # lays the annotation out; the box tested is the text's alone,
                bb = matplotlib.text.Text.get_window_extent(t, renderer).expanded(1.04, 1.15)  # not its leader line
                clash = any(bb.overlaps(o) for o in placed) or any(
                    bb.overlaps(dt) for j, dt in enumerate(dots) if j != i)
                inside = box.contains(bb.x0, bb.y0) and box.contains(bb.x1, bb.y1)
                if not clash and (inside or not must_be_inside):
                    chosen = bb
                    break
                t.remove()
            if chosen is not None:
                break
        if chosen is None:  # nowhere free at all: the first offset, accepted
            t = ax.annotate(text, (x, y), xytext=offsets[0], textcoords="offset points", fontsize=7)
            chosen = t.get_window_extent(renderer)
        placed.append(chosen)


def loss_curves(run: Run) -> plt.Figure | None:
    """Excess loss (MSE over the least-squares MSE, relative) per epoch, log y, a panel per algorithm."""
    recs = [r for r in run.records(A.LOSS) if ok(r["value"]) and "/" in str(r.get("kernel"))]
    if not recs:
        return None
    ks = A.kernels(run, A.LOSS)
    styles = Styles(run, A.kernels(run) or ks)
    algos = [a for a in A.ITERATIVE if any(A.algorithm(k) == a for k in ks)]
    fig, axes = plt.subplots(1, len(algos), figsize=(4.4 * len(algos), 5.0), squeeze=False, constrained_layout=True)
    for ax, algo in zip(axes[0], algos):
        for i, k in enumerate(k for k in ks if A.algorithm(k) == algo):
            pts = sorted((int(r["epoch"]), max(r["value"], 1e-16)) for r in recs if r["kernel"] == k)
            st = styles(k)
            st["ms"] = 7 - 0.8 * i  # coinciding curves stay visible: each drawn with a smaller marker
            ax.plot(*zip(*pts), label=styles.label(k), **st)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("(MSE − MSE_OLS) / MSE_OLS  (log scale)")
        ax.set_title(algo)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    fig.suptitle("Gradient descent: excess loss after each epoch (one backend per line; overlapping lines agree)",
                 fontsize=13)
    return fig


def condition_sweep(run: Run, rows: list[dict]) -> plt.Figure | None:
    """LRE against condition number per OLS kernel (float64), one panel per problem family."""
    rows = [r for r in rows if r.get("dtype", "float64") == "float64"]
    if not rows:
        return None
    families = list(dict.fromkeys(r["family"] for r in rows))
    ks = sorted({r["kernel"] for r in rows})
    styles = Styles(run, ks)
    fig, axes = plt.subplots(1, len(families), figsize=(4.4 * len(families), 5.2), squeeze=False,
                             constrained_layout=True)
    for ax, fam in zip(axes[0], families):
        for k in ks:
            pts = sorted((r["cond"], r["lre"] if r["lre"] is not None else 0.0) for r in rows
                         if r["family"] == fam and r["kernel"] == k and math.isfinite(r["cond"]))
            if pts:
                ax.plot(*zip(*pts), label=styles.label(k), **styles(k))
        ax.set_xscale("log")
        ax.set_ylim(-0.5, 16)
        ax.set_xlabel("condition number of the scaled design (log scale)")
        ax.set_ylabel("LRE against the exact solution (digits)")
        ax.set_title(f"family: {fam}")
        ax.grid(True, alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)), frameon=False)
    fig.suptitle("Accuracy against condition number (float64; a refused fit drawn at 0)", fontsize=13)
    return fig


def advertising(x: list[float], y: list[float], rows: list[dict]) -> plt.Figure:
    """The tutorial's figure: scaled TV against scaled Sales, the points and the fitted lines (OLS, and gd)."""
    ols = next((r for r in rows if r["kernel"] == "ols/numpy"), rows[0])
    gd = next((r for r in rows if r["kernel"].startswith("gd/")), None)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ax.scatter(x, y, s=14, alpha=0.6, label=f"Advertising: {len(x)} markets")
    xs = np.linspace(0, 1, 2)
    ax.plot(xs, ols["intercept"] + ols["slope"] * xs, lw=2.5, color="C1",
            label=f"{ols['kernel']}: Sales = {ols['intercept']:.4f} + {ols['slope']:.4f} TV")
    if gd:
        ax.plot(xs, gd["intercept"] + gd["slope"] * xs, lw=1.2, ls="--", color="k",
                label=f"{gd['kernel']} after {gd['n_iter']} epochs")
    ax.set_xlabel("TV advertising (min-max scaled)")
    ax.set_ylabel("Sales (min-max scaled)")
    ax.set_title("Sales against TV: the closed form and gradient descent agree")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def save(fig: plt.Figure, path) -> None:
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
