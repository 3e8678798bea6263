"""The published page in real headless Chromium (Debian's, driven by Playwright): served over
loopback and opened from disk, with no console error and no CSP report; one plot per device,
the error/warning filter and the detail panel that follows it, the date range, a day's detail;
device names as text; a screenshot that is not blank; on a simulated day, the line and band
of B:VIMIN inside the day's [p01, p99]; a simulated week with days never fetched, the
simulator's DataLogger outages and one device not logged one day, shown as exactly that one
device problem, each outage once, and "data as of" judged by the browser's clock. Also the old
figure JSON drawn by the bundled plotly.js, as the existing site does."""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gmpsai_assets.cli.serve_site import make_server
from gmpsai_assets.publish.site import publish_from_store
from gmpsai_assets.quality.days import NO_DATA_DAY
from gmpsai_assets.settings import Settings
from gmpsai_assets_tests.chromium import launch, needs_chromium
from gmpsai_assets_tests.test_publish_support import DEVICES, EVIL, MISSING_DAY, build_store

pytestmark = needs_chromium

WATCH = """
window.__reports = [];
document.addEventListener('securitypolicyviolation',
  e => window.__reports.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Iterator[tuple[Path, object, str]]:
    root = tmp_path_factory.mktemp("site")
    small = build_store(root)
    result, _ = publish_from_store(Settings.from_env({"GMPSAI_DATA_DIR": str(root)}))
    server = make_server(result.directory, 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield result.directory, small, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch(pw)
        try:
            yield b
        finally:
            b.close()


class Page:
    """A page that records every console error, page error, dialog and CSP report."""

    def __init__(self, browser, url: str, details: bool = True,
                 now: dt.datetime | None = None) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        if now is not None:  # the browser's own clock, which judges "data as of"
            self.page.clock.set_fixed_time(now)
        self.problems: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror {e}"))
        self.page.on("dialog", lambda d: (self.problems.append(f"dialog {d.message}"),
                                          d.dismiss()))
        self.page.add_init_script(WATCH)
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready]", timeout=30_000)
        if details:  # the per-day figures fetched after the first screen
            self.page.wait_for_selector("body[data-details]", state="attached", timeout=30_000)

    def clean(self) -> list[str]:
        reports = self.page.evaluate("window.__reports")
        pwned = self.page.evaluate("window.__pwned === undefined ? null : window.__pwned")
        return [*self.problems, *reports, *([f"injected {pwned}"] if pwned else [])]

    def visible_devices(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "article.device:not([hidden]) h2 .name", "els => els.map(e => e.textContent)")

    def x_range(self, k: int) -> list[float]:
        """The x scale of plot `k` (local dates as UTC seconds, see app.js xOf)."""
        return self.page.evaluate(
            "k => { const s = document.querySelectorAll('.plot')[k].uplot.scales.x;"
            " return [s.min, s.max]; }", k)

    def set_dates(self, start: str, end: str) -> None:
        for sel, value in (("#from", start), ("#to", end)):
            self.page.fill(sel, value)
            self.page.dispatch_event(sel, "change")


def _noon_before(day: str) -> float:
    """x of the half day of margin before `day` (local date read as UTC, as the page does)."""
    return calendar.timegm(dt.date.fromisoformat(day).timetuple()) - 43200.0


def test_served_page_draws_filters_ranges_and_details(published, browser, tmp_path):
    from playwright.sync_api import expect

    _, small, url = published
    p = Page(browser, url)
    page = p.page
    assert page.evaluate("document.body.dataset.ready") == "1"
    # one plot per device, each drawn by uPlot (those of the first screen at once)
    assert page.locator("article.device").count() == len(DEVICES)
    expect(page.locator(".plot canvas")).to_have_count(len(DEVICES))
    assert p.visible_devices() == list(DEVICES)
    assert page.text_content("#shown") == "3 of 3 devices"
    # the device named like markup is shown as that text and nothing of it ran
    assert page.locator("article.device h2 .name").nth(2).text_content() == EVIL
    assert page.locator("#devices script, #devices img").count() == 0

    # filter and search
    page.fill("#search", "vimin")
    assert p.visible_devices() == ["B:VIMIN"]
    assert page.text_content("#shown") == "1 of 3 devices"
    page.fill("#search", "SCRIPT")
    assert p.visible_devices() == [EVIL]
    page.fill("#search", "")
    assert p.visible_devices() == list(DEVICES)

    # the per-day tables open on demand; error and warning days are highlighted apart
    for summary in page.locator("details.days summary").all():
        summary.click()
    assert page.locator("article.device").first.locator("tbody tr").count() == 4
    # B:VIMIN: the 2 s gap of 03-02 is a warning; the lost 03-03 is a day without data, said
    # once for the day, no device's error
    assert "(0 with errors, 1 with warnings)" in page.locator(
        "details.days summary").first.text_content()
    assert page.locator("#day-events-list li").all_text_contents() == [
        f"{MISSING_DAY} {NO_DATA_DAY}"]
    assert page.text_content("#day-events-summary").startswith(
        "Days: 1 without data, 0 DataLogger outages")
    assert page.eval_on_selector_all("#filter option", "os => os.map(o => o.textContent)") == [
        "all devices", "devices with errors (1)", "devices with errors or warnings (2)"]

    # the date range moves every x axis and the tables follow
    before = p.x_range(0)
    assert before == [_noon_before("2026-03-01"), _noon_before("2026-03-05")]
    p.set_dates("2026-03-02", "2026-03-02")
    assert [p.x_range(k) for k in range(3)] == [[_noon_before("2026-03-02"),
                                                 _noon_before("2026-03-03")]] * 3
    rows = page.locator("article.device").first.locator("tbody tr")
    assert rows.count() == 1 and rows.first.locator("td").first.text_content() == "2026-03-02"
    assert page.locator("tbody tr.lv-warn").count() == 1  # the gap day of B:VIMIN
    assert page.locator("tbody tr.lv-error").count() == 1  # I:IB's empty day
    # errors and warnings are filtered apart
    page.select_option("#filter", "error")
    assert p.visible_devices() == ["I:IB"]
    page.select_option("#filter", "warn")
    assert p.visible_devices() == ["B:VIMIN", "I:IB"]
    assert page.eval_on_selector_all("#filter option", "os => os.map(o => o.textContent)") == [
        "all devices", "devices with errors (1)", "devices with errors or warnings (2)"]
    p.set_dates("2026-03-04", "2026-03-04")
    assert p.visible_devices() == []
    page.select_option("#filter", "all")

    # a click on a day (table row) shows its numbers and file
    page.click("button[data-days=all]")
    assert p.x_range(0) == before
    ps = small.expected[("B:VIMIN", "2026-03-02")]
    row = page.locator("article.device").first.locator("tbody tr", has_text="2026-03-02")
    row.click()
    assert page.is_visible("#detail")
    assert page.text_content("#detail-title") == "B:VIMIN — 2026-03-02"
    detail = page.text_content("#detail-list")
    assert small.files["2026-03-02"] in detail
    assert f"{100 * ps.completeness:.2f} %" in detail and "Gaps1" in detail
    assert f"line (median){ps.p50:.7g}" in detail
    assert f"mode{round(ps.mode, 7):g}" in detail  # still there, no longer the line
    assert "gap" in page.text_content("#detail-problem")
    # the detail panel follows the filter: B:VIMIN has warnings only, so "errors" hides both
    page.select_option("#filter", "warn")
    assert page.is_visible("#detail")
    p.set_dates("2026-03-02", "2026-03-02")
    page.select_option("#filter", "error")
    assert p.visible_devices() == ["I:IB"] and page.is_hidden("#detail")
    page.select_option("#filter", "all")
    page.click("button[data-days=all]")

    # ... and a click on a point of the plot does too, once the plots made room for the detail
    row.click()
    _until(page, "() => [...document.querySelectorAll('.plot canvas')].every("
                 "s => s.getBoundingClientRect().right <= "
                 "document.getElementById('devices').getBoundingClientRect().right)")
    plot = page.locator(".plot").nth(1)
    plot.evaluate("e => e.scrollIntoView({block: 'center'})")
    x, y = plot.evaluate("""e => {
        const u = e.uplot, i = u.data[0].length - 1, r = u.over.getBoundingClientRect();
        return [r.left + u.valToPos(u.data[0][i], 'x'), r.top + u.valToPos(u.data[3][i], 'y')];
    }""")
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    expect(page.locator("#detail-title")).to_have_text("I:IB — 2026-03-04")
    assert page.text_content(".device:nth-child(2) .readout").startswith("2026-03-04 · median")

    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert p.clean() == []
    page.close()
    _assert_not_blank(browser, shot)


def _until(page, js: str, timeout_s: float = 10.0) -> None:
    """Poll a predicate through Playwright's evaluate (wait_for_function would need eval,
    which the page's CSP forbids)."""
    end = time.monotonic() + timeout_s
    while not page.evaluate(js):
        assert time.monotonic() < end, f"timed out waiting for {js}"
        page.wait_for_timeout(50)


