"""alfred.report: the HTML report's content, escaping, relative links, rebuilds and --watch (no browser).

The browser checks (sorting, filtering, no request, screenshots) are in test_report_browser.py.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest
from conftest import REPO, grid_schedule

from alfred.launch_schedule import main as launch_main
from alfred.protocol.layout import SUMMARY_DIR
from alfred.report import main as report_main
from alfred.results.report import write_report

XSS = "<script>alert(1)</script>"
CRASH_XSS = "<img src=x onerror=alert(2)>"

# A main.py whose runs record two metrics (so the summary needs RESULTS to pick one), take a
# free-text hyperparameter ``tag``, and crash with a message holding markup when ``crash`` is set.
REPORT_MAIN = '''
import argparse, time
from alfred.utils import Recorder

def get_run_args(overwritten_cmd_line=None):
    parser = argparse.ArgumentParser()
    for name, default in (("alg_name", "algA"), ("task_name", "taskA"), ("desc", ""), ("tag", "plain")):
        parser.add_argument("--" + name, default=default)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--crash", type=int, default=0)
    parser.add_argument("--sleep_s", type=float, default=0.0)
    argv = None if overwritten_cmd_line is None else overwritten_cmd_line.split()
    return parser.parse_args(argv)

def main(config, dir_tree, logger, pbar):
    logger.info("running %s", dir_tree.get_run_name())
    time.sleep(config.sleep_s)
    if config.crash:
        raise RuntimeError("<img src=x onerror=alert(2)> with tag " + config.tag)
    r = Recorder(["step", "score", "loss"])
    for step in range(5):
        r.write_to_tape({"step": step, "score": config.lr * (step + 1) + 0.01 * config.seed, "loss": 1 - config.lr})
    r.save(dir_tree.recorders_dir / "train_recorder.pkl")
'''
RESULTS = 'RESULTS = {"x_metric": "step", "y_metric": "score"}\n'


class Links(HTMLParser):
    """Every href and src of a page."""

    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if attrs.get("href") is not None:
            self.hrefs.append(attrs["href"])
        if attrs.get("src") is not None:
            self.srcs.append(attrs["src"])


def parse(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


def table_rows(html: str, table_id: str = "t1") -> list[str]:
    body = re.search(rf'<table class="sortable" id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return re.findall(r"<tr.*?</tr>", body, re.S)


def search(project, variations: dict, *, seeds=(1, 2), results: str = RESULTS, name: str = "grid_schedule_r.py"):
    (project.path / "main.py").write_text(REPORT_MAIN)
    schedule = project.write_schedule(name, grid_schedule(variations, seeds=list(seeds), extra=results))
    assert project.prepare(schedule) == 0
    return project.storage_dirs()[-1]


def test_automatic_report_escapes_values_and_links_relatively(project, tmp_path):
    storage = search(project, {"tag": [XSS, "a & b"], "lr": [0.1, 0.3], "crash": [0, 1]})
    assert launch_main(["--storage_name", storage.name, "--log_level", "WARNING"]) == 1  # crash=1 runs crash
    report = storage / "report.html"  # written right after the automatic summary
    html = report.read_text(encoding="utf-8")
    # Values from configs and crash messages appear as text only.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and XSS not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html and CRASH_XSS not in html
    assert "a &amp; b" in html
    links = parse(html)
    assert links.scripts == 1  # the page's own script, nothing injected
    # No absolute path of this machine; every link resolves relative to the report's folder.
    assert str(tmp_path) not in html
    files = [unquote(h) for h in links.hrefs if not h.startswith(("#", "data:"))]
    assert any(f.endswith("CRASH.txt") for f in files)
    assert any(os.path.basename(f).startswith("logger.out.") for f in files)  # the crashed run's own log
    for f in files:
        assert (report.parent / f).exists(), f
    assert all(s.startswith("data:image/png;base64,") for s in links.srcs) and len(links.srcs) >= 3
    # The table: every experiment, every varied hyperparameter, state, the best first.
    rows = table_rows(html)
    assert len(rows) == 8
    heads = re.findall(r'<th scope="col"[^>]*><button type="button">(.*?)</button>', html)
    assert heads == ["rank", "experiment", "tag", "lr", "crash", "score", "interval", "seeds", "state"]
    assert sum("2 crashed" in r for r in rows) == 4 and sum("2 completed" in r for r in rows) == 4
    summary = json.loads((storage / SUMMARY_DIR / "summary.json").read_text())
    best = summary["best_experiment"]
    assert f'<td class="num">{best}</td>' in rows[0] and 'class="tag">best<' in rows[0]
    assert "Crashes: 8 seeds, 2 distinct errors" in html  # one line per exception message, with its 4 seeds
    assert html.count("4 seeds:</span>") == 2
    assert '<meta http-equiv="refresh"' not in html  # nothing rewrites it: no reload
    assert "all finished" in html and "being written" not in html  # written once the summary was complete
    umask = os.umask(0o022)
    os.umask(umask)
    assert report.stat().st_mode & 0o777 == 0o666 & ~umask  # readable as the user's other files are


def test_list_report_says_what_does_not_exist_yet(project):
    search(project, {"lr": [0.1, 0.2, 0.3]}, seeds=(1,))
    list_file = project.schedules / "list_searches_r.txt"
    assert report_main(["--from_file", str(list_file)]) == 0
    html = (project.schedules / "report_searches_r.html").read_text(encoding="utf-8")
    assert "0% <small>0 of 3 seeds done" in html
    assert "no summary yet: it is written when no seed is left to run (0 of 3 seeds done)" in html
    assert "no comparison yet: python -m alfred.benchmark --from_file" in html
    assert "no plot arrays yet" in html
    assert len(table_rows(html)) == 3 and html.count("1 waiting") == 3
    assert '<meta http-equiv="refresh"' not in html


def test_summary_extras_are_shown_when_present(project):
    storage = search(project, {"lr": [0.1, 0.2, 0.3]}, seeds=(1, 2, 3))
    assert launch_main(["--storage_name", storage.name, "--log_level", "WARNING"]) == 0
    html = (storage / "report.html").read_text(encoding="utf-8")
    # the summary's own P(best): every seed of an experiment scores the same, so the best always wins
    assert "P(best) <strong>1.00</strong>" in html and "confidence" in html
    path = storage / SUMMARY_DIR / "summary.json"
    summary = json.loads(path.read_text())
    summary.update(p_best=0.873, p_best_top=[{"experiment": summary["best_experiment"], "p_best": 0.873},
                                             {"experiment": 99, "p_best": 0.127}],
                   direction_note="<b>score</b>: higher is better (inferred)")
    path.write_text(json.dumps(summary))
    out = storage / "again.html"
    write_report([storage], out)
    html = out.read_text(encoding="utf-8")
    assert "P(best) <strong>0.87</strong>" in html and "ranks first in 87% of bootstrap resamples" in html
    assert "experiment 99" in html and "&lt;b&gt;score&lt;/b&gt;: higher is better (inferred)" in html


def test_figures_past_the_size_budget_are_linked(project, monkeypatch):
    storage = search(project, {"lr": [0.1, 0.2, 0.3]}, seeds=(1, 2))
    assert launch_main(["--storage_name", storage.name, "--log_level", "WARNING"]) == 0
    figures = sorted(p.name for p in [*storage.glob("summary/*.png"), *storage.glob("plots/*.png")])
    first = min((storage / SUMMARY_DIR).glob("learning_curves_*.png")).stat().st_size
    import alfred.results.report_html as report_html

    monkeypatch.setattr(report_html, "MAX_EMBEDDED_BYTES", first * 4 // 3 + 100)  # room for the first figure
    write_report([storage], storage / "small.html")
    html = (storage / "small.html").read_text(encoding="utf-8")
    assert len(parse(html).srcs) == 1 and html.count("(not embedded: the report keeps under") == len(figures) - 1


def test_stale_and_failed_summaries_are_named(project):
    storage = search(project, {"lr": [0.1, 0.2]}, seeds=(1,))
    assert launch_main(["--storage_name", storage.name, "--log_level", "WARNING"]) == 0
    more = project.write_schedule("grid_schedule_r.py", grid_schedule({"lr": [0.1, 0.2]}, seeds=[1, 2], extra=RESULTS))
    assert project.prepare(more, "--add_to_folder", storage.name) == 0
    assert launch_main(["--storage_name", storage.name, "--log_level", "WARNING", "--no_summary"]) == 0
    write_report([storage], storage / "report.html")
    html = (storage / "report.html").read_text(encoding="utf-8")
    assert "this summary counts 2 completed seed(s); 4 have completed since" in html
    from alfred.benchmark import main as benchmark_main  # redone by hand: SUMMARY_COMPLETED still says 2

    assert benchmark_main(["--storage_names", storage.name, "--re_run_if_exists", "--n_resamples", "100"]) == 0
    write_report([storage], storage / "report.html")
    assert "completed since" not in (storage / "report.html").read_text(encoding="utf-8")
    # Without RESULTS the recorder's two metrics leave the summary without a y_metric: it fails.
    failing = search(project, {"lr": [0.1, 0.2]}, seeds=(1,), results="", name="grid_schedule_f.py")
    assert launch_main(["--storage_name", failing.name, "--log_level", "WARNING"]) == 1  # its summary failed
    assert not (failing / "report.html").exists()  # the automatic report follows a summary that succeeded
    write_report([failing], failing / "report.html")
    html = (failing / "report.html").read_text(encoding="utf-8")
    assert "the summary failed: no y_metric for" in html and '<span class="badge failed">failed</span>' in html


def test_watch_rewrites_and_reloads_until_the_search_is_done(project):
    storage = search(project, {"lr": [0.1, 0.2], "sleep_s": [0.3]}, seeds=(1, 2))
    report = storage / "report.html"
    watch = project.popen_module("alfred.report", "--storage_name", storage.name, "--watch", "0.3")
    try:
        deadline = time.time() + 60
        while not report.exists() and time.time() < deadline:
            time.sleep(0.05)
        first = report.read_text(encoding="utf-8")
        assert '<meta http-equiv="refresh" content="1">' in first  # reloads while unfinished
        assert "running: this page is rewritten and reloads every 0.3 s" in first
        assert watch.poll() is None  # nothing ran yet: still watching
        launch = project.run_module("alfred.launch_schedule", "--storage_name", storage.name, "--log_level",
                                    "WARNING")
        assert launch.returncode == 0, launch.stderr
        out, _ = watch.communicate(timeout=60)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    assert watch.returncode == 0, out
    last = report.read_text(encoding="utf-8")
    assert '<meta http-equiv="refresh"' not in last and "all finished" in last
    assert "What won</h3><p class=\"big\">experiment 2" in last  # lr=0.2 scores higher
    assert "unfinished" in out.splitlines()[0] and "unfinished" not in out.splitlines()[-1]


def test_cli_errors_are_one_line(project, capsys):
    from alfred.cli import main as cli_main

    assert cli_main(["report", "--storage_name", "Nope1_x_y_z_grid_w"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: storage dir") and "does not exist" in err[0]
    storage = search(project, {"lr": [0.1, 0.2]}, seeds=(1,))
    assert cli_main(["report", "--storage_name", storage.name, "--output", str(project.path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["report", "--storage_name", storage.name, "--watch", "0"])
    assert exit_info.value.code == 2 and "--watch: expected a positive number" in capsys.readouterr().err


def test_help_is_light():
    code = ("import runpy, sys\nsys.argv = ['alfred.report', '--help']\ntry:\n"
            "    runpy.run_module('alfred.report', run_name='__main__', alter_sys=True)\nexcept SystemExit:\n    pass\n"
            "print([m for m in ('numpy', 'pandas', 'matplotlib', 'seaborn', 'wandb') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "usage: python -m alfred.report" in out.stdout and out.stdout.strip().endswith("[]")
