"""The report generator, on results of a small real asv run made here and the run record written after it: every
section, a report that imports neither kernels nor benchmarks, a run without its record, a new folder per report,
escaping, errors that name the file, asv's significance test in comparisons, and the page in headless Chromium
(every figure decoded, no console errors; the screenshot is kept in test-artifacts/)."""
from __future__ import annotations

import base64
import copy
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

slow = pytest.mark.slow  # the tests on one small real asv run (about a minute) and its reports

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
KERNELS = "ols/numpy,ols/python,ols/statsmodels,gd/numpy,gd/torch-nn,sgd/numpy"
BENCHES = "Fit|ReadFloor|BlasGram|Prepare|PeakMemory|NistLRE|CoefError|GdDistance|GdLossCurve"
SECTIONS = ("summary", "time", "speedups", "prepare", "memory", "accuracy", "pareto", "loss", "advertising",
            "machine")


# -- headless Chromium through the DevTools protocol on a pipe (no network port) ---------------------------
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-pipe"]


class Browser:
    def __init__(self, chromium: str, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="lrbench-chromium-")
        r, self._w = os.pipe()
        self._r, w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4. bash moves the pipe ends there; they are
        # first copied to fds >= 10 so that neither can be one of 3 and 4 when the moves happen.
        to_child_r, from_child_w = fcntl.fcntl(r, fcntl.F_DUPFD, 10), fcntl.fcntl(w, fcntl.F_DUPFD, 10)
        os.close(r)
        os.close(w)
        script = f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w} {to_child_r}<&- {from_child_w}>&-'
        self.proc = subprocess.Popen(["bash", "-c", script, chromium, *FLAGS, f"--user-data-dir={self.profile}",
                                      "about:blank"], pass_fds=(to_child_r, from_child_w),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._next()
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str) -> dict:
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._next()
            if m.get("method") == method:
                return m
            self.events.append(m)

    def _next(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
                raise TimeoutError(f"no answer from chromium (exit {self.proc.poll()}): {err[-2000:]}")
            ready, _, _ = select.select([self._r], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def close(self) -> None:
        try:
            os.write(self._w, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.proc.wait(timeout=20)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


def inspect_page(chromium: str, path: str, check_js: str, width: int = 1400) -> dict:
    """Open a file in headless Chromium: {"errors": [...], "check": value of check_js, "png": bytes}."""
    b = Browser(chromium)
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            b.send(f"{domain}.enable", session=s)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=s)
        b.send("Page.navigate", {"url": "file://" + os.path.abspath(path)}, session=s)
        b.wait_event("Page.loadEventFired")
        check = b.send("Runtime.evaluate", {"expression": check_js, "returnByValue": True},
                       session=s)["result"].get("value")
        metrics = b.send("Page.getLayoutMetrics", session=s)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                 "clip": {"x": 0, "y": 0, "width": width,
                                                          "height": size["height"], "scale": 1}}, session=s)
        errors = []
        for e in b.events:
            m, prm = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                errors.append(f"exception: {prm.get('exceptionDetails', {}).get('text')}")
            elif m == "Runtime.consoleAPICalled" and prm.get("type") in ("error", "assert", "warning"):
                errors.append(f"console.{prm.get('type')}: {[a.get('value') for a in prm.get('args', [])]}")
            elif m == "Log.entryAdded" and prm.get("entry", {}).get("level") in ("error", "warning"):
                errors.append(f"log {prm['entry']['level']}: {prm['entry'].get('text')} {prm['entry'].get('url', '')}")
        return {"errors": errors, "check": check, "png": base64.b64decode(shot["data"])}
    finally:
        b.close()


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