def _assert_not_blank(browser, shot: Path) -> None:
    """Decode the PNG in a blank page's canvas: many colours and real contrast."""
    blank = browser.new_page()
    stats = blank.evaluate("""async (b64) => {
        const img = new Image();
        img.src = 'data:image/png;base64,' + b64;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width; c.height = img.height;
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        const colours = new Set();
        let s = 0, s2 = 0, n = 0;
        for (let i = 0; i < d.length; i += 4 * 5) {
            const v = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
            s += v; s2 += v * v; n++;
            colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        }
        const mean = s / n;
        const std = Math.sqrt(s2 / n - mean * mean);
        return {w: c.width, h: c.height, colours: colours.size, std};
    }""", base64.b64encode(shot.read_bytes()).decode())
    blank.close()
    assert stats["w"] >= 1000 and stats["h"] >= 1000, stats
    assert stats["colours"] > 100 and stats["std"] > 10, stats


def test_page_works_opened_from_disk(published, browser):
    site, _, _ = published
    from playwright.sync_api import expect

    p = Page(browser, (site / "index.html").as_uri())
    assert p.page.evaluate("document.body.dataset.ready") == "1"
    expect(p.page.locator(".plot canvas")).to_have_count(len(DEVICES))
    assert p.clean() == []
    p.page.close()


