"""Debian's chromium for the browser tests (`make test` installs it), launched headless the one
way both the page test and the Dagster UI test use."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: skip where chromium is missing, except in CI, which must run the browser tests
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                                    reason="Debian chromium is installed by `make test`")


def launch(playwright: Any) -> Any:
    """A headless chromium browser from a running `sync_playwright()`; the caller closes it."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )
