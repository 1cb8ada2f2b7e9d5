"""Assemble the report: sections of figures and tables from one Run (and an optional baseline Run)."""
from __future__ import annotations

import io
import math
import traceback
from pathlib import Path

from . import analysis as A
from . import figures as F
from .call_cost import call_cost_section
from .compare import compare
from .html import Cell, esc, figure, heat, p, page, table, ul
from .recorded import RecordedSections
from .results import Run, ok
from .scale import has_scale, scale_section
from .targets import has_targets, targets_section

SPEED_SIZE = (10_000, 10)  # (n, d) of the speed-against-accuracy figure, when the run has it


class Report(RecordedSections):
    """Collects sections and the PNG files of one report."""

    def __init__(self, run: Run, baseline: Run | None = None, log=print):
        self.run, self.baseline, self.log = run, baseline, log
        self.pngs: dict[str, bytes] = {}
        self.sections: list[tuple[str, str, str]] = []

    # -- helpers ---------------------------------------------------------------------------------
    def _figure(self, fig, filename: str, alt: str, caption: str) -> str:
        if fig is None:
            return p(f"No data for this figure in {self.run.path}.", "note")
        buf = io.BytesIO()
        F.save(fig, buf)
        self.pngs[filename] = buf.getvalue()
        return figure(self.pngs[filename], alt, caption, filename)

    def _section(self, anchor: str, heading: str, build) -> None:
        self.log(f"  section: {heading}")
        try:
            body = build()
        except Exception as exc:  # one broken section must not lose the rest of the report; show it
            body = f'<div class="error">{esc(f"This section failed: {type(exc).__name__}: {exc}")}' \
                   f"<pre>{esc(traceback.format_exc(limit=4))}</pre></div>"
        self.sections.append((anchor, heading, body))

    # -- sections --------------------------------------------------------------------------------
    def summary(self) -> str:
        r = self.run
        total = sum(len(v) for v in r.values.values())
        measured = sum(ok(x) for v in r.values.values() for x in v.values())
        fails = A.failed(r)
        parts = [p(f"{total} benchmark cases: {measured} measured, {total - measured - len(fails)} skipped (a size "
                   f"a kernel does not run at in this profile, an unavailable backend, a problem a kernel refuses), "
                   f"{len(fails)} failed.")]
        if fails:
            parts.append('<div class="error">' + esc(f"{len(fails)} benchmark case(s) FAILED:") + ul(
                [f"{b}{tuple(p_)}" for b, p_ in fails[:40]]) + "</div>")
        e = A.epochs(r)
        parts.append(p(
            f"Gradient-descent kernels run a fixed {e or '?'} epochs (tol = 0) at a fixed stable learning rate; "
            "their times are shown per epoch. Times exclude data conversion and host-to-device transfer "
            "(timed apart, under 'Compilation and data preparation') and JIT compilation (warmed up in setup)."))
        return "".join(parts)

    def time_section(self) -> str:
        r = self.run
        html = self._figure(F.time_vs_n(r), "time_vs_n.png", "time against n, log-log",
                            "Each kernel's time against the number of rows, one panel per algorithm and number "
                            "of features d. The dashed black line is the read floor: one parallel pass over X "
                            "and y (benchmarks/floors.py); no kernel that reads all the data can go below it.")
        rows = []
        prof = A.profile_of(r)
        for k in A.kernels(r):
            for d in A.params_of(r, A.FIT, "d"):
                top, skipped = A.largest_run(r, k, d)
                if prof and d not in prof["features"]:  # the wide design: OLS only, large n only, by design
                    if A.algorithm(k) != "ols":
                        continue
                    skipped = [n for n in skipped if n >= prof["wide_min_rows"]]
                if skipped:
                    rows.append([k, d, A.human_n(top) if top else "none", ", ".join(A.human_n(n) for n in skipped)])
        if rows:
            budget = f"{prof['fit_budget_s']:g} s (profile {prof['name']})" if prof else "the profile's budget"
            html += "<h3>Where the slow kernels stop</h3>" + p(
                "A fit whose time, extrapolated from one-epoch fits on up to 200,000 rows, would exceed "
                f"{budget} is skipped "
                "(benchmarks/common.py), and so is a size whose data would not fit in the memory available. "
                "The pure-Python loops, and the per-row loops of the other backends, stop here:") + table(
                ["kernel", "d", "largest n run", "skipped n"], rows)
        return html

    def _ds(self) -> list[int]:
        """The d the speed tables show: every d each iterative algorithm ran at (1 and 10 in the profiles)."""
        ds = sorted(d for d in A.params_of(self.run, A.FIT, "d") if isinstance(d, int))
        common = [d for d in ds if all(
            any(self.run.value(A.FIT, k, n, d) is not None for n in A.params_of(self.run, A.FIT, "n"))
            for k in A.kernels(self.run) if A.algorithm(k) in A.ITERATIVE)]
        return common or ds[-1:]

    def speedup_section(self) -> str:
        sizes = sorted(A.params_of(self.run, A.FIT, "n"))
        return "".join(f"<h3>d = {d}</h3>" + self._speedups(d, sizes) for d in self._ds()) + \
            self._gram_tables(sizes)

    def _speedups(self, d: int, sizes: list[int]) -> str:
        r = self.run
        html = p(f"d = {d}. A cell is the reference's time divided by the kernel's at that n: above 1 the kernel "
                 "is faster (green), below 1 slower (red). Gradient descent per epoch.")
        for algo in A.ALGORITHMS:
            refs = A.references_for(r, algo)
            ks = [k for k in A.kernels(r) if A.algorithm(k) == algo]
            if not ks:
                continue
            if not refs:
                html += p(f"{algo}: no library reference is registered for this algorithm.", "note")
                continue
            for ref in refs:
                rows = []
                for k in ks:
                    if k == ref:
                        continue
                    row = [k]
                    for n in sizes:
                        t, tr = A.fit_time(r, k, n, d), A.fit_time(r, ref, n, d)
                        if t is None or tr is None or t <= 0:
                            row.append(Cell("—", "muted"))
                        else:
                            s = tr / t
                            row.append(Cell(f"{s:.3g}×", "better" if s > 1 else "worse"))
                    rows.append(row)
                html += f"<h4>{esc(algo)}: speed-up against {esc(ref)}</h4>" + table(
                    ["kernel"] + [f"n = {A.human_n(n)}" for n in sizes], rows)
        html += "<h4>Time as a multiple of the read floor</h4>" + p(
            f"d = {d}. 1× would mean the kernel costs one read of the data; gradient descent per epoch. At small "
            "n the floor is mostly the start of its parallel loop, so a serial kernel can come in below 1×. "
            "The floor is the CPU's: GPU kernels show — (their floor is the device's memory; "
            "scripts/gpu_check.py measures it).")
        rows = []
        for k in A.kernels(r):
            row = [k]
            for n in sizes:
                m = A.floor_multiple(r, k, n, d)
                gpu = A.on_device(r, k) and A.fit_time(r, k, n, d) is not None
                row.append(Cell(f"{m:.3g}×") if m is not None else
                           Cell("—", "muted", title="a GPU kernel: not comparable with the CPU floor" if gpu else ""))
            rows.append(row)
        floor_row = ["read floor (seconds)"] + [A.human_seconds(A.floor_time(r, n, d)) for n in sizes]
        html += table(["kernel"] + [f"n = {A.human_n(n)}" for n in sizes], [floor_row] + rows)
        return html

    def _gram_tables(self, sizes: list[int]) -> str:
        """OLS at d > 1 against XᵀX by BLAS, one table per d the run timed it at."""
        r = self.run
        ds = sorted(d for d in A.params_of(r, A.GRAM, "d") if any(r.value(A.GRAM, n, d) for n in sizes))
        ols = [k for k in A.kernels(r) if A.algorithm(k) == "ols" and not A.on_device(r, k)]
        if not ds or not ols:
            return ""
        html = "<h3>OLS against forming XᵀX with BLAS</h3>" + p(
            "For d > 1 an OLS fit does O(n d²) arithmetic, so one read of the data is no longer its limit; the "
            "yardstick is BLAS forming XᵀX alone (X.T @ X, syrk), timed in the same run on the same data. A "
            "cell is the kernel's time over that one: at 1× a fit costs no more than its products by BLAS.")
        rate = max((v for v in r.values.get(A.COMPUTE, {}).values() if ok(v)), default=None)
        html += p("The compute floor is n·d(d+1) flops (forming the co-moments) at this machine's matrix-multiply "
                  "rate, " + (f"{rate:.3g} GFLOP/s in this run (the best of five 2000 x 2000 products by BLAS)"
                              if rate else "not measured in this run") + "; the second figure of a cell is the "
                  "kernel's time over it: 1× would be every flop at that rate.")
        for d in ds:
            ns = [n for n in sizes if r.value(A.GRAM, n, d)]  # the wide d: large n only, by design
            rows = [["XᵀX by BLAS (seconds)"] + [A.human_seconds(r.value(A.GRAM, n, d)) for n in ns],
                    ["compute floor (seconds)"] + [A.human_seconds(A.compute_floor(r, n, d)) for n in ns]]
            for k in ols:
                row = [k]
                for n in ns:
                    m, t, c = A.gram_multiple(r, k, n, d), A.fit_time(r, k, n, d), A.compute_floor(r, n, d)
                    text = f"{m:.3g}×" if m is not None else "—"
                    if t is not None and c:
                        text += f" · {t / c:.3g}× compute"
                    row.append(Cell(text) if m is not None else Cell(text, "muted"))
                rows.append(row)
            html += f"<h4>d = {d}</h4>" + table(["kernel"] + [f"n = {A.human_n(n)}" for n in ns], rows)
        return html

    def prepare_section(self) -> str:
        r = self.run
        html = ""
        recs = [x for x in r.records(A.COMPILE) if "/" in str(x.get("kernel"))]
        if recs:
            states = A.params_of(r, A.COMPILE, "cache")
            rows = [[k] + [A.human_seconds(r.value(A.COMPILE, k, s)) for s in states]
                    for k in A.kernels(r, A.COMPILE)]
            html += "<h3>Numba: the first call in a fresh process</h3>" + p(
                "cold: JIT compilation with an empty cache; cached: loading the compiled code numba saved on "
                "disk. Each is one new Python process per sample; fit times exclude both.") + table(
                ["kernel"] + [f"first call ({s})" for s in states], rows)
        else:
            html += p("No numba first-call measurements in this run.", "note")
        recs = [x for x in r.records(A.PREPARE) if "/" in str(x.get("kernel"))]
        if recs:
            sizes = sorted(A.params_of(r, A.PREPARE, "n"))
            ds = A.params_of(r, A.PREPARE, "d")
            rows = []
            for k in A.kernels(r, A.PREPARE):
                for d in ds:
                    vals = [r.value(A.PREPARE, k, n, d) for n in sizes]
                    if any(v is not None for v in vals):
                        rows.append([A.backend(k), d] + [A.human_seconds(v) for v in vals])
            html += "<h3>Data preparation: conversion and host-to-device transfer</h3>" + p(
                "kernel.prepare alone: pure Python converts rows to lists of floats, torch wraps the arrays "
                "(no copy on the CPU), CUDA backends copy them to the device (synchronised). Backends that "
                "use the NumPy arrays as they are have nothing to prepare and are not listed.") + table(
                ["backend", "d"] + [f"n = {A.human_n(n)}" for n in sizes], rows, name_cols=2)
            if not any(A.backend(k).endswith("cuda") for k in A.kernels(r, A.PREPARE)):
                html += p("No CUDA backend ran here, so there is no host-to-device transfer to show.", "note")
        return html

    def memory_section(self) -> str:
        r = self.run
        html = self._figure(F.memory(r), "peak_memory.png", "extra peak memory against input size",
                            "Peak memory one fit (prepare + solve) adds beyond its input X (n, 10) and y: the "
                            "process's RSS high-water mark during the call minus its RSS just before (CUDA: plus "
                            "the device allocator's peak). Dotted lines: 1× and 0.1× the input.")
        sizes = sorted(A.params_of(r, A.MEMORY, "n"))
        rows = [[k] + [(lambda v: Cell(f"{v:.3g}×") if v is not None else Cell("—", "muted"))(
            r.value(A.MEMORY, k, n)) for n in sizes] for k in A.kernels(r, A.MEMORY)]
        d = A.memory_features(r)
        if rows:
            sized = [f" ({A.human_bytes(A.input_bytes(n, d))})" if d else "" for n in sizes]
            html += table(["kernel"] + [f"n = {A.human_n(n)}{s}" for n, s in zip(sizes, sized)], rows)
        if not d:
            html += p(f"The input's width d is not known: {r.recorded('profile')[1]}.", "note")
        return html

    def accuracy_section(self) -> str:
        ceilings, why = self.run.recorded("nist_ceilings")
        html = p(f"No ceiling row in the heat map: {why}", "note") if why else ""
        html += self._figure(F.lre_heatmap(self.run, ceilings), "nist_lre.png", "LRE heat map",
                             "Digits of agreement (LRE, 0-15, worst coefficient) of each OLS kernel with NIST's "
                             "certified values. 'refused': the kernel declined the problem (for example, the normal "
                             "equations are singular to working precision) rather than return wrong digits."
                             + (" The last row is the best any float64 solver can do: the exact solution of the "
                                "float64-rounded input." if ceilings else ""))
        html += self._lre_table()
        html += self._figure(F.coef_error(self.run), "coef_error.png", "coefficient error against statsmodels",
                             "Largest coefficient difference from statsmodels relative to the largest coefficient, "
                             "on seeded synthetic data (well-conditioned, and with features correlated at 0.999).")
        return html + self.condition_sweep()

    def _lre_table(self) -> str:
        r = self.run
        problems = [x for x in A.params_of(r, A.LRE, "problem") if not str(x).startswith("(")]
        ks = A.kernels(r, A.LRE)
        if not problems or not ks:
            reason = next((str(x) for x in A.params_of(r, A.LRE, "problem")), "no NIST benchmark in this run")
            return p(f"No NIST results: {reason}. Point LRBENCH_DATA_DIR at the folder holding nist/.", "note")
        rows = []
        for k in ks:
            row = [k]
            for prob in problems:
                v = r.value(A.LRE, k, prob)
                bg, fg = heat(v, 0, 15)
                row.append(Cell("refused" if v is None else f"{v:.1f}", bg=bg, fg=fg))
            rows.append(row)
        return table(["kernel"] + problems, rows)

    def speed_accuracy_section(self) -> str:
        r = self.run
        n, d = SPEED_SIZE
        sizes, ds = A.params_of(r, A.FIT, "n"), A.params_of(r, A.FIT, "d")
        if n not in sizes and sizes:
            n = min(sizes, key=lambda s: abs(math.log10(s) - 4))
        if d not in ds and ds:
            d = max(ds)
        fig, fronts = F.speed_accuracy(r, n, d)
        html = self._figure(fig, "speed_accuracy.png", "speed against accuracy",
                            f"At n = {A.human_n(n)}, d = {d}: faster to the left, more accurate up. A kernel is on "
                            "the Pareto front when no other kernel is both at least as fast and at least as "
                            "accurate.")
        if fronts:
            html += ul([f"{panel.split(':')[0]} Pareto front: {', '.join(names)}" for panel, names in fronts.items()])
        return html

    def loss_section(self) -> str:
        r = self.run
        html = self._figure(F.loss_curves(r), "loss_curves.png", "gradient-descent loss curves",
                            "Excess loss (MSE − MSE_OLS) / MSE_OLS after each epoch on seeded synthetic data, one "
                            "line per backend. Backends of one algorithm run the same arithmetic, so their curves "
                            "coincide; scikit-learn's SGD shuffles with its own generator.")
        ks = A.kernels(r, A.DISTANCE)
        ds = A.params_of(r, A.DISTANCE, "d")
        if ks:
            rows = [[k] + [(lambda v: f"{v:.3g}" if v is not None else "—")(r.value(A.DISTANCE, k, d)) for d in ds]
                    for k in ks]
            html += f"<h3>Distance from the least-squares solution after {esc(A.epochs(r))} epochs</h3>" + table(
                ["kernel"] + [f"d = {d}" for d in ds], rows) + p("‖θ − θ_OLS‖ / ‖θ_OLS‖, θ = (intercept, coef).")
        return html

    def compare_section(self) -> str:
        before, after = self.baseline, self.run
        changes = compare(before, after)
        sig = [c for c in changes if c.verdict in ("better", "worse")]
        counts = {v: sum(c.verdict == v for c in changes) for v in
                  ("better", "worse", "not significant", "same", "not comparable", "only in one run")}
        html = p(f"Baseline: {before.label} ({before.path}); this run: {after.label} ({after.path}). Ratio = this "
                 "run / baseline. A change is marked only when asv's own comparison (asv.commands.compare, "
                 "factor 1.1 with its confidence-interval test) calls it significant; accuracy in digits counts "
                 "higher as better.")
        html += p(", ".join(f"{v}: {n}" for v, n in counts.items()))

        def rows(cs):
            return [[c.benchmark.split(".", 1)[-1], ", ".join(map(str, c.params)),
                     _fmt(c.before, c.unit), _fmt(c.after, c.unit),
                     f"{c.ratio:.3f}" if c.ratio is not None else "—",
                     Cell(c.verdict, "better" if c.verdict == "better" else "worse" if c.verdict == "worse" else "")]
                    for c in cs]

        head = ["benchmark", "parameters", "baseline", "this run", "ratio", "verdict"]
        html += "<h3>Significant changes</h3>" + (table(head, rows(sorted(sig, key=lambda c: c.ratio or 0)), 2)
                                                  if sig else p("None."))
        return html + f"<details><summary>All {len(changes)} comparisons</summary>{table(head, rows(changes), 2)}" \
                      "</details>"

    # -- the page --------------------------------------------------------------------------------
    def build(self, title: str) -> str:
        r = self.run
        self._section("summary", "Summary", self.summary)
        self._section("time", "Time against data size", self.time_section)
        self._section("speedups", "Speed-ups and the floor", self.speedup_section)
        if has_targets(r):
            self._section("targets", "Performance targets", lambda: targets_section(self.run))
        self._section("call", "What a fit call costs around the kernel", lambda: call_cost_section(self.run))
        self._section("prepare", "Compilation and data preparation", self.prepare_section)
        self._section("memory", "Peak memory", self.memory_section)
        if has_scale(r):
            self._section("scale", "Beyond one machine's memory: Dask", lambda: scale_section(self))
        self._section("accuracy", "Accuracy", self.accuracy_section)
        self._section("pareto", "Speed against accuracy", self.speed_accuracy_section)
        self._section("loss", "Gradient descent: loss per epoch", self.loss_section)
        self._section("advertising", "The tutorial: Advertising", self.advertising_section)
        self._section("machine", "The machine", self.machine_section)
        if self.baseline is not None:
            self._section("compare", "Comparison with the baseline", self.compare_section)
        when = f" · benchmarks started {r.started:%Y-%m-%d %H:%M UTC}" if r.started else ""
        meta = [f"results: {r.path}", f"commit {r.commit} · environment {r.env_name} · machine "
                f"{r.machine.get('machine', '?')}{when}"]
        if self.baseline is not None:
            meta.append(f"compared with: {self.baseline.path}")
        return page(title, meta, self.sections)


def _fmt(v, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "seconds":
        return A.human_seconds(v)
    return f"{v:.4g}"


def write_png_files(folder: Path, pngs: dict[str, bytes]) -> None:
    for name, data in pngs.items():
        (folder / name).write_bytes(data)