# -- a small real asv run, in a temporary results folder -----------------------------------------------------
def _asv_conf(root: Path) -> Path:
    """This project's asv.conf.json with its folders moved under root (asv allows // comments)."""
    text = "\n".join(line for line in (REPO / "asv.conf.json").read_text().splitlines()
                     if not line.lstrip().startswith("//"))
    conf = json.loads(text)
    conf.update(repo=str(REPO), benchmark_dir=str(REPO / "benchmarks"), results_dir=str(root / "results"),
                html_dir=str(root / "html"), env_dir=str(root / "env"))
    path = root / "asv.conf.json"
    path.write_text(json.dumps(conf, indent=2))
    return path


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("asv")
    conf = _asv_conf(root)
    asv = str(Path(sys.executable).parent / "asv")
    # HOME moves asv's machine file (~/.asv-machine.json) into the temporary folder too.
    env = dict(os.environ, HOME=str(root), LRBENCH_PROFILE="tiny", LRBENCH_KERNELS=KERNELS)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
    subprocess.run([asv, "machine", "--yes", "--machine", "testbox"], cwd=root, env=env, check=True,
                   capture_output=True, timeout=120)
    r = subprocess.run([asv, "run", "--config", str(conf), "--python=same", "--machine", "testbox",
                        "--set-commit-hash", head.stdout.strip(), "-b", BENCHES], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    r = subprocess.run([sys.executable, "-m", "benchmarks.run_record", str(root / "results"), "--commit",
                        head.stdout.strip()], cwd=REPO, env=dict(env, PYTHONPATH=str(REPO)), capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    return root / "results"


# The report in a process where importing kernels or benchmarks fails, and every attempt is noted, even one a
# module would catch: the report must only read what the benchmark run wrote.
NO_LOWER_LAYERS = """
import json, sys
tried = []
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("kernels", "benchmarks"):
            tried.append(name)
            raise ImportError(f"{name}: blocked, the report must not import it")
        return None
sys.meta_path.insert(0, Blocker())
for name in ("kernels", "benchmarks"):
    sys.modules[name] = None
from reports.__main__ import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "tried": tried}))
"""


def _report(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reports", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, PYTHONPATH=str(REPO)))


@pytest.fixture(scope="module")
def report(results_dir, tmp_path_factory) -> Path:
    """One full report (with the parts computed at report time) of the small run; returns its folder."""
    out = tmp_path_factory.mktemp("reports")
    r = _report([str(results_dir), "--out", str(out)], cwd=REPO)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    folder = (out / "latest").resolve()
    assert str(folder / "report.html") in r.stdout
    return folder


# -- the tests -------------------------------------------------------------------------------------------------
@slow
def test_the_small_run_measured_what_it_selected(results_dir):
    from reports import analysis as A
    from reports.results import load_run

    run = load_run(results_dir)
    assert A.failed(run) == []
    assert set(A.kernels(run)) == set(KERNELS.split(","))
    assert run.value(A.FIT, "ols/numpy", 1000, 3) > 0
    assert run.value(A.FLOOR, 1000, 3) > 0
    assert run.value(A.GRAM, 1000, 3) > 0 and run.value(A.GRAM, 1000, 1) is None  # d = 1: skipped
    assert 0 < run.value(A.LOSS, "gd/numpy", 10) < run.value(A.LOSS, "gd/numpy", 0)


@slow
def test_report_has_every_section_and_figure(report):
    html = (report / "report.html").read_text(encoding="utf-8")
    for anchor in SECTIONS:
        assert f'<section id="{anchor}">' in html, anchor
    assert 'class="error"' not in html  # no section failed
    assert "OLS against forming XᵀX with BLAS" in html and "<h4>d = 3</h4>" in html
    pngs = sorted(p.name for p in report.glob("*.png"))
    for name in ("time_vs_n.png", "peak_memory.png", "nist_lre.png", "coef_error.png", "speed_accuracy.png",
                 "loss_curves.png", "advertising.png", "condition_sweep.png"):
        assert name in pngs
    assert "no run record" not in html
    assert '<section id="scale">' not in html  # the small run has no scale results: no empty section
    assert html.count('<img src="data:image/png;base64,') == len(pngs)  # every PNG also embedded
    index = (report.parent / "index.html").read_text(encoding="utf-8")
    assert f'href="{report.name}/report.html"' in index


@slow
def test_the_report_imports_neither_kernels_nor_benchmarks(results_dir, tmp_path):
    """Blocked lower layers: the page is still whole, its recorded parts read from the run record."""
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-c", NO_LOWER_LAYERS, str(results_dir), "--out", str(out)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"code": 0, "tried": []}
    html = (out / "latest" / "report.html").read_text(encoding="utf-8")
    assert 'class="error"' not in html and "no run record" not in html
    advertising = html[html.index('<section id="advertising">'):html.index('<section id="machine">')]
    assert "ols/statsmodels" in advertising and "0.2151917007" in advertising  # the tutorial's intercept
    assert "SIMD" in html and "ols/statsmodels" in html[html.index('<section id="machine">'):]
    assert (out / "latest" / "condition_sweep.png").is_file() and (out / "latest" / "advertising.png").is_file()


@slow
def test_a_run_without_its_record_says_so_where_the_record_was_needed(results_dir, tmp_path):
    path = _derived_copy(results_dir, tmp_path / "res", lambda data: None)  # the .json alone, as older runs
    assert not path.with_suffix(".record").exists()
    r = _report([str(path), "--out", str(tmp_path / "out")], cwd=REPO)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "out" / "latest" / "report.html").read_text(encoding="utf-8")
    assert 'class="error"' not in html
    for anchor in ("accuracy", "advertising", "machine"):
        section = html[html.index(f'<section id="{anchor}">'):]
        assert "no run record" in section[:section.index("</section>")], anchor
    assert "time_vs_n.png" in html and "advertising.png" not in html  # asv's numbers are all still there


@slow
def test_a_new_report_never_overwrites_an_earlier_one(results_dir, tmp_path):
    out = tmp_path / "out"
    first = _report([str(results_dir), "--out", str(out)], cwd=REPO)
    assert first.returncode == 0, first.stderr
    folder1 = (out / "latest").resolve()
    content = (folder1 / "report.html").read_bytes()
    second = _report([str(results_dir), "--out", str(out)], cwd=REPO)
    assert second.returncode == 0, second.stderr
    folder2 = (out / "latest").resolve()
    assert folder2 != folder1 and folder1.is_dir()
    assert (folder1 / "report.html").read_bytes() == content
    index = (out / "index.html").read_text()
    assert folder1.name in index and folder2.name in index


def _results_file(results_dir: Path) -> Path:
    return next(p for p in results_dir.glob("*/*.json") if p.name != "machine.json")


def _derived_copy(results_dir: Path, dest: Path, edit) -> Path:
    """A copy of the real results (machine.json and benchmarks.json too) with edit(data) applied."""
    src = _results_file(results_dir)
    (dest / src.parent.name).mkdir(parents=True)
    shutil.copy(results_dir / "benchmarks.json", dest / "benchmarks.json")
    data = json.loads(src.read_text())
    edit(data)
    path = dest / src.parent.name / src.name
    path.write_text(json.dumps(data))
    return path


@slow
def test_strings_from_results_are_escaped(results_dir, tmp_path):
    evil = "ols/<script>alert(1)</script>"

    def edit(data):
        data["params"]["machine"] = "<b>box</b>"
        for name, row in data["results"].items():
            params = row[1]
            for values in params:
                for i, v in enumerate(values):
                    if v == "'ols/numpy'":
                        values[i] = repr(evil)

    path = _derived_copy(results_dir, tmp_path / "res", edit)
    r = _report([str(path), "--out", str(tmp_path / "out")], cwd=REPO)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "out" / "latest" / "report.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "<b>box</b>" not in html
    assert "ols/&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;box&lt;/b&gt;" in html


@slow
def test_missing_or_corrupt_results_give_an_error_naming_the_file(tmp_path):
    missing = tmp_path / "nowhere.json"
    r = _report([str(missing), "--out", str(tmp_path / "out")], cwd=REPO)
    assert r.returncode == 2 and str(missing) in r.stderr
    bad = tmp_path / "res" / "box" / "abc-env.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    r = _report([str(bad), "--out", str(tmp_path / "out")], cwd=REPO)
    assert r.returncode == 2 and str(bad) in r.stderr, r.stderr
    r = _report([str(tmp_path / "res"), "--out", str(tmp_path / "out")], cwd=REPO)  # folder: its newest file
    assert r.returncode == 2 and str(bad) in r.stderr
    assert not (tmp_path / "out").exists()  # nothing written on error


@slow
def test_comparison_marks_only_what_asvs_statistics_call_significant(results_dir):
    from reports import analysis as A
    from reports.compare import compare
    from reports.results import load_run

    before = load_run(results_dir)
    after = copy.deepcopy(before)
    fit = after.values[A.FIT]
    slow, noisy, tiny = ("ols/numpy", 1000, 3), ("gd/numpy", 1000, 3), ("ols/python", 1000, 3)
    fit[slow] *= 3.0
    fit[noisy] *= 1.5
    fit[tiny] *= 1.05
    st = after.stats[A.FIT]
    st[slow] = ({"ci_99_a": fit[slow] * 0.99, "ci_99_b": fit[slow] * 1.01, "repeat": 5}, None)
    st[noisy] = ({"ci_99_a": 0.0, "ci_99_b": fit[noisy] * 10, "repeat": 5}, None)  # interval covers both
    before.stats[A.FIT][slow] = ({"ci_99_a": before.values[A.FIT][slow] * 0.99,
                                  "ci_99_b": before.values[A.FIT][slow] * 1.01, "repeat": 5}, None)
    before.stats[A.FIT][noisy] = ({"ci_99_a": 0.0, "ci_99_b": before.values[A.FIT][noisy] * 2, "repeat": 5}, None)
    after.values[A.LRE][("ols/numpy", "Longley")] = before.values[A.LRE][("ols/numpy", "Longley")] - 3
    verdicts = {(c.benchmark, c.params): c.verdict for c in compare(before, after)}
    assert verdicts[(A.FIT, slow)] == "worse"
    assert verdicts[(A.FIT, noisy)] == "not significant"  # 1.5x, but within asv's confidence intervals
    assert verdicts[(A.FIT, tiny)] == "same"  # below asv's factor
    assert verdicts[(A.LRE, ("ols/numpy", "Longley"))] == "worse"  # fewer digits is worse
    assert verdicts[(A.FLOOR, (1000, 3))] == "same"
    assert sum(v in ("better", "worse") for v in verdicts.values()) == 2


@slow
def test_comparison_section_from_two_results_files(results_dir, tmp_path):
    """Two files derived from the real run with tight intervals (so the machine's noise cannot decide it):
    the read floor four times slower in the second is marked worse, end to end through the HTML page."""
    from reports import analysis as A

    def scaled(factor):
        def edit(data):
            cols = data["result_columns"]
            row = data["results"][A.FLOOR]
            res = row[cols.index("result")]
            res[:] = [v * factor if v is not None else v for v in res]
            for col, k in (("stats_ci_99_a", 0.99), ("stats_ci_99_b", 1.01), ("stats_q_25", 0.995),
                           ("stats_q_75", 1.005)):
                row[cols.index(col)] = [v * k if v is not None else v for v in res]
            if "samples" in cols and cols.index("samples") < len(row):
                row[cols.index("samples")] = None  # judged by the intervals above, not the noisy real samples
        return edit

    before = _derived_copy(results_dir, tmp_path / "before", scaled(1.0))
    after = _derived_copy(results_dir, tmp_path / "after", scaled(4.0))
    r = _report([str(after), "--baseline", str(before), "--out", str(tmp_path / "out")], cwd=REPO)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "out" / "latest" / "report.html").read_text(encoding="utf-8")
    assert '<section id="compare">' in html
    assert "ReadFloor.time_read_once" in html and ">worse<" in html


@slow
def test_page_in_headless_chromium(report):
    chromium = find_chromium()
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run must install Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    check = ("JSON.stringify({images: document.images.length, figures: document.body.dataset.figures, "
             "broken: document.body.dataset.figuresBroken, "
             "decoded: Array.prototype.filter.call(document.images, i => i.complete && i.naturalWidth > 0).length})")
    r = inspect_page(chromium, str(report / "report.html"), check)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-screenshot.png").write_bytes(r["png"])
    assert r["errors"] == []
    got = json.loads(r["check"])
    n = len(list(report.glob("*.png")))
    assert got == {"images": n, "figures": str(n), "broken": "0", "decoded": n}
    assert r["png"][:8] == b"\x89PNG\r\n\x1a\n" and len(r["png"]) > 100_000


@slow
def test_history_of_one_kernel_across_commits(results_dir, tmp_path):
    """Two results files of one machine (the second a later commit, 2x slower): both rows, in commit order."""
    from reports import analysis as A
    from reports.history import history, main, runs_of

    res = tmp_path / "res"
    shutil.copytree(results_dir, res)
    src = _results_file(res)
    data = json.loads(src.read_text())
    data["commit_hash"] = "f" * 40
    data["date"] = data["date"] + 86_400_000  # a day later
    cols = data["result_columns"]
    row = data["results"][A.FIT]
    i = cols.index("result")
    row[i] = [v * 2 if v is not None else v for v in row[i]]
    (src.parent / f"{'f' * 8}-{data['env_name']}.json").write_text(json.dumps(data))
    rows = history(runs_of(res, None), "ols/numpy", 1000, 3)
    assert [r.commit[:8] for r, _, _ in rows][-1] == "f" * 8 and len(rows) == 2
    assert rows[1][1] == pytest.approx(2 * rows[0][1]) and rows[1][2] == pytest.approx(2 * rows[0][2])
    assert main(["ols/numpy", "--n", "1000", "--d", "3", "--results", str(res), "--out", str(tmp_path / "h")]) == 0
    page = next((tmp_path / "h").glob("*/history.html")).read_text()
    assert "ffffffff" in page and "data:image/png;base64," in page
    assert main(["ols/nothing", "--results", str(res), "--out", str(tmp_path / "h")]) == 2


def test_gpu_kernels_are_not_divided_by_the_cpu_floor():
    """The suite's floor is a CPU read: a CUDA or Triton kernel's time over it would be a meaningless number."""
    from pathlib import Path as _P

    from reports import analysis as A
    from reports.results import Run

    fits = {("ols/numba", 1000, 1): 2e-4, ("ols/torch-cuda", 1000, 1): 5e-5, ("ols/triton", 1000, 1): 3e-5}
    run = Run(path=_P("r.json"), commit="abc", date=None, env_name="e", machine={},
              param_names={A.FIT: ["kernel", "n", "d"], A.FLOOR: ["n", "d"]},
              units={A.FIT: "seconds", A.FLOOR: "seconds"},
              values={A.FIT: fits, A.FLOOR: {(1000, 1): 1e-4}}, stats={}, versions={})
    # without a run record the backend's name decides; with one, the device the kernel was registered on
    assert all(A.on_device(run, k) for k in ("ols/torch-cuda", "ols/triton", "gd/torch-nn-cuda"))
    assert not A.on_device(run, "ols/numba") and not A.on_device(run, "ols/torch-cpu")
    recorded = copy.deepcopy(run)
    recorded.record = {"kernels": {"ols/numba": {"device": "cuda", "reference": False}}}
    assert A.on_device(recorded, "ols/numba") and A.floor_multiple(recorded, "ols/numba", 1000, 1) is None
    assert A.floor_multiple(run, "ols/numba", 1000, 1) == pytest.approx(2.0)
    assert A.floor_multiple(run, "ols/torch-cuda", 1000, 1) is None
    assert A.floor_multiple(run, "ols/triton", 1000, 1) is None


def test_ols_is_divided_by_blas_gram_only_where_that_means_something():
    from pathlib import Path as _P

    from reports import analysis as A
    from reports.results import Run

    fits = {("ols/numba", 1000, 3): 3e-4, ("gd/numba", 1000, 3): 1e-4, ("ols/torch-cuda", 1000, 3): 5e-5,
            ("ols/numpy", 100, 3): 1e-5}
    run = Run(path=_P("r.json"), commit="abc", date=None, env_name="e", machine={},
              param_names={A.FIT: ["kernel", "n", "d"], A.GRAM: ["n", "d"]},
              units={A.FIT: "seconds", A.GRAM: "seconds"},
              values={A.FIT: fits, A.GRAM: {(1000, 3): 2e-4}}, stats={}, versions={})
    assert A.gram_multiple(run, "ols/numba", 1000, 3) == pytest.approx(1.5)
    assert A.gram_multiple(run, "gd/numba", 1000, 3) is None  # descent is compared with the read floor
    assert A.gram_multiple(run, "ols/torch-cuda", 1000, 3) is None  # BLAS ran on the CPU
    assert A.gram_multiple(run, "ols/numpy", 100, 3) is None  # no XᵀX timing at that size


def test_a_part_the_run_could_not_record_is_named_with_its_reason():
    from pathlib import Path as _P

    from reports.results import Run

    run = Run(path=_P("m/c-e.json"), commit="abc", date=None, env_name="e", machine={}, param_names={}, units={},
              values={}, stats={}, versions={},
              record={"condition_sweep": {"error": "condition_sweep() failed: DataFileError: nist/ missing"},
                      "profile": {"memory_features": 10}})
    assert run.recorded("profile") == ({"memory_features": 10}, None)
    value, why = run.recorded("condition_sweep")
    assert value is None and "could not record it" in why and "nist/ missing" in why
    value, why = run.recorded("advertising")
    assert value is None and "has no 'advertising'" in why and "c-e.record" in why
    bare = Run(path=_P("m/c-e.json"), commit="abc", date=None, env_name="e", machine={}, param_names={}, units={},
               values={}, stats={}, versions={}, record_note="no run record (c-e.record ...)")
    assert bare.recorded("profile") == (None, "no run record (c-e.record ...)")


def _scale_run(dropped: float, vs_memory: float):
    """A scale-profile run as asv records it (bench_scale's names and parameters), with round numbers whose
    ratios the tests can check: 16 GB on disk (1e9 rows, d = 1), one and two workers."""
    from pathlib import Path as _P

    from reports import analysis as A
    from reports import scale as S
    from reports.results import Run

    n, d, nan = 1_000_000_000, 1, float("nan")
    values = {
        S.OOC: {("ols/dask", n, d, 2): 12.0, ("ols/dask", n, d, 1): 20.0, ("gd/dask", n, d, 2): 11.0,
                ("ols/dask-ml", n, d, 2): 120.0, ("ols/dask-lstsq", n, d, 2): nan, ("gd/dask", n, d, 1): None},
        S.PEAK: {("ols/dask", n, d, 2): 300.0, ("ols/dask", n, d, 1): 280.0},
        S.READ: {(n, d, 2): 10.0, (n, d, 1): 16.0},
        S.VS_MEMORY: {(n, d, 2): vs_memory, (n, d, 1): vs_memory},
        S.DROPPED: {(n, d, 2): dropped, (n, d, 1): dropped},
        S.RAW: {(n, d): 8.0},
        S.EMPTY: {(n, d, 2): 0.5, (n, d, 1): 0.6},
        S.CHUNKS: {(n, d, 2): 250.0, (n, d, 1): 250.0},
        S.START: {(1,): 3.0, (2,): 5.0},
        A.FIT: {("ols/dask", 10_000_000, 1): 0.3, ("ols/numba-parallel", 10_000_000, 1): 0.1,
                ("ols/dask-lstsq", 10_000_000, 1): 3.0},
        A.FLOOR: {(10_000_000, 1): 0.05},
    }
    names = {S.OOC: ["kernel", "n", "d", "workers"], S.PEAK: ["kernel", "n", "d", "workers"], S.RAW: ["n", "d"],
             S.START: ["workers"], A.FIT: ["kernel", "n", "d"], A.FLOOR: ["n", "d"]}
    names.update({b: ["n", "d", "workers"] for b in (S.READ, S.VS_MEMORY, S.DROPPED, S.EMPTY, S.CHUNKS)})
    return Run(path=_P("m/c-e.json"), commit="abc", date=None, env_name="e",
               machine={"cpu": "Test CPU 9000", "num_cpu": "2", "ram": "24GB"}, param_names=names,
               units={b: "seconds" for b in names}, values=values, stats={}, versions={})


class _Pages:
    """What Report gives the section: the run, and a figure store."""

    def __init__(self, run):
        from reports.build import Report

        self.report = Report(run, log=lambda *a: None)

    def html(self) -> str:
        from reports.scale import scale_section

        return scale_section(self.report)


def _cells(html: str, first: str, second) -> list[str]:
    """The cells of the first table row that starts with `first`, `second`."""
    import re

    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        if cells[:2] == [first, str(second)]:
            return cells
    raise AssertionError(f"no row {first!r}, {second!r}")


def test_scale_section_ratios_come_from_the_same_run():
    from reports import scale as S

    run = _scale_run(dropped=1.0, vs_memory=0.7)
    assert S.has_scale(run) and S.datasets(run) == [(1_000_000_000, 1)] and S.worker_counts(run) == [1, 2]
    html = _Pages(run).html()
    assert "Test CPU 9000" in html and "page cache dropped before every sample" in html
    # time, GB/s (16e9 bytes), × Dask read floor, × raw read, speed-up over 1 worker, over dask-lstsq, dask-ml
    row = _cells(html, "ols/dask", 2)
    assert row[2:7] == ["12 s", "1.33", "1.2×", "1.5×", "1.67×"]
    assert row[7] == "—" and row[8] == "10×"  # lstsq skipped (NaN): no ratio; dask-ml 120 s / 12 s
    assert row[9] == "300" and row[10] == f"{300 / (16e9 / 250 / 2 ** 20):.2g}"  # peak MB, over a chunk's MB
    assert _cells(html, "Dask read floor", 2)[2:4] == ["10 s", "1.6"]
    assert _cells(html, "gd/dask", 1)[2] == "failed"  # failed (None): shown, never as a number
    assert _cells(html, "ols/dask-lstsq", 2)[2] == "skipped"
    assert "2 ms" in html  # the empty pass: 0.5 s over 250 chunks
    assert "<td>5 s</td>" in html and "<td>3 s</td>" in html  # cluster start-up, 2 and 1 workers
    assert _cells(html, "ols/dask", 1)[2:7] == ["20 s", "0.8", "1.25×", "2.5×", "1×"]  # floor at 1 worker: 16 s
    # in memory: 0.3 s over the 0.05 s floor, over numba-parallel's 0.1 s; dask-lstsq's 3.0 s over 0.3 s
    assert _cells(html, "ols/dask", "1e7")[3:7] == ["300 ms", "6×", "3×", "10×"]


STATES = {"larger": "larger than memory", "warm": "page cache NOT dropped",
          "dropped": "page cache dropped before every sample"}


@pytest.mark.parametrize("dropped, vs_memory, state", [(0.0, 1.4, "larger"), (0.0, 0.7, "warm"),
                                                       (1.0, 0.7, "dropped"), (1.0, 1.4, "dropped")])
def test_scale_section_says_where_the_reads_came_from(dropped, vs_memory, state):
    html = _Pages(_scale_run(dropped, vs_memory)).html()
    assert [k for k, phrase in STATES.items() if phrase in html] == [state]


def test_scale_section_only_with_scale_results():
    from reports import analysis as A
    from reports import scale as S
    from reports.build import Report

    run = _scale_run(1.0, 0.7)
    report = Report(run, log=lambda *a: None)
    page = report.build("t")
    scale = page.split('<section id="scale">')[1].split("</section>")[0]
    assert 'class="error"' not in scale and "scale_time_vs_n.png" in report.pngs
    bare = _scale_run(1.0, 0.7)
    bare.values = {A.FIT: bare.values[A.FIT], A.FLOOR: bare.values[A.FLOOR]}
    assert not S.has_scale(bare)
    assert '<section id="scale">' not in Report(bare, log=lambda *a: None).build("t")
