"""Draft-then-publish: the output directory only ever holds complete files.

A file is written under the draft directory and moved into the output directory when it is
closed. On one filesystem that move is an atomic rename; across filesystems the draft is copied to
a hidden name (leading `.`) beside the target, fsynced, and renamed. Readers (the distiller,
the catalogue, every glob of the output directories) ignore hidden names, so either way nobody
sees a half-written file under its real name.

Who owns a draft: a run, never a host and pid. In production every run is a new container (a new
host name and pid namespace) that never comes back to clean up after itself, so a draft must be
recognisable as abandoned from any host. Its writer holds a *lease* on it (`leased`): a sidecar
file `<draft>.lease` naming the owner (host and pid namespace, pid, and the run id when the writer
works for a run, see `owned_by_run`), whose mtime a background thread renews every
LEASE_RENEW_S while the writer lives. Any process on any host judges the writer gone
(`writer_gone`) when

- its run has ended, whatever its status (asked through a `run_ended` callback: the Dagster layer
  asks its instance, which is exact and needs no waiting), or
- it is a process of this host and pid namespace that no longer runs (exact, no waiting), or
- its lease has not been renewed for LEASE_EXPIRY_S (any writer, the command line too).

Drafts of the versions before leases are judged as those versions did, and by age: a tagged one
(`<stem>.<pid>@<host>.<random>.draft`) of this host when its process is gone, any other one once
untouched for UNTAGGED_STALE_S. `remove_stale_drafts` applies the rule at every new draft and in
the housekeeping job; a live writer's draft is never touched. The same rule serves any other file
a writer leaves behind when killed (`leased`, `writer_gone`, `remove_abandoned`).
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

DRAFT_SUFFIX = ".draft"
LEASE_SUFFIX = ".lease"
_WRITER_RE = re.compile(r"\.(?P<pid>\d+)@(?P<host>[A-Za-z0-9-]*)\.[A-Za-z0-9_]+\.draft$")
# A live writer renews its lease this often...
LEASE_RENEW_S = 60.0
# ...and a lease not renewed for this long is abandoned. Thirty missed renewals: a judge on
# another host compares the lease's mtime (on NFS the server's clock, seen through the client's
# attribute cache) with its own clock, so the margin absorbs clock skew and caching of minutes,
# and a writer stalled that long is not writing anyway. A killed writer's draft is removed at
# most this long after its death (at once when its run is known to have ended).
LEASE_EXPIRY_S = 30 * 60.0
# A draft without a lease (written before leases) counts as abandoned once nobody has written to
# it for this long: every writer of those versions added to its draft device by device.
UNTAGGED_STALE_S = 24 * 3600.0

RunEnded = Callable[[str], bool]
"""`run_ended(run_id)`: True when that run is known to have ended (any status); False when it
runs or is unknown (then the lease decides)."""


class LeaseLostError(OSError):
    """A writer's lease was judged abandoned while it still wrote (its file may be gone). An
    OSError: like a full disk, the command line reports it in one line."""


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


@dataclass(frozen=True)
class RunOwnership:
    """The run the current code works for, and how to ask whether another run has ended."""

    run_id: str
    run_ended: RunEnded | None = None


_current_run: ContextVar[RunOwnership | None] = ContextVar("gmpsai_current_run", default=None)


@contextmanager
def owned_by_run(run_id: str, run_ended: RunEnded | None = None) -> Iterator[None]:
    """Files leased inside this block (every draft) belong to run `run_id`; drafts started here
    also remove the drafts of runs that `run_ended` says have ended.

    A context variable rather than a parameter: the Dagster layer wraps the core call once and
    every writer below it (grabs, the cycle table, temp files of a store) is owned by the run,
    with no run id threaded through the core's signatures. Outside any block (the command line)
    files are owned by their lease alone.
    """
    token = _current_run.set(RunOwnership(run_id, run_ended))
    try:
        yield
    finally:
        _current_run.reset(token)


def lease_path(path: Path) -> Path:
    """The lease file of `path`: `<path>.lease` beside it."""
    return path.with_name(path.name + LEASE_SUFFIX)


@dataclass(frozen=True)
class Owner:
    """Who holds a lease, as written in the lease file."""

    host: str
    pid: int
    run_id: str | None


class Lease:
    """A lease held by this process: renewed by a daemon thread until released."""

    def __init__(self, path: Path, renew_s: float) -> None:
        self.path = path
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, args=(renew_s,), daemon=True,
                                        name=f"lease {path.name}")

    def _renew(self, period: float) -> None:
        while not self._stop.wait(period):
            try:
                os.utime(self.path)
            except FileNotFoundError:
                self.lost = True  # a judge took us for gone; `check` reports it
                return
            except OSError:
                pass  # a shared-storage hiccup: the expiry allows many missed renewals

    def check(self) -> None:
        """Raise LeaseLostError if a judge has meanwhile taken the writer for gone."""
        if self.lost or not self.path.exists():
            raise LeaseLostError(
                f"the lease {self.path.name} was judged abandoned while its writer worked (its "
                f"run was marked ended, or it went unrenewed for {LEASE_EXPIRY_S:.0f} s) and its "
                "draft may be gone: nothing was published")


@contextmanager
def leased(path: Path, run_id: str | None = None, renew_s: float | None = None
           ) -> Iterator[Lease]:
    """Hold a lease on `path` while the block runs: `<path>.lease` names this writer (host and
    pid namespace, pid, run id: `run_id` or the one of the enclosing `owned_by_run`) and is
    renewed every `renew_s` (default LEASE_RENEW_S); it is deleted when the block ends.

    Take it before `path` exists, or right after creating it: a file without a lease is judged
    by its age (UNTAGGED_STALE_S), so a fresh one is safe either way. Delete `path` before
    leaving the block, or rename it away: a judge that finds a lease gone treats the file as
    a draft of the versions before leases.
    """
    run = _current_run.get()
    if run_id is None and run is not None:
        run_id = run.run_id
    lease = Lease(lease_path(Path(path)), LEASE_RENEW_S if renew_s is None else renew_s)
    lease.path.write_text(json.dumps({"host": _host(), "pid": os.getpid(), "run_id": run_id}))
    lease._thread.start()
    try:
        yield lease
    finally:
        lease._stop.set()
        lease._thread.join()
        lease.path.unlink(missing_ok=True)


def _read_owner(lease: Path) -> Owner | None:
    """The owner a lease names, or None if unreadable (being written, or damaged: then only its
    mtime counts)."""
    try:
        raw = json.loads(lease.read_text())
        return Owner(str(raw["host"]), int(raw["pid"]), raw.get("run_id") or None)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def writer_gone(path: Path, run_ended: RunEnded | None = None, now: float | None = None) -> bool:
    """Has the writer of `path` (a draft, or any file written under `leased`) gone for good?

    With a lease: its run has ended (`run_ended`), or it is a process of this host and pid
    namespace that no longer runs, or the lease went unrenewed for LEASE_EXPIRY_S. Without (the
    versions before leases): a tagged draft of this host whose process is gone, or any other
    file untouched for UNTAGGED_STALE_S. A writer that might be alive is never judged gone.
    """
    now = time.time() if now is None else now
    lease = lease_path(Path(path))
    try:
        renewed = lease.stat().st_mtime
    except FileNotFoundError:
        return _unleased_writer_gone(Path(path), now)
    owner = _read_owner(lease)
    if owner is not None:
        if owner.run_id and run_ended is not None and run_ended(owner.run_id):
            return True
        if owner.host == _host() and not _alive(owner.pid):
            return True
    return now - renewed > LEASE_EXPIRY_S


def _unleased_writer_gone(path: Path, now: float) -> bool:
    m = _WRITER_RE.search(path.name)
    if m and m["host"] == _host():
        return not _alive(int(m["pid"]))  # as those versions judged: exact on this host
    try:
        age = now - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age > UNTAGGED_STALE_S


def remove_abandoned(path: Path, run_ended: RunEnded | None = None,
                     now: float | None = None) -> list[Path]:
    """Delete `path` and its lease if their writer is gone (`writer_gone`); return the files
    deleted (none when the writer may be alive). The file goes first, its lease after."""
    path = Path(path)
    if not writer_gone(path, run_ended, now):
        return []
    removed = []
    for p in (path, lease_path(path)):
        try:
            p.unlink()
            removed.append(p)
        except FileNotFoundError:
            pass
    return removed


def remove_stale_drafts(draft_dir: Path, run_ended: RunEnded | None = None,
                        now: float | None = None) -> list[Path]:
    """Delete the drafts in `draft_dir` whose writer is gone (killed runs, on any host), with
    their leases and leases left without a draft; return the drafts (or lone leases) deleted."""
    try:
        names = {p.name.removesuffix(LEASE_SUFFIX) for p in Path(draft_dir).iterdir()
                 if p.name.endswith((DRAFT_SUFFIX, DRAFT_SUFFIX + LEASE_SUFFIX))}
    except FileNotFoundError:
        return []
    removed = []
    for name in sorted(names):
        gone = remove_abandoned(Path(draft_dir) / name, run_ended, now)
        removed.extend(gone[:1])  # the draft, or its lease if the draft was already gone
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


def fsync_dir(path: Path) -> None:
    """Make the names in directory `path` durable (a rename into or out of it)."""
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
    fsync_dir(final.parent)
    return final


@contextmanager
def drafted(final: Path, draft_dir: Path, replace: bool = True) -> Iterator[Path]:
    """Yield a draft path to write; publish it as `final` on success, delete it on any error.

    Data files pass `replace=False`: their names are unique, so an existing file of the same
    name is another run's data, never to be overwritten silently. The draft is leased (owned by
    the enclosing `owned_by_run`, if any) while it is written, and the drafts of gone writers
    are removed first. Should the draft have been judged abandoned meanwhile (the writer was
    stalled past LEASE_EXPIRY_S, or its run marked ended), nothing is published: LeaseLostError.
    """
    ensure_writable_dir(draft_dir, "draft directory")
    ensure_writable_dir(final.parent, "output directory")
    run = _current_run.get()
    remove_stale_drafts(draft_dir, run.run_ended if run else None)
    fd, name = tempfile.mkstemp(dir=draft_dir, prefix=f"{final.stem}.{os.getpid()}@{_host()}.",
                                suffix=DRAFT_SUFFIX)
    os.close(fd)
    draft = Path(name)
    try:
        os.chmod(draft, 0o666 & ~_umask())  # mkstemp makes 0600; published files follow the umask
        with leased(draft) as lease:
            yield draft
            lease.check()
            publish(draft, final, replace)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