def test_old_figure_draws_one_titled_row_per_device(published, browser):
    """What the existing site does with StatsHistoryBoringHolyMoly.json: Plotly.newPlot on it.
    A test-only page in a copy of the site, strict CSP, scripts as files."""
    site, _, _ = published
    copy = site.parent / "old-site"
    shutil.copytree(site, copy, dirs_exist_ok=True)
    fig = json.loads((copy / "StatsHistoryBoringHolyMoly.json").read_text())
    (copy / "fig.js").write_text(f"window.FIG = {json.dumps(fig)};")
    (copy / "draw.js").write_text(
        "Plotly.newPlot('g', FIG.data, FIG.layout).then(() => document.body.dataset.ready = 1);")
    (copy / "old.html").write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-'
        "Policy\" content=\"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-"
        "inline'\"></head><body><div id=\"g\"></div><script src=\"plotly.min.js\"></script>"
        '<script src="fig.js"></script><script src="draw.js"></script></body></html>')
    p = Page(browser, (copy / "old.html").as_uri(), details=False)
    assert p.page.locator(".cartesianlayer .subplot").count() == len(DEVICES)
    titles = p.page.eval_on_selector_all(
        ".infolayer g[class^=g-y][class$=title] text", "els => els.map(e => e.textContent)")
    assert titles[:2] == ["B:VIMIN", "I:IB"]  # the first row's title too (see figure.py)
    assert p.page.locator(".scatterlayer .trace").count() == 5 * len(DEVICES)
    assert p.page.locator("#g script, #g img").count() == 0
    assert p.clean() == []
    p.page.close()


