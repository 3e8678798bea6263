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


# Bad input: the command as typed, a setting, or a database named by either that is not one.
USER_ERRORS: tuple[type[Exception], ...] = (
    UsageError, WindowError, DeviceListError, DeviceNameError, SettingsError,
    CatalogError, SendSetupError, LegacyDbError, StoreError,
)
# The work failed: the DataLogger, the disk, a store, a file's content. Reported in one line too.
WORK_ERRORS: tuple[type[Exception], ...] = (
    DataLoggerError, NoDataError, SupersededError, OutputDirError, DataFileError,
    TimelineStoreError, LegacyImportError, VendorMissingError, OSError,
)

EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED = 2, 1, 130
EXIT_STATUS = (
    "exit status (every gmpsai command): 0 done: everything asked for was fetched, written or "
    "checked (a device or event the DataLogger has no data for is 'empty', and failed quality "
    "checks are printed, not counted); 1 failed or incomplete: a device or event 'failed' or "
    "'partial' (a file with the rest is published and records which: run again to fill it), an "
    "unreachable DataLogger, a file that did not distill, a failed run, an OS error such as a "
    "full disk; 2 bad input (the command line, a date, a device name, a setting): nothing was "
    "done; 130 interrupted."
)


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
