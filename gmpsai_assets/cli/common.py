"""Shared CLI pieces: the one-line error parser and the errors that count as user mistakes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn

from gmpsai_assets.acnet.datalogger import DataLoggerError
from gmpsai_assets.acnet.devices import DeviceListError, DeviceNameError
from gmpsai_assets.catalog.declaration import CatalogError
from gmpsai_assets.catalog.send import SendSetupError
from gmpsai_assets.files.drafts import OutputDirError
from gmpsai_assets.files.naming import SupersededError
from gmpsai_assets.files.paramfile import DataFileError
from gmpsai_assets.ingest.params import NoDataError
from gmpsai_assets.publish.site import VendorMissingError
from gmpsai_assets.settings import SettingsError
from gmpsai_assets.stats.legacy_db import LegacyDbError
from gmpsai_assets.stats.store import StoreError
from gmpsai_assets.timeline.store import LegacyImportError, TimelineStoreError
from gmpsai_assets.window import WindowError


class UsageError(ValueError):
    """Options that do not fit together."""


USER_ERRORS: tuple[type[Exception], ...] = (
    WindowError, DeviceListError, DeviceNameError, SettingsError, OutputDirError,
    NoDataError, DataFileError, DataLoggerError, SupersededError,
)
USER_ERRORS += (StoreError, LegacyDbError, LegacyImportError, TimelineStoreError)
USER_ERRORS += (CatalogError, SendSetupError, VendorMissingError)


def given(option: str, value: str | None) -> str | None:
    """An option's value, None when not given; an empty value is an error, never the default."""
    if value is not None and not value.strip():
        raise UsageError(f"{option} is empty (leave the option out for its default)")
    return value


def stderr_progress(verbose: bool) -> Callable[[str], None] | None:
    """With -v, progress lines on stderr, flushed so a long run shows as it goes (stdout keeps
    the result); else None."""
    return (lambda line: print(line, file=sys.stderr, flush=True)) if verbose else None


def make_parser_class() -> type[argparse.ArgumentParser]:
    class OneLineErrors(argparse.ArgumentParser):
        """argparse that reports a bad option in one line (no usage dump) and exits 2."""

        def error(self, message: str) -> NoReturn:
            print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
            raise SystemExit(2)

    return OneLineErrors
