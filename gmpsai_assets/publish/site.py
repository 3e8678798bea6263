"""Write the published site: the page, its data and the old figure, each file atomically.

    <publish dir>/index.html, app.js, style.css,  the page (copied from publish/static)
                 favicon.svg
                 uPlot.iife.min.js, uPlot.min.css the page's plotting library, from the npm
                 uPlot.LICENSE                    registry (publish/vendor, `make install`)
                 plotly.min.js                    plotly.js as bundled in the `plotly` package,
                                                  for the old figure (the page does not load it)
                 gmpsai-site.json                 the page's data (publish/rich.py): what the
                                                  first screen draws
                 gmpsai-days.json                 the rest of each day's figures, fetched after
                                                  the first screen (rich.split_document)
                 gmpsai-site.js, gmpsai-days.js   the same data as scripts, for file:// pages
                 StatsHistoryBoringHolyMoly.json  the old figure (publish/figure.py), name set by
                                                  GMPSAI_PUBLISH_JSON_NAME

Every file goes through files/drafts.drafted: written in the draft directory, renamed into place
when complete, so a web server or a reader never sees half a file. Unchanged files (the page,
the libraries) are left alone, which keeps their modification times meaningful to browsers'
caches. Data goes before index.html, so a browser that sees a new page also finds its data.

Why uPlot and not plotly.js for the page: docs/page.md (loading plotly.min.js alone took 1.3 s
of a 1.95 s first screen; uPlot is 50 KB).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from gmpsai_assets.acnet.devices import load_device_list
from gmpsai_assets.files.drafts import drafted
from gmpsai_assets.publish.figure import legacy_figure
from gmpsai_assets.publish.load import StoreSnapshot, read_store
from gmpsai_assets.publish.rich import (
    PAGE_ASSET,
    device_order,
    site_document,
    split_document,
)
from gmpsai_assets.quality import Level
from gmpsai_assets.settings import Settings
from gmpsai_assets.stats.store import StoreMissingError

SITE_JSON = "gmpsai-site.json"
SITE_JS = "gmpsai-site.js"
DAYS_JSON = "gmpsai-days.json"
DAYS_JS = "gmpsai-days.js"
PAGE_FILES = ("style.css", "app.js", "favicon.svg")  # index.html is written last
# (name in the site, path under publish/vendor/node_modules)
VENDOR_FILES = (("uPlot.iife.min.js", "uplot/dist/uPlot.iife.min.js"),
                ("uPlot.min.css", "uplot/dist/uPlot.min.css"),
                ("uPlot.LICENSE", "uplot/LICENSE"))
# The page's only sources are its own files: no inline script or style, no eval, no other
# origin (uPlot sets styles through the CSSOM, which CSP does not govern). A test drives the
# page in Chromium and fails on any CSP report.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'")


class VendorMissingError(RuntimeError):
    """The page's plotting library was never installed (`make install` runs npm ci)."""


@dataclass(frozen=True)
class SiteResult:
    """What a publication wrote and what its page says, in the page's own counts."""

    directory: Path
    index: Path
    legacy_json: Path
    devices: int
    days: int  # device-days shown
    bad_days: int  # device-days with an error
    warn_days: int  # device-days with a warning
    bytes: int  # of the files this publication wrote
    written: list[str] = field(default_factory=list)  # names (re)written, unchanged ones not
    devices_with_errors: int = 0  # the page's "devices with errors (N)"
    devices_with_errors_or_warnings: int = 0  # its "devices with errors or warnings (N)"
    no_data_days: int = 0  # days between the first and the newest without any data
    outages: int = 0  # DataLogger outages, each once
    data_as_of: str | None = None  # the newest day with data
    overdue: bool = False  # the day after it is past the page's deadline (deadlines.py)


def plotly_js() -> Path:
    """The plotly.js bundled in the `plotly` Python package: offline, version pinned by pip."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def _static(name: str) -> bytes:
    return (resources.files("gmpsai_assets.publish") / "static" / name).read_bytes()


def vendor_files() -> list[tuple[str, bytes]]:
    """The page's libraries as npm installed them from package-lock.json (never copies kept in
    the repository). VendorMissingError, naming the fix, when `make install` did not run."""
    root = resources.files("gmpsai_assets.publish") / "vendor" / "node_modules"
    out = []
    for name, rel in VENDOR_FILES:
        path = root.joinpath(*rel.split("/"))
        if not path.is_file():
            raise VendorMissingError(
                f"the page's plotting library is not installed ({rel} missing): run "
                f"`make install` (npm ci in gmpsai_assets/publish/vendor)")
        out.append((name, path.read_bytes()))
    return out


def page_html() -> bytes:
    """index.html with its CSP."""
    return _static("index.html").decode().replace("__CSP__", CSP).encode()


def write_atomic(final: Path, data: bytes, drafts_dir: Path, only_if_changed: bool = False) -> bool:
    """Publish `data` as `final` via a draft and a rename; False when `only_if_changed` and the
    file already holds exactly these bytes."""
    if only_if_changed and final.is_file() and final.stat().st_size == len(data) \
            and final.read_bytes() == data:
        return False
    with drafted(final, drafts_dir) as draft:
        draft.write_bytes(data)
    return True


def json_bytes(doc: dict) -> bytes:
    """Strict JSON (no NaN: every reader can parse it), ASCII so the encoding never matters."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def data_script(doc: dict, name: str = "window.GMPSAI_SITE") -> bytes:
    """The page's data as a script that sets a global. `<` is escaped so the text stays inert
    even if someone pastes it inside a <script> element."""
    text = json_bytes(doc).decode().replace("<", "\\u003c")
    return f"{name} = {text};\n".encode()


