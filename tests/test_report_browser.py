"""The HTML report in a real headless browser: Debian's chromium + chromium-driver, driven by Selenium.

Opened from disk as a user would: the table sorts both ways on header clicks and from the
keyboard, the filter narrows rows, there is no console error and no request for anything but
the page itself (the performance log records every request the page makes), markup in a
config value shows as text, and the page fits 1280x800 and a phone-width window.

With ALFRED_UPDATE_DOCS_IMAGES=1 the 1280x800 screenshot of the demo's report is written to
docs/images/report.png (the README's image); otherwise into the test's tmp_path.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, grid_schedule

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.wait import WebDriverWait
except ImportError:
    selenium = None

missing = [name for name, found in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER), ("selenium", selenium))
           if not found]
pytestmark = pytest.mark.skipif(bool(missing), reason=f"no headless browser: {', '.join(missing)} not installed "
                                "(apt-get install chromium chromium-driver; pip install selenium)")

# This machine may have no network: these flags keep Chromium from reaching any server by itself.
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
                  "--disable-dev-shm-usage", "--hide-scrollbars")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)  # a given driver: nothing downloaded
    yield driver
    driver.quit()


def open_page(driver, path: Path, *, width: int = 1280, height: int = 800, mobile: bool = False) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
    driver.get("about:blank")
    driver.get_log("performance"), driver.get_log("browser")  # start both logs empty
    driver.get(path.resolve().as_uri())


def requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            params = message["params"]
            urls.append(params.get("request", {}).get("url") or params.get("url", ""))
    return urls


def check_offline_and_quiet(driver, page: Path) -> None:
    """No console error; the only file requested is the page itself, the rest are its data: URIs."""
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    urls = requested_urls(driver)
    assert page.resolve().as_uri() in urls
    assert [u for u in urls if not u.startswith("data:") and u != page.resolve().as_uri()] == []


def column(driver, table_id: str, header: str) -> tuple[int, list]:
    """(index, that column's sort values in the visible rows, top to bottom: numbers for numeric columns)."""
    return driver.execute_script("""
        const table = document.getElementById(arguments[0]);
        const heads = Array.from(table.tHead.rows[0].cells);
        const i = heads.map(th => th.textContent.trim()).indexOf(arguments[1]);
        const numeric = heads[i].getAttribute('data-type') === 'num';
        const rows = Array.from(table.tBodies[0].rows).filter(r => !r.hidden);
        return [i, rows.map(r => {
            const cell = r.cells[i];
            const raw = cell.hasAttribute('data-v') ? cell.getAttribute('data-v') : cell.textContent.trim();
            return numeric ? Number(raw) : raw;
        })];
    """, table_id, header)


def header_button(driver, table_id: str, header: str):
    return driver.find_element(By.XPATH, f'//table[@id="{table_id}"]/thead//button[normalize-space()="{header}"]')


def aria_sort(driver, table_id: str, header: str) -> str | None:
    return header_button(driver, table_id, header).find_element(By.XPATH, "..").get_attribute("aria-sort")


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "alfred demo"  # a space in the path on purpose
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, "-m", "alfred.demo", "--dir", str(folder)], capture_output=True,
                            text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = folder / "schedules" / "report_searches_demo.html"
    assert str(report.relative_to(folder)) in result.stdout
    return report