SIM_DAY = "2026-11-28"
SIM_DEVICES = ("B:VIMIN", "B_VIMIN", "B|GMPSSC")  # a reading, a setting, a status word


@pytest.fixture(scope="module")
def simulated_day(tmp_path_factory) -> tuple[Path, Path]:
    """One full simulated day of three devices, grabbed, distilled and published as the assets
    do it: (the data file, the site)."""
    from gmpsai_assets.ingest.params import grab_params
    from gmpsai_assets.sim.simulator import SimulatedBooster
    from gmpsai_assets.stats.distill import distill_into_store
    from gmpsai_assets.window import day_window

    root = tmp_path_factory.mktemp("simday")
    settings = Settings.from_env({"GMPSAI_DATA_DIR": str(root)})
    sim = SimulatedBooster()
    try:
        grabbed = grab_params(sim, list(SIM_DEVICES), day_window(SIM_DAY), settings.params_dir,
                              settings.drafts_dir)
    finally:
        sim.close()
    assert distill_into_store(grabbed.path, settings.stats_db_path).ok
    result, _ = publish_from_store(settings)
    return grabbed.path, result.directory


def test_line_and_band_of_a_reading_lie_in_the_days_p01_p99(simulated_day, browser):
    """The old mode of a continuous reading is its minimum (every value distinct); the page's
    line and band must be typical of the day: inside [p01, p99] of the file's own samples,
    read here with h5py and numpy. The old figure keeps the old mode for the old site."""
    import h5py
    import numpy as np

    path, site = simulated_day
    with h5py.File(path, "r") as f:
        values = {d: f[d]["value"][:] for d in SIM_DEVICES}
    v = values["B:VIMIN"]
    p01, p99 = np.percentile(v, [1, 99])
    assert np.unique(v).size == v.size  # the case of the issue: no value repeats

    p = Page(browser, (site / "index.html").as_uri())
    drawn = p.page.evaluate("""() => [...document.querySelectorAll('article.device')].map(a => {
        const e = a.querySelector('.plot'), u = e.uplot;
        return {name: a.querySelector('.name').textContent, x: u.data[0], hi: u.data[1],
                lo: u.data[2], line: u.data[3], ymin: u.scales.y.min, ymax: u.scales.y.max,
                legend: a.querySelector('.line-legend').textContent};
    })""")
    by_name = {d["name"]: d for d in drawn}
    vimin = by_name["B:VIMIN"]
    assert len(vimin["x"]) == 1
    line, lo, hi = vimin["line"][0], vimin["lo"][0], vimin["hi"][0]
    assert p01 <= lo < line < hi <= p99, (p01, lo, line, hi, p99)
    assert vimin["ymin"] <= lo and hi <= vimin["ymax"]  # and on screen
    assert line > v.min()  # not the old mode
    assert vimin["legend"] == "line: median, band: p05–p95, dotted: min and max"

    # a setting is drawn at the value it held longest, a status word at its usual state
    setting, word = values["B_VIMIN"], values["B|GMPSSC"]
    held, counts = np.unique(setting, return_counts=True)
    assert by_name["B_VIMIN"]["line"][0] == held[np.argmax(counts)]
    assert by_name["B_VIMIN"]["lo"][0] is None  # no band: a setting has no spread
    states, counts = np.unique(word, return_counts=True)
    assert by_name["B|GMPSSC"]["line"][0] == states[np.argmax(counts)]
    readout = p.page.evaluate("""() => {
        const a = [...document.querySelectorAll('article.device')].find(
            a => a.querySelector('.name').textContent === 'B|GMPSSC');
        return a.querySelector('.line-legend').textContent;
    }""")
    assert readout == "line: usual state (hex)"
    assert p.clean() == []
    p.page.close()

    old = json.loads((site / "StatsHistoryBoringHolyMoly.json").read_text())
    mode = next(t for t in old["data"] if t["name"] == "B:VIMIN mode")
    assert mode["y"] == [pytest.approx(v.min())]  # unchanged for the old site


WEEK = ("2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28",
        "2026-11-29")