def publish_site(
    out_dir: Path, drafts_dir: Path, figure: dict, document: dict,
    json_name: str = "StatsHistoryBoringHolyMoly.json",
) -> SiteResult:
    """Write the whole site into `out_dir` (created if needed)."""
    if "/" in json_name or json_name in ("", ".", "..") or json_name.startswith("."):
        raise ValueError(f"the old figure's file name must be a plain file name: {json_name!r}")
    # Everything is serialized before anything is written: a document that cannot be
    # published (say a NaN) leaves the previous site untouched, not half replaced.
    overview, details = split_document(document)
    files = [  # (name, bytes, only if changed), in writing order
        ("plotly.min.js", plotly_js().read_bytes(), True),
        *[(name, data, True) for name, data in vendor_files()],
        *[(name, _static(name), True) for name in PAGE_FILES],
        (DAYS_JSON, json_bytes(details), False),  # before the overview that leads to it
        (DAYS_JS, data_script(details, "window.GMPSAI_DAYS"), False),
        (SITE_JSON, json_bytes(overview), False),
        (SITE_JS, data_script(overview), False),
        (json_name, json_bytes(figure), False),
        ("index.html", page_html(), True),
    ]
    written: list[str] = []
    total = 0
    for name, data, only_if_changed in files:
        if write_atomic(out_dir / name, data, drafts_dir, only_if_changed):
            written.append(name)
            total += len(data)
    levels = [lv for d in document["devices"] for lv in d["days"]["level"]]
    per_device = [set(d["days"]["level"]) for d in document["devices"]]
    fresh = document.get("freshness") or {}
    return SiteResult(
        directory=out_dir, index=out_dir / "index.html", legacy_json=out_dir / json_name,
        devices=len(document["devices"]), days=len(levels), bad_days=levels.count(Level.ERROR),
        warn_days=levels.count(Level.WARN), bytes=total, written=written,
        devices_with_errors=sum(Level.ERROR in lv for lv in per_device),
        devices_with_errors_or_warnings=sum(bool({Level.ERROR, Level.WARN} & lv)
                                            for lv in per_device),
        no_data_days=len(document.get("no_data_days", [])),
        outages=len(document.get("outages", {}).get("day", [])),
        data_as_of=fresh.get("data_as_of"), overdue=bool(fresh.get("overdue")),
    )


class PublishRefusedError(RuntimeError):
    """Publishing would replace a page that shows statistics with one that shows none."""


def published_document(out_dir: Path) -> dict | None:
    """The page's first-screen document as published in `out_dir` (None: none, or unreadable),
    so what is said of the page (`gmpsai materialize-day`) is what the page says."""
    try:
        doc = json.loads((out_dir / SITE_JSON).read_bytes())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def published_devices(out_dir: Path) -> int:
    """How many devices the page published in `out_dir` shows (0: no page, or unreadable)."""
    try:
        doc = json.loads((out_dir / SITE_JSON).read_bytes())
        return len(doc["devices"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def publish_from_store(
    settings: Settings, out_dir: Path | None = None, now: float | None = None
) -> tuple[SiteResult, bool]:
    """Read the statistics store and publish the site; every device with statistics, those of
    the configured list first in list order. A store that does not exist yet publishes an
    empty page on a fresh install; but an empty or missing store never replaces a page that
    shows devices (PublishRefusedError): that is a store moved or a GMPSAI_STATS_DB / data
    directory pointing elsewhere, not statistics that vanished. Returns (result, whether the
    store existed)."""
    out_dir = out_dir or settings.site_dir
    try:
        snapshot = read_store(settings.stats_db_path)
        found = True
    except StoreMissingError:
        snapshot, found = StoreSnapshot([], [], []), False
    listed = [e.device for e in load_device_list(settings.param_list)]
    present = set(snapshot.devices)
    shown = published_devices(out_dir)
    if not present and shown:
        state = "holds no statistics" if found else "does not exist"
        raise PublishRefusedError(
            f"the statistics store {settings.stats_db_path} {state} (GMPSAI_STATS_DB, "
            f"GMPSAI_DATA_DIR): the page in {out_dir} keeps its {shown} devices"
        )
    devices = device_order([d for d in listed if d in present], present)
    document = site_document(
        snapshot.days, devices, time.time() if now is None else now,
        settings.completeness_limits, snapshot.problems, snapshot.device_info,
        settings.deadlines.of(PAGE_ASSET),
    )
    figure = legacy_figure(devices, snapshot.points)
    result = publish_site(out_dir, settings.drafts_dir, figure, document,
                          settings.publish_json_name)
    return result, found