def test_demo_report_sorts_filters_and_requests_nothing(browser, demo_report, tmp_path):
    open_page(browser, demo_report)
    assert browser.title.startswith("list_searches_demo.txt")
    # The first screen answers: how far along, what won, how sure -- for every search.
    bottoms = browser.execute_script("""return ['#overview', '#s1 .cards'].map(
        s => document.querySelector(s).getBoundingClientRect().bottom)""")
    assert max(bottoms) <= 800, bottoms
    _, scores = column(browser, "t1", "score")
    assert scores == sorted(scores, reverse=True) and aria_sort(browser, "t1", "rank") == "ascending"
    header_button(browser, "t1", "score").click()  # higher is better: best first on the first click
    assert column(browser, "t1", "score")[1] == sorted(scores, reverse=True)
    assert aria_sort(browser, "t1", "score") == "descending" and aria_sort(browser, "t1", "rank") is None
    header_button(browser, "t1", "score").click()
    assert column(browser, "t1", "score")[1] == sorted(scores)
    assert aria_sort(browser, "t1", "score") == "ascending"
    # From the keyboard: Enter and Space on a header button.
    header_button(browser, "t1", "experiment").send_keys(Keys.ENTER)
    assert column(browser, "t1", "experiment")[1] == [1, 2, 3, 4, 5, 6]
    header_button(browser, "t1", "experiment").send_keys(Keys.SPACE)
    assert column(browser, "t1", "experiment")[1] == [6, 5, 4, 3, 2, 1]
    # The filter keeps the rows holding every term.
    box = browser.find_element(By.CSS_SELECTOR, 'input[data-filter-for="t1"]')
    box.send_keys("0.03")
    assert column(browser, "t1", "learning_rate")[1] == [0.03, 0.03]
    assert browser.find_element(By.ID, "t1-count").text == "2 of 6 shown"
    box.send_keys(" 16")
    assert column(browser, "t1", "hidden_size")[1] == [16]
    box.clear()
    box.send_keys(" ")  # an empty query shows every row again
    assert len(column(browser, "t1", "score")[1]) == 6
    # Every figure is embedded and decodes (they load lazily, when near the view: load them all now).
    assert browser.execute_script("return Array.from(document.images).map(i => i.src.slice(0, 22))") \
        == ["data:image/png;base64,"] * 9  # 2 x (3 summary figures + 1 plot array) + 1 comparison
    browser.execute_script("Array.from(document.images).forEach(i => { i.loading = 'eager'; })")
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(
        "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"))
    check_offline_and_quiet(browser, demo_report)


def test_demo_report_screenshot_at_1280x800(browser, demo_report, tmp_path):
    open_page(browser, demo_report)
    update = os.environ.get("ALFRED_UPDATE_DOCS_IMAGES") == "1"
    path = REPO / "docs" / "images" / "report.png" if update else tmp_path / "report.png"
    path.write_bytes(browser.get_screenshot_as_png())
    width, height = struct.unpack(">II", path.read_bytes()[16:24])  # the PNG header's IHDR
    assert (width, height) == (1280, 800)
    check_offline_and_quiet(browser, demo_report)


def test_phone_width_scrolls_only_inside_tables(browser, demo_report):
    open_page(browser, demo_report, width=390, height=844, mobile=True)
    widths = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    header_button(browser, "t2", "score").click()
    assert aria_sort(browser, "t2", "score") == "descending"
    check_offline_and_quiet(browser, demo_report)


def test_markup_in_config_and_crash_message_shows_as_text(browser, project):
    from test_report import REPORT_MAIN, RESULTS, XSS

    from alfred.launch_schedule import main as launch_main

    (project.path / "main.py").write_text(REPORT_MAIN)
    schedule = project.write_schedule("grid_schedule_x.py", grid_schedule({"tag": [XSS, "plain"], "crash": [0, 1]},
                                                                          seeds=[1, 2], extra=RESULTS))
    assert project.prepare(schedule) == 0
    (storage,) = project.storage_dirs()
    assert launch_main(["--storage_name", storage.name, "--log_level", "WARNING"]) == 1
    page = storage / "report.html"
    open_page(browser, page)
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text
    assert browser.execute_script("return document.scripts.length") == 1
    assert browser.execute_script("return document.querySelectorAll('img:not([src^=\"data:\"])').length") == 0
    _, tags = column(browser, "t1", "tag")
    assert sorted(tags) == sorted([XSS, XSS, "plain", "plain"])
    crashes = browser.find_element(By.CSS_SELECTOR, "ul.crashes").text
    assert "<img src=x onerror=alert(2)> with tag <script>alert(1)</script>" in crashes
    check_offline_and_quiet(browser, page)


