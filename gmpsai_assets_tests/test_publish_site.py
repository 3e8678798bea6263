"""Publishing the site: what lands in the publish directory, the CSP, and atomicity (a reader
never sees half a file, a failed publication leaves the previous one intact)."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import plotly.offline
import pytest

from gmpsai_assets.publish.site import (
    CSP,
    DAYS_JS,
    DAYS_JSON,
    SITE_JS,
    SITE_JSON,
    VendorMissingError,
    json_bytes,
    publish_from_store,
    publish_site,
    vendor_files,
)
from gmpsai_assets.settings import Settings
from gmpsai_assets_tests.test_publish_support import EVIL, build_store

SITE_FILES = {"index.html", "app.js", "style.css", "favicon.svg", "plotly.min.js", SITE_JSON,
              SITE_JS, DAYS_JSON, DAYS_JS, "StatsHistoryBoringHolyMoly.json",
              "uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"}
VENDOR = Path(__file__).parents[1] / "gmpsai_assets" / "publish" / "vendor"


def _settings(tmp_path, **env):
    return Settings.from_env({"GMPSAI_DATA_DIR": str(tmp_path), **env})


def test_publish_writes_the_whole_site(tmp_path):
    build_store(tmp_path)
    result, found = publish_from_store(_settings(tmp_path))
    site = tmp_path / "site"
    assert found and result.directory == site
    assert {p.name for p in site.iterdir()} == SITE_FILES
    # the old figure's plotly.js: the bundle plotly's own API hands out, not our path to it
    assert (site / "plotly.min.js").read_bytes() == plotly.offline.get_plotlyjs().encode()
    # uPlot as npm installed it from the lock file, its licence beside it
    lock = json.loads((VENDOR / "package-lock.json").read_text())
    version = lock["packages"]["node_modules/uplot"]["version"]
    assert (site / "uPlot.iife.min.js").read_text().startswith(
        f"/*! https://github.com/leeoniya/uPlot (v{version}) */")
    assert "MIT" in (site / "uPlot.LICENSE").read_text()
    doc = json.loads((site / SITE_JSON).read_text())
    js = (site / SITE_JS).read_text()
    assert js.startswith("window.GMPSAI_SITE = ") and js.endswith(";\n")
    assert json.loads(js[len("window.GMPSAI_SITE = "):-2]) == doc
    assert "<" not in js  # inert even if pasted into a <script> element
    assert EVIL in [d["name"] for d in doc["devices"]]
    days = json.loads((site / DAYS_JSON).read_text())
    days_js = (site / DAYS_JS).read_text()
    assert json.loads(days_js[len("window.GMPSAI_DAYS = "):-2]) == days and "<" not in days_js
    assert [d["name"] for d in days["devices"]] == [d["name"] for d in doc["devices"]]
    old = json.loads((site / "StatsHistoryBoringHolyMoly.json").read_text())
    assert old["layout"]["grid"]["rows"] == 3
    # the lost 03-03 is a day without data, once, not an error of each device; I:IB's empty
    # day is the one error, B:VIMIN's gap the one warning (three devices: no outage)
    assert (result.devices, result.days, result.bad_days, result.warn_days) == (3, 12, 1, 1)
    assert (result.devices_with_errors, result.devices_with_errors_or_warnings) == (1, 2)
    assert (result.no_data_days, result.outages, result.data_as_of) == (1, 0, "2026-03-04")
    assert result.overdue  # published now, long after 2026-03-05 was due
    assert not list((tmp_path / "drafts").iterdir())  # no draft left behind


def test_page_forbids_inline_script_and_other_origins(tmp_path):
    build_store(tmp_path)
    publish_from_store(_settings(tmp_path))
    html = (tmp_path / "site" / "index.html").read_text()
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert meta and meta.group(1) == CSP
    policy = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP and "http" not in CSP
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son\w+=", html)  # no inline event handlers
    assert "style=" not in html
    assert policy["style-src"] == "'self'"  # uPlot needs no inline style element
    assert re.findall(r'<script src="([^"]+)"', html) == ["uPlot.iife.min.js", "app.js"]
    assert "plotly" not in html  # the page does not load plotly.js (docs/page.md)


def test_a_missing_plotting_library_says_how_to_install_it(tmp_path, monkeypatch):
    from gmpsai_assets.publish import site

    assert [name for name, _ in vendor_files()] == [n for n, _ in site.VENDOR_FILES]
    monkeypatch.setattr(site, "VENDOR_FILES", (("uPlot.iife.min.js", "uplot/dist/gone.js"),))
    with pytest.raises(VendorMissingError, match="make install"):
        publish_site(tmp_path / "site", tmp_path / "drafts", {}, {"devices": []})
    assert not (tmp_path / "site").exists()  # nothing half published


def test_settings_choose_directory_and_old_json_name(tmp_path):
    build_store(tmp_path)
    out = tmp_path / "www"
    result, _ = publish_from_store(_settings(
        tmp_path, GMPSAI_PUBLISH_DIR=str(out), GMPSAI_PUBLISH_JSON_NAME="Old.json"))
    assert result.legacy_json == out / "Old.json" and (out / "Old.json").is_file()
    assert (out / "index.html").is_file() and not (tmp_path / "site").exists()


def test_unchanged_page_files_are_not_rewritten(tmp_path):
    build_store(tmp_path)
    first, _ = publish_from_store(_settings(tmp_path))
    again, _ = publish_from_store(_settings(tmp_path))
    assert set(first.written) == SITE_FILES
    assert set(again.written) == {SITE_JSON, SITE_JS, DAYS_JSON, DAYS_JS,
                                  "StatsHistoryBoringHolyMoly.json"}


def test_no_store_yet_publishes_an_empty_page(tmp_path):
    result, found = publish_from_store(_settings(tmp_path))
    assert not found and result.devices == 0
    assert json.loads((tmp_path / "site" / SITE_JSON).read_text())["devices"] == []


def test_a_reader_never_sees_half_a_file(tmp_path):
    """Publish big and small documents in turn while another thread keeps reading: every read
    is a complete JSON document that was published."""
    site, drafts = tmp_path / "site", tmp_path / "drafts"
    docs = [{"devices": [], "files": [], "pad": "x" * n} for n in (3_000_000, 10, 1_500_000)]
    published = {json_bytes(d) for d in docs}
    publish_site(site, drafts, {"data": [], "layout": {}}, docs[0])
    stop, bad = threading.Event(), []
    seen = threading.Condition()
    reads = [0]

    def read() -> None:
        while not stop.is_set():
            data = (site / SITE_JSON).read_bytes()
            if data not in published:
                bad.append(len(data))
            names = {p.name for p in site.iterdir() if not p.name.startswith(".")}
            if not names <= SITE_FILES:
                bad.append(names)
            with seen:
                reads[0] += 1
                seen.notify_all()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(30):
            with seen:
                before = reads[0]
            publish_site(site, drafts, {"data": [], "layout": {}}, docs[i % 3])
            with seen:  # the reader read again after this publish (a condition, not a speed)
                assert seen.wait_for(lambda b=before: reads[0] >= b + 2, timeout=120)
    finally:
        stop.set()
        reader.join()
    assert reads[0] >= 60 and not bad


def test_a_failed_publication_keeps_the_previous_site(tmp_path):
    site, drafts = tmp_path / "site", tmp_path / "drafts"
    publish_site(site, drafts, {"data": [], "layout": {}}, {"devices": [], "files": []})
    before = {p.name: p.read_bytes() for p in site.iterdir()}
    with pytest.raises(ValueError):  # NaN is not JSON: refused before anything is written
        publish_site(site, drafts, {"data": [{"y": [float("nan")]}], "layout": {}},
                     {"devices": [], "files": []})
    with pytest.raises(ValueError, match="plain file name"):
        publish_site(site, drafts, {}, {"devices": []}, json_name="../evil.json")
    assert {p.name: p.read_bytes() for p in site.iterdir()} == before
    assert not list(drafts.iterdir())
