"""The report's parts that come from the run record (benchmarks/run_record.py) rather than from asv's timings:
accuracy against condition number, the tutorial's Advertising fits, the machine. Each says why when the record
lacks them (results of an older run, or of asv alone)."""
from __future__ import annotations

from . import analysis as A
from . import figures as F
from .html import esc, p, table


class RecordedSections:
    """Mixin of Report: sections read from self.run.record."""

    def condition_sweep(self) -> str:
        rows, why = self.run.recorded("condition_sweep")
        if why:
            return p(f"No accuracy-against-condition figure: {why}", "note")
        return self._figure(F.condition_sweep(self.run, rows), "condition_sweep.png",
                            "accuracy against condition number",
                            "Recorded by the benchmark run (benchmarks/accuracy_experiments.py condition_sweep): "
                            "LRE of each OLS kernel against the exact least-squares solution as the problem grows "
                            "ill-conditioned.")

    def advertising_section(self) -> str:
        ad, why = self.run.recorded("advertising")
        if why:
            return p(f"The tutorial's comparison is not in this run: {why}", "note")
        rows = ad["rows"]
        html = self._figure(F.advertising(ad["x"], ad["y"], rows), "advertising.png", "Advertising: Sales against TV",
                            "Recorded by the benchmark run (benchmarks/tutorial.py, what lrbench demo prints): "
                            f"{ad['dataset']}, every selected kernel; time of a second call (the first compiles).")
        body = [[x["kernel"], f"{x['intercept']:.10f}", f"{x['slope']:.10f}", f"{x['diff']:.2e}",
                 A.human_seconds(x["seconds"]), ", ".join(f"{k}={v}" for k, v in x["options"].items()) or "—"]
                for x in rows]
        return html + table(["kernel", "intercept", "slope", "|diff| vs statsmodels", "time", "options"], body)

    def machine_section(self) -> str:
        r = self.run
        html = "<h3>Where the benchmarks ran (asv's machine record)</h3>" + table(
            ["field", "value"], [[k, v] for k, v in sorted(r.machine.items())])
        info, why = r.recorded("machine")
        if why:
            return html + p(f"No hardware, library or thread details: {why}", "note")
        html += "<h3>" + esc(f"The same machine as the benchmark run recorded it ({r.record.get('written', '?')})") \
            + "</h3>"
        for title, rows in info.items():
            html += f"<h4>{esc(title)}</h4>" + table(["", ""], [list(x) for x in rows])
        kernels, _ = r.recorded("kernels")
        if kernels:
            html += "<h4>kernels registered</h4>" + table(
                ["kernel", "device", "reference", "description"],
                [[k, m["device"], "yes" if m["reference"] else "", m["description"]] for k, m in kernels.items()])
        missing = r.record.get("unavailable") or {}
        if missing:
            html += p("Not available on this machine: " + "; ".join(f"{b} ({why})" for b, why in missing.items()))
        return html