NOT_FETCHED = ("2026-11-24", "2026-11-25")
# a reading with units (the simulator knows B:LINFRQ's, mHz), a reading, a status word, and
# B:IMINST, which the simulator does not log on 2026-11-28 (its one real problem of the week)
WEEK_DEVICES = ("B:VIMIN", "B:LINFRQ", "B|GMPSSC", "B:IMINST")
PROBLEM = ("B:IMINST", "2026-11-28")


@pytest.fixture(scope="module")
def simulated_week(tmp_path_factory) -> tuple[Path, dict[str, list[tuple[float, float]]]]:
    """A week of four simulated devices as an operator would leave it: five days grabbed and
    distilled as the assets do it, two never fetched. Returns the site and the simulator's
    own DataLogger outages of each fetched day (every day of the simulator has some)."""
    from gmpsai_assets.ingest.params import grab_params
    from gmpsai_assets.sim.simulator import SimulatedBooster
    from gmpsai_assets.stats.distill import distill_into_store
    from gmpsai_assets.window import day_window

    root = tmp_path_factory.mktemp("simweek")
    settings = Settings.from_env({"GMPSAI_DATA_DIR": str(root)})
    sim = SimulatedBooster()
    outages = {}
    try:
        for day in WEEK:
            if day in NOT_FETCHED:
                continue
            assert sim.unlogged_device(dt.date.fromisoformat(day)) not in set(
                WEEK_DEVICES) - {PROBLEM[0]}  # the one problem is the one planted
            window = day_window(day)
            outages[day] = sim.outages(window)
            grabbed = grab_params(sim, list(WEEK_DEVICES), window, settings.params_dir,
                                  settings.drafts_dir)
            assert distill_into_store(grabbed.path, settings.stats_db_path).ok
    finally:
        sim.close()
    assert sim.unlogged_device(dt.date.fromisoformat(PROBLEM[1])) == PROBLEM[0]
    result, _ = publish_from_store(settings)
    return result.directory, outages


