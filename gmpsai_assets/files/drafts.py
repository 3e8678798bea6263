"""Draft-then-publish: the output directory only ever holds complete files.

A file is written under the draft directory and moved into the output directory when it is
closed. On one filesystem that move is an atomic rename; across filesystems the draft is copied to
a hidden name (leading `.`) beside the target, fsynced, and renamed. Readers and the file sensor
ignore hidden names, so either way nobody sees a half-written file under its real name.

A draft's name says who writes it (`<stem>.<pid>@<host>.<random>.draft`), so the drafts a killed
run left behind are recognised and removed (`remove_stale_drafts`, at every new draft and by the
housekeeping job) while a live writer's draft is never touched.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DRAFT_SUFFIX = ".draft"
_WRITER_RE = re.compile(r"\.(?P<pid>\d+)@(?P<host>[A-Za-z0-9-]*)\.[A-Za-z0-9_]+\.draft$")
# A draft without a writer tag (written before drafts were tagged) counts as stale once nobody
# has written to it for this long: every writer adds to its draft device by device.
UNTAGGED_STALE_S = 24 * 3600.0


def _host() -> str:
    """This host and pid namespace: pids are only comparable within one (containers share
    host names with host networking yet number their processes apart)."""
    try:
        namespace = f"-{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        namespace = ""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:48] + namespace


def _alive(pid: int) -> bool:
    """Is process `pid` running on this host? (A reused pid reads as alive: the safe side.)"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def is_stale_draft(path: Path, now: float | None = None) -> bool:
    """A draft whose writer is gone: a process of this host that no longer runs, or (untagged
    drafts) one untouched for UNTAGGED_STALE_S. Drafts of other hosts are never judged."""
    if not path.name.endswith(DRAFT_SUFFIX):
        return False
    m = _WRITER_RE.search(path.name)
    if m:
        return m["host"] == _host() and not _alive(int(m["pid"]))
    try:
        age = (now if now is not None else time.time()) - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age > UNTAGGED_STALE_S


def remove_stale_drafts(draft_dir: Path) -> list[Path]:
    """Delete the drafts in `draft_dir` whose writer is gone (killed runs); return them."""
    try:
        candidates = [p for p in Path(draft_dir).iterdir() if p.name.endswith(DRAFT_SUFFIX)]
    except FileNotFoundError:
        return []
    removed = []
    for path in candidates:
        if is_stale_draft(path):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class OutputDirError(OSError):
    """The draft or output directory cannot be created or written."""


def ensure_writable_dir(path: Path, what: str) -> Path:
    """Create `path` if needed and check we can write there, with a one-line reason if not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        raise OutputDirError(f"{what} {path} is not writable: {exc.strerror or exc}") from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _place(src: Path, final: Path, replace: bool) -> None:
    """Rename `src` to `final`; with `replace` False never over an existing file.

    No-replace is a hard link then an unlink (atomic: the link fails if `final` exists); on a
    filesystem without hard links it falls back to a check then a rename.
    """
    if replace:
        os.replace(src, final)
        return
    try:
        os.link(src, final)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "a file of this name was published meanwhile",
                              str(final)) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP):
            raise
        if final.exists():
            raise FileExistsError(errno.EEXIST, "a file of this name was published meanwhile",
                                  str(final)) from None
        os.replace(src, final)
        return
    src.unlink()


def publish(draft: Path, final: Path, replace: bool = True) -> Path:
    """Move a finished draft to `final` atomically (rename, or copy+fsync+rename across devices).

    With `replace` False an existing `final` is never overwritten: FileExistsError instead, and
    the draft stays for the caller to delete.
    """
    with open(draft, "rb+") as fh:  # the data is on disk before its name is in the directory
        os.fsync(fh.fileno())
    try:
        _place(draft, final, replace)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        incoming = final.with_name(f".{final.name}.incoming-{os.getpid()}")
        try:
            with open(draft, "rb") as src, open(incoming, "wb") as dst:
                shutil.copyfileobj(src, dst, 16 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            _place(incoming, final, replace)
        except BaseException:
            incoming.unlink(missing_ok=True)
            raise
        draft.unlink()
    _fsync_dir(final.parent)
    return final


@contextmanager
def drafted(final: Path, draft_dir: Path, replace: bool = True) -> Iterator[Path]:
    """Yield a draft path to write; publish it as `final` on success, delete it on any error.

    Data files pass `replace=False`: their names are unique, so an existing file of the same
    name is another run's data, never to be overwritten silently.
    """
    ensure_writable_dir(draft_dir, "draft directory")
    ensure_writable_dir(final.parent, "output directory")
    remove_stale_drafts(draft_dir)
    fd, name = tempfile.mkstemp(dir=draft_dir, prefix=f"{final.stem}.{os.getpid()}@{_host()}.",
                                suffix=DRAFT_SUFFIX)
    os.close(fd)
    draft = Path(name)
    os.chmod(draft, 0o666 & ~_umask())  # mkstemp makes 0600; published files follow the umask
    try:
        yield draft
        publish(draft, final, replace)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
