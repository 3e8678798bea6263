"""Draft-then-publish: the output directory only ever holds complete files.

A file is written under the draft directory and moved into the output directory when it is
closed. On one filesystem that move is an atomic rename; across filesystems the draft is copied to
a hidden name (leading `.`) beside the target, fsynced, and renamed. Readers and the file sensor
ignore hidden names, so either way nobody sees a half-written file under its real name.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


def publish(draft: Path, final: Path) -> Path:
    """Move a finished draft to `final` atomically (rename, or copy+fsync+rename across devices)."""
    with open(draft, "rb+") as fh:  # the data is on disk before its name is in the directory
        os.fsync(fh.fileno())
    try:
        os.replace(draft, final)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        incoming = final.with_name(f".{final.name}.incoming-{os.getpid()}")
        try:
            with open(draft, "rb") as src, open(incoming, "wb") as dst:
                shutil.copyfileobj(src, dst, 16 << 20)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(incoming, final)
        except BaseException:
            incoming.unlink(missing_ok=True)
            raise
        draft.unlink()
    _fsync_dir(final.parent)
    return final


@contextmanager
def drafted(final: Path, draft_dir: Path) -> Iterator[Path]:
    """Yield a draft path to write; publish it as `final` on success, delete it on any error."""
    ensure_writable_dir(draft_dir, "draft directory")
    ensure_writable_dir(final.parent, "output directory")
    fd, name = tempfile.mkstemp(dir=draft_dir, prefix=final.stem + ".", suffix=".draft")
    os.close(fd)
    draft = Path(name)
    os.chmod(draft, 0o666 & ~_umask())  # mkstemp makes 0600; published files follow the umask
    try:
        yield draft
        publish(draft, final)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
