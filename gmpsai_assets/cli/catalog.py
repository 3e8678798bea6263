"""Declare data files for the file catalogues (MetaCat, Rucio), or verify declared files.

`gmpsai catalog DIR` (re)writes `<file name>.json` beside every data file (.h5, new or old
format) under DIR: size, adler32, md5 and metadata, read through the same one-pass reader as
`distill` (statistics are not stored). A file that cannot be read gets no declaration (and
loses a stale one); the exit status is then 1, as when a configured catalogue refuses one.
With GMPSAI_METACAT_URL or GMPSAI_RUCIO_RSE set, each declaration is also sent there. Cycle
tables (.parquet) are declared by the asset that writes them, with their parents; here they
are only verified.

`gmpsai catalog --verify DIR` re-computes the checksums of every declared file under DIR and
lists each one whose bytes no longer match (MISMATCH), whose file is gone (MISSING) or whose
declaration cannot be read (UNREADABLE); data files without a declaration are listed as
UNDECLARED. Exit status: 0 all declared files match, 1 at least one does not, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gmpsai_assets.catalog.declaration import check_namespace, declare_data_file, withdraw
from gmpsai_assets.catalog.send import SendError, SendSetupError, Targets, send
from gmpsai_assets.catalog.verify import verify_dir, visible_files
from gmpsai_assets.cli.common import UsageError
from gmpsai_assets.stats.distill import distill_file

NAME = "catalog"
HELP = "write (or --verify) the catalogue declaration <file>.json of every data file in a directory"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", metavar="DIR", help="directory searched recursively for data files")
    p.add_argument("--verify", action="store_true",
                   help="re-compute checksums and list every declared file whose bytes no longer "
                        "match; exit 1 if any")
    p.add_argument("--namespace", metavar="NS",
                   help="MetaCat namespace / Rucio scope (default: $GMPSAI_CATALOG_NAMESPACE "
                        "or gmpsai)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="with --verify: print only the files that fail")


def run(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory")
    settings = args.settings
    if args.verify:
        return _verify(directory, args.quiet)
    namespace = check_namespace(args.namespace or settings.catalog_namespace)
    return _declare(directory, namespace, Targets.from_settings(settings))


def _declare(directory: Path, namespace: str, targets: Targets) -> int:
    failed = declared = 0
    for path in visible_files(directory):
        if path.suffix != ".h5":
            continue
        result = distill_file(path)
        if not result.ok:
            withdraw(path)
            print(f"FAILED     {path}: {result.record.error}", flush=True)
            failed += 1
            continue
        decl = declare_data_file(result.info, result.dataset_rows(), result.digests, namespace)
        declared += 1
        print(f"declared   {decl.sidecar}  {decl.size} bytes adler32 {decl.adler32} "
              f"md5 {decl.md5}", flush=True)
        try:
            sent = send(decl, targets)
        except SendSetupError:
            raise
        except SendError as exc:
            print(f"NOT SENT   {path}: {exc}", flush=True)
            failed += 1
            continue
        for line in sent:
            print(f"           {line}", flush=True)
    print(f"{declared} file(s) declared in namespace {namespace}"
          + (f", {failed} failed" if failed else ""))
    return 1 if failed else 0


def _verify(directory: Path, quiet: bool) -> int:
    verdicts = verify_dir(directory)
    for v in verdicts:
        if v.failed or not quiet:
            print(v.line(), file=sys.stdout, flush=True)
    bad = sum(v.failed for v in verdicts)
    ok = sum(v.status == "ok" for v in verdicts)
    print(f"{ok} match, {bad} do not, "
          f"{sum(v.status == 'undeclared' for v in verdicts)} undeclared")
    return 1 if bad else 0