def test_a_week_with_unfetched_days_shows_its_one_device_problem_once(simulated_week, browser):
    """What an operator sees of the week: one device with errors (the device not logged on one
    day), no device with warnings (every gap of the week is a DataLogger outage), the two days
    never fetched as days without data, each outage of the simulator once in the day list and as
    a mark on the time axis, "data as of" the newest day, the y axis in units where known."""
    from playwright.sync_api import expect

    from gmpsai_assets.window import FERMILAB_TZ, to_local

    site, outages = simulated_week
    p = Page(browser, (site / "index.html").as_uri(),
             now=dt.datetime(2026, 11, 30, 12, 0, tzinfo=FERMILAB_TZ))
    page = p.page
    assert page.eval_on_selector_all("#filter option", "os => os.map(o => o.textContent)") == [
        "all devices", "devices with errors (1)", "devices with errors or warnings (1)"]
    page.select_option("#filter", "warn")
    assert p.visible_devices() == [PROBLEM[0]]
    card = page.locator("article.device", has_text=PROBLEM[0])
    assert "7 days shown · 1 with errors · 0 with warnings" in card.locator(
        ".summary").text_content()
    card.locator("details.days summary").click()
    row = card.locator("tbody tr.lv-error")
    expect(card.locator("tbody tr")).to_have_count(len(WEEK))  # the table is built when opened
    assert row.count() == 1 and row.locator("td").first.text_content() == PROBLEM[1]
    assert "device empty" in row.locator("td.problem").text_content()
    page.select_option("#filter", "all")

    # the week's own events: two days without data and every outage, each once, newest first
    expected = [f"{day} {NO_DATA_DAY}" for day in reversed(NOT_FETCHED)]
    lines = page.locator("#day-events-list li").all_text_contents()
    assert [line for line in lines if "no data" in line] == expected
    told = [line for line in lines if "DataLogger outage" in line]
    assert len(told) == sum(len(v) for v in outages.values()) == 16
    for day, spans in outages.items():
        for a, _end in spans:  # each within a tick of the simulator's (last sample before it)
            start = to_local(a).strftime("%H:%M:%S")
            mine = [line for line in told if line.startswith(f"{day} DataLogger outage ")]
            assert any(abs(_clock_s(line.split()[3].split("–")[0]) - _clock_s(start)) <= 1
                       for line in mine), (day, start, mine)
            assert all(line.endswith("no samples from 4 of 4 devices") for line in mine)
    assert page.text_content("#day-events-summary").startswith(
        "Days: 2 without data, 16 DataLogger outages")

    # "data as of": the newest day, due tomorrow 05:30 by the browser's clock
    assert page.text_content("#freshness") == (
        "Data as of 2026-11-29; 2026-11-30 is due by 2026-12-01 05:30 CST.")
    assert page.get_attribute("#freshness", "class") == "fresh"

    # a mark on the time axis where the week's longest outage was, a grey column on a day
    # without data and none on a day with data
    a, b = max((span for spans in outages.values() for span in spans), key=lambda s: s[1] - s[0])
    longest = [to_local(t).strftime("%Y-%m-%d %H:%M:%S") for t in (a, b)]
    vimin = page.locator(".plot").first
    colours = vimin.evaluate("""(e, args) => {
        const u = e.uplot, r = devicePixelRatio;
        const at = (x, y) => [...u.ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data];
        const xOf = (t) => Date.parse(t.replace(' ', 'T') + 'Z') / 1000;
        const bottom = u.bbox.top + u.bbox.height;
        const mid = (u.valToPos(xOf(args[0]), 'x', true) + u.valToPos(xOf(args[1]), 'x', true)) / 2;
        const noData = u.valToPos(xOf(args[2] + ' 12:00:00'), 'x', true);
        return {mark: at(mid, bottom - 2 * r), noData: at(noData, u.bbox.top + 3 * r),
                ok: at(u.valToPos(xOf('2026-11-26 12:00:00'), 'x', true), u.bbox.top + 3 * r)};
    }""", [*longest, NOT_FETCHED[0]])
    assert colours["mark"][:3] == [0x7b, 0x3f, 0xa0], colours  # the outage colour
    assert colours["noData"][3] > 0 and colours["ok"][3] == 0, colours  # grey there, not here
    labels = page.evaluate("() => [...document.querySelectorAll('article.device')].map("
                           "a => [a.querySelector('.name').textContent,"
                           " a.querySelector('.plot').uplot.axes[1].label ?? null])")
    assert dict(labels) == {"B:VIMIN": None, "B:LINFRQ": "mHz", "B|GMPSSC": None,
                            "B:IMINST": None}  # only B:LINFRQ's units are known

    # a day's detail says the outage once, and that the device's gaps were the outage's
    card = page.locator("article.device").first
    card.locator("details.days summary").click()
    expect(card.locator("tbody tr")).to_have_count(len(WEEK))
    card.locator("tbody tr", has_text="2026-11-27").click()
    expect(page.locator("#detail-title")).to_have_text("B:VIMIN — 2026-11-27")
    assert page.locator("#detail-day li").all_text_contents() == [
        line.split(" ", 1)[1] for line in told if line.startswith("2026-11-27")]
    detail = page.text_content("#detail-list")
    assert "Gaps2 (2 in the DataLogger outage, 0 its own)" in detail
    assert page.text_content("#detail-problem") == "ok"
    assert p.clean() == []
    page.close()

    # the same page a day and a half later: the newest day is past its deadline, and the page
    # says so loudly by the browser's own clock, whatever it said when it was published
    late = Page(browser, (site / "index.html").as_uri(),
                now=dt.datetime(2026, 12, 1, 6, 0, tzinfo=FERMILAB_TZ))
    assert late.page.get_attribute("#freshness", "class") == "overdue"
    assert late.page.text_content("#freshness") == (
        "Data as of 2026-11-29. OVERDUE: 2026-11-30 was due by 2026-12-01 05:30 CST "
        "(the published_json deadline) and is not here.")
    assert late.clean() == []
    late.page.close()


def _clock_s(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return 3600 * h + 60 * m + s
