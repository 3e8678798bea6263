"""Real draft writers for the tests of draft ownership (files/drafts.py): each a process of its
own that presents as another host or container by the owner it writes (a host name and pid
namespace, a pid, a run id are all a judge can see), sharing one draft directory with the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gmpsai_assets.files.drafts import LEASE_EXPIRY_S, lease_path

# It renews its lease every 50 ms, so a test sees a renewal without waiting a minute, and holds
# its draft half written until told on stdin to finish (then publishes it, or fails).
_WRITER = textwrap.dedent("""
    import contextlib, sys
    from pathlib import Path
    from gmpsai_assets.files import drafts
    out, draft_dir, host, run_id = sys.argv[1:]
    drafts._host = lambda: host
    drafts.LEASE_RENEW_S = 0.05
    with contextlib.ExitStack() as stack:
        if run_id:
            stack.enter_context(drafts.owned_by_run(run_id))
        with drafts.drafted(Path(out), Path(draft_dir)) as draft:
            draft.write_bytes(b"half")
            print(draft.name, flush=True)
            sys.stdin.readline()
            draft.write_bytes(b"whole")
""")


class Writer:
    """One writer process of `out`, and the draft it holds."""

    def __init__(self, out: Path, draft_dir: Path, host: str, run_id: str = "") -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(out), str(draft_dir), host, run_id],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.draft = draft_dir / self.proc.stdout.readline().strip()
        assert self.draft.name.endswith(".draft") and self.lease.exists(), self.proc.stderr.read()

    @property
    def lease(self) -> Path:
        return lease_path(self.draft)

    @property
    def files(self) -> list[str]:
        """The names this writer holds in the draft directory."""
        return [self.draft.name, self.lease.name]

    def kill(self) -> None:
        """kill -9, mid-write."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def finish(self) -> tuple[int, str]:
        """Let it publish; its exit status and error output."""
        _, err = self.proc.communicate("go\n", timeout=60)
        return self.proc.returncode, err


StartWriter = Callable[..., Writer]


@contextmanager
def writer_pool(out_dir: Path, draft_dir: Path) -> Iterator[StartWriter]:
    """`start(host, run_id="")` starts a writer of `out_dir/<n>.h5` in `draft_dir`; all are
    killed when the block ends."""
    started: list[Writer] = []

    def start(host: str, run_id: str = "") -> Writer:
        w = Writer(out_dir / f"{len(started)}.h5", draft_dir, host, run_id)
        started.append(w)
        return w

    try:
        yield start
    finally:
        for w in started:
            if w.proc.poll() is None:
                w.proc.kill()
            w.proc.communicate()


def age_leases(*writers: Writer) -> None:
    """Make the writers' leases look unrenewed for longer than LEASE_EXPIRY_S, then wait until
    each live one has renewed its own (a dead one cannot)."""
    old = time.time() - LEASE_EXPIRY_S - 60
    for w in writers:
        os.utime(w.lease, (old, old))
    deadline = time.monotonic() + 60
    for w in writers:
        while w.proc.poll() is None and w.lease.stat().st_mtime <= old:
            assert time.monotonic() < deadline, f"{w.draft.name}: lease never renewed"
            time.sleep(0.02)


def listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def held(*writers: Writer) -> list[str]:
    """What `writers` hold in their draft directory, as `listing` shows it."""
    return sorted(name for w in writers for name in w.files)
