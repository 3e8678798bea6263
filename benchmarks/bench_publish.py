"""Publishing a year of statistics: store reads, documents, atomic writes, and the page in Chromium.

    python -m benchmarks publish            # 47 devices x 365 days
    python -m benchmarks publish --quick    # 47 devices x 60 days

A store of one parameter file per local day, 47 devices each, is built through the store's API
(statistics from small real arrays: the numbers' values do not change the work). Each figure is
set beside a floor measured in the same run:

- reading what the publisher needs (pivoted legacy view + current view joined with files) beside
  a plain scan of the same rows;
- building both documents beside json.dumps of the same rows as plain dicts;
- publishing (serialize + one draft-and-rename per file) beside writing the same bytes in place;
- the page in headless Chromium until the plots near the first screen are drawn (the rest are
  drawn as they are scrolled to), beside a page that only loads plotly.min.js (when Debian's
  chromium is installed).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import Row, median_seconds, print_table
from gmpsai_assets.acnet.devices import load_device_list
from gmpsai_assets.files.naming import PARAM_PREFIX, data_file_name
from gmpsai_assets.publish.figure import legacy_figure
from gmpsai_assets.publish.load import read_store
from gmpsai_assets.publish.rich import site_document
from gmpsai_assets.publish.site import SITE_JS, SITE_JSON, data_script, json_bytes, publish_site
from gmpsai_assets.stats import store
from gmpsai_assets.stats.compute import param_stats
from gmpsai_assets.window import day_window

START = "2025-01-01"
OLD_JSON = "StatsHistoryBoringHolyMoly.json"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def build(db: Path, days: int) -> list[str]:
    devices = [e.device for e in load_device_list()]
    first = dt.date.fromisoformat(START)
    rng = np.random.default_rng(7)
    for k in range(days):
        window = day_window(first + dt.timedelta(days=k))
        t = window.start + np.arange(200) * 400.0
        params = [param_stats(d, t, 100.0 + i + rng.normal(0, 0.1, t.size), window)
                  for i, d in enumerate(devices)]
        name = data_file_name(PARAM_PREFIX, "MLrn", window, 1_700_000_000 + k)
        rec = store.FileRecord(name, f"/data/params/{name}", "params", "gmpsai-params/1", "new",
                               "MLrn", window.start, window.end, 1.7e9 + k, 1, 0.0, None, "ok",
                               "", time.time(), 0.0)
        store.replace_file(db, rec, params)
    return devices


def scan(db: Path) -> int:
    with store.reader(db) as con:
        a = con.execute("SELECT * FROM param_stats_current").fetchall()
        b = con.execute("SELECT * FROM ACNETparameterStats").fetchall()
    return len(a) + len(b)


def write_plain(out: Path, blobs: dict[str, bytes]) -> None:
    for name, data in blobs.items():
        (out / name).write_bytes(data)


def page_seconds(url: str, ready: str) -> float | None:
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                           "--disable-background-networking"])
        try:
            def load() -> None:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url)
                page.wait_for_selector(ready, state="attached", timeout=120_000)
                page.close()
            return median_seconds(load, 3)
        finally:
            browser.close()


def main() -> None:
    days = 60 if "--quick" in sys.argv else 365
    with tempfile.TemporaryDirectory(prefix="bench_publish_") as tmp:
        root = Path(tmp)
        db = root / "gmpsai.duckdb"
        began = time.perf_counter()
        devices = build(db, days)
        print(f"store: {len(devices)} devices x {days} days built in "
              f"{time.perf_counter() - began:.1f} s")
        rows: list[Row] = []

        snap = read_store(db)
        rows.append(Row("read store (figure + page queries)",
                        median_seconds(lambda: read_store(db)),
                        median_seconds(lambda: scan(db)), floor_name="plain scan of both views"))

        def documents() -> tuple[dict, dict]:
            return (site_document(snap.days, devices, time.time()),
                    legacy_figure(devices, snap.points))

        plain = [d.__dict__ for d in snap.days]
        rows.append(Row("build page JSON + old figure", median_seconds(documents),
                        median_seconds(lambda: json.dumps(plain)),
                        floor_name="json.dumps of the rows"))

        doc, fig = documents()
        site = root / "site"
        publish_site(site, root / "drafts", fig, doc)
        static = {p.name: p.read_bytes() for p in site.iterdir()
                  if p.name not in (SITE_JSON, SITE_JS, OLD_JSON)}
        plain_dir = root / "plain"
        plain_dir.mkdir()

        def plain_write() -> None:
            write_plain(plain_dir, {**static, SITE_JSON: json_bytes(doc),
                                    SITE_JS: data_script(doc), OLD_JSON: json_bytes(fig)})

        rows.append(Row("publish site (serialize, draft + rename)",
                        median_seconds(lambda: publish_site(site, root / "drafts", fig, doc)),
                        median_seconds(plain_write),
                        floor_name="serialize, write in place"))

        (site / "blank.html").write_text('<!DOCTYPE html><body><script src="plotly.min.js">'
                                          '</script><script src="blank.js"></script></body>')
        (site / "blank.js").write_text("document.body.dataset.ready = '1';")
        page = page_seconds((site / "index.html").as_uri(), "body[data-plots]")
        if page is not None:
            rows.append(Row("page in Chromium: first screen of plots drawn", page,
                            page_seconds((site / "blank.html").as_uri(), "body[data-ready]")
                            or float("nan"), floor_name="load plotly.min.js only"))
        print_table(f"publishing {len(devices)} devices x {days} days (median of 3)", rows)
        print(f"\ngmpsai-site.json {len(json_bytes(doc)) / 1e6:.1f} MB, "
              f"{doc_rows(doc)} device-days; old figure {len(json_bytes(fig)) / 1e6:.1f} MB")


def doc_rows(doc: dict) -> int:
    return sum(len(d["days"]["day"]) for d in doc["devices"])


if __name__ == "__main__":
    main()
