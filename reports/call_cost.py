"""The report's section on what a user's `fit` call costs beyond the kernel: input checks, options, prepare and
the accuracy bound, as the Call benchmark over the Fit benchmark of the same run."""
from __future__ import annotations

from . import analysis as A
from .html import Cell, p, table
from .results import Run


def call_cost_section(run: Run) -> str:
    """One table per d: each kernel's kernels.fit time over its kernel time, and the call over the read floor."""
    sizes = sorted(A.params_of(run, A.FIT, "n"))
    ds = sorted(d for d in A.params_of(run, A.CALL, "d") if isinstance(d, int))
    names = [k for k in A.kernels(run, A.CALL) if any(run.value(A.CALL, k, n, d) for n in sizes for d in ds)]
    if not names:
        return p("This run has no timings of the whole fit call (benchmark Call): only the kernels' own times.",
                 "note")
    html = p("Fit times a kernel's own work on validated, prepared data; Call times what a user calls, "
             "kernels.fit(X, y, kernel=...): the input checks, the option handling, the conversion or transfer, the "
             "solve and the accuracy bound. A cell is Call over Fit (1× would mean the call costs nothing around "
             "the kernel) and, for CPU kernels, the call's time over the read floor (gradient descent: per epoch).")
    for d in ds:
        rows = []
        for k in names:
            row = [k]
            for n in sizes:
                m = A.call_multiple(run, k, n, d)
                c, f = run.value(A.CALL, k, n, d), A.floor_time(run, n, d)
                if m is None:
                    row.append(Cell("—", "muted"))
                    continue
                text = f"{m:.3g}×"
                if c is not None and f and not A.on_device(run, k):
                    e = A.epochs(run) if A.algorithm(k) in A.ITERATIVE else 1
                    text += f" · {c / (e or 1) / f:.3g}× floor"
                row.append(Cell(text, "better" if m <= 1.1 else ""))
            rows.append(row)
        html += f"<h3>d = {d}</h3>" + table(["kernel"] + [f"n = {A.human_n(n)}" for n in sizes], rows)
    return html