def test_a_thousand_experiments_sort_and_filter(browser, project):
    lrs = [round(0.01 * i, 2) for i in range(1, 41)]
    schedule = project.write_schedule("grid_schedule_big.py", grid_schedule({"lr": lrs, "width": list(range(1, 26))},
                                                                            seeds=[1]))
    assert project.prepare(schedule) == 0
    list_file = project.schedules / "list_searches_big.txt"
    from alfred.report import main as report_main

    assert report_main(["--from_file", str(list_file)]) == 0
    page = project.schedules / "report_searches_big.html"
    open_page(browser, page)
    index, values = column(browser, "t1", "lr")
    assert len(values) == 1000
    header_button(browser, "t1", "lr").click()
    assert column(browser, "t1", "lr")[1] == sorted(values)
    header_button(browser, "t1", "lr").click()
    assert column(browser, "t1", "lr")[1] == sorted(values, reverse=True)
    box = browser.find_element(By.CSS_SELECTOR, 'input[data-filter-for="t1"]')
    box.send_keys("0.37 waiting")
    assert column(browser, "t1", "lr")[1] == [0.37] * 25
    assert browser.find_element(By.ID, "t1-count").text == "25 of 1000 shown"
    check_offline_and_quiet(browser, page)


def test_watched_page_reloads_keeping_sort_and_filter_until_finished(browser, project):
    from alfred.launch_schedule import main as launch_main
    from alfred.results.report import write_report

    schedule = project.write_schedule("grid_schedule_w.py", grid_schedule({"lr": [0.1, 0.2, 0.3]}, seeds=[1]))
    assert project.prepare(schedule) == 0
    (storage,) = project.storage_dirs()
    page = project.path / "watched.html"
    assert not write_report([storage], page, refresh_s=2).finished  # what --watch 2 writes meanwhile
    open_page(browser, page)
    header_button(browser, "t1", "lr").click()
    header_button(browser, "t1", "lr").click()
    browser.find_element(By.CSS_SELECTOR, 'input[data-filter-for="t1"]').send_keys("waiting")
    browser.execute_script("window.notReloaded = true")
    WebDriverWait(browser, 20).until(lambda d: d.execute_script("return !window.notReloaded"))
    WebDriverWait(browser, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")
    assert aria_sort(browser, "t1", "lr") == "descending"
    assert column(browser, "t1", "lr")[1] == [0.3, 0.2, 0.1]
    assert browser.find_element(By.CSS_SELECTOR, 'input[data-filter-for="t1"]').get_attribute("value") == "waiting"
    # Finished: the last page written has no reload, so the browser stops reloading.
    assert launch_main(["--storage_name", storage.name, "--log_level", "WARNING", "--no_summary"]) == 0
    assert write_report([storage], page, refresh_s=1).finished
    WebDriverWait(browser, 20).until(lambda d: "all finished" in d.find_element(By.TAG_NAME, "header").text)
    browser.execute_script("window.notReloaded = true")
    import time

    time.sleep(3)
    assert browser.execute_script("return window.notReloaded") is True
    assert column(browser, "t1", "lr")[1] == []  # still filtered on "waiting": nothing waits any more
    check_offline_and_quiet(browser, page)


# ----------------------------------------------------------------------------- issue 19: a report a reader can trust
@pytest.fixture(scope="module")
def two_metric_report(tmp_path_factory) -> Path:
    """A list of two searches ranked on different metrics (accuracy up, loss down), with a
    ``degree`` hyperparameter and a learning rate of 0.6467, summarised; its report."""
    sys.path.insert(0, str(REPO / "tests"))
    from test_results import make_search

    from alfred.report import main as report_main
    from alfred.results.summary import summarize_search

    root = tmp_path_factory.mktemp("trust")
    names = []
    for i, (metric, sign) in enumerate((("val_accuracy", 1.0), ("val_loss", -1.0)), start=1):
        params = {e: {"lr": lr, "degree": d} for e, (lr, d) in enumerate(((0.5, 3), (0.5, 4), (0.6467, 3),
                                                                            (0.6467, 4)), start=1)}
        exps = {e: {s: {"step": [0, 1], metric: [0.5, 0.5 + sign * (0.1 * e + 0.01 * s)]} for s in (1, 2, 3)}
                for e in params}
        storage = make_search(root, exps, name=f"Te{i}_nogit_algA_task{i}_grid_trust", params=params)
        summarize_search(storage, y_metric=metric, n_resamples=200)
        names.append(storage.name)
    list_file = root / "list_searches_trust.txt"
    list_file.write_text(f"# root_dir={root}\n" + "\n".join(names) + "\n")
    assert report_main(["--from_file", str(list_file)]) == 0
    return root / "report_searches_trust.html"


def test_the_overview_names_each_score_metric_and_direction(browser, two_metric_report):
    open_page(browser, two_metric_report)
    cells = browser.execute_script("""return Array.from(document.querySelectorAll('table.overview tbody tr'))
        .map(r => r.querySelector('td[data-label="score"]').textContent)""")
    assert "last val_accuracy · higher is better" in cells[0] and "last val_loss · lower is better" in cells[1]
    check_offline_and_quiet(browser, two_metric_report)


def test_on_a_phone_score_and_confidence_are_on_the_first_screen(browser, two_metric_report):
    open_page(browser, two_metric_report, width=390, height=844, mobile=True)
    boxes = browser.execute_script("""return ['score', 'confidence'].map(label => {
        const b = document.querySelector('table.overview tbody tr td[data-label="' + label + '"]')
            .getBoundingClientRect();
        return [b.left, b.right, b.top, b.bottom, b.width]; })""")
    for left, right, top, bottom, width in boxes:
        assert 0 <= left and right <= 390 and bottom <= 844 and width > 0, boxes
    widths = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


def test_figures_are_shown_at_the_page_width_not_as_thumbnails(browser, two_metric_report):
    open_page(browser, two_metric_report)
    browser.execute_script("Array.from(document.images).forEach(i => { i.loading = 'eager'; })")
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(
        "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"))
    sizes = browser.execute_script("""return Array.from(document.querySelectorAll('.figures img')).map(i => {
        const box = i.closest('.figures').getBoundingClientRect();
        return [i.getBoundingClientRect().width, i.naturalWidth, box.width]; })""")
    assert sizes
    for shown, natural, room in sizes:  # as wide as the section allows, up to the figure's own width
        assert shown >= 0.9 * min(natural, room - 14), sizes


def test_the_filter_matches_whole_values_and_named_columns(browser, two_metric_report):
    open_page(browser, two_metric_report)
    box = browser.find_element(By.CSS_SELECTOR, 'input[data-filter-for="t1"]')
    assert box.get_attribute("placeholder").startswith("e.g. lr=")
    box.send_keys("degree=4")
    assert column(browser, "t1", "degree")[1] == [4, 4]
    box.clear()
    box.send_keys("0.5 4")  # 4 is not a substring match of 0.6467
    lrs = column(browser, "t1", "lr")[1]
    assert lrs and set(lrs) == {0.5}
    box.clear()
    box.send_keys("lr>0.6")
    assert column(browser, "t1", "lr")[1] == [0.6467, 0.6467]
    box.clear()
    box.send_keys("degreee=4")
    assert browser.find_element(By.ID, "t1-count").text.startswith("no column degreee (columns: rank, experiment")
    assert column(browser, "t1", "lr")[1] == []
    check_offline_and_quiet(browser, two_metric_report)
