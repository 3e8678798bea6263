"""Drafts are owned by runs, not processes (files/drafts.py): writers that present as other hosts
or containers share one draft directory; a killed one's draft is removed, a live one's never."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
from gmpsai_assets.files import drafts
from gmpsai_assets.files.drafts import (
    LEASE_EXPIRY_S,
    UNTAGGED_STALE_S,
    LeaseLostError,
    drafted,
    lease_path,
    leased,
    owned_by_run,
    remove_stale_drafts,
)
from gmpsai_assets_tests.draft_writers import StartWriter, age_leases, held, listing, writer_pool


@pytest.fixture
def writers(tmp_path: Path) -> Iterator[StartWriter]:
    """Writers of `tmp_path/out/<n>.h5` in `tmp_path/drafts`: `writers(host, run_id="")`."""
    with writer_pool(tmp_path / "out", tmp_path / "drafts") as start:
        yield start


def _next_draft(tmp_path: Path) -> None:
    """This host starts and publishes a draft of its own (a grab, an export, ...)."""
    with drafted(tmp_path / "out" / "mine.h5", tmp_path / "drafts") as draft:
        draft.write_bytes(b"mine")


def test_killed_writer_of_another_host_goes_with_its_lease_live_one_stays(tmp_path, writers):
    killed = writers("container-a-4026532001")
    live = writers("container-b-4026532002")
    both = held(killed, live)
    killed.kill()
    _next_draft(tmp_path)
    # Another host's pid means nothing here, and its lease is fresh: possibly alive, kept.
    assert listing(tmp_path / "drafts") == both

    age_leases(killed, live)  # both look 30 minutes old; only the live one renews its own
    _next_draft(tmp_path)
    assert listing(tmp_path / "drafts") == held(live)
    assert live.finish() == (0, "")  # the live writer never noticed
    assert (tmp_path / "out" / "1.h5").read_bytes() == b"whole"
    assert listing(tmp_path / "drafts") == []  # it took its lease with it
    assert listing(tmp_path / "out") == ["1.h5", "mine.h5"]


def test_killed_writer_of_this_host_goes_at_once(tmp_path, writers):
    killed = writers(drafts._host())  # this host and pid namespace: its pid is exact
    live = writers(drafts._host())
    killed.kill()
    _next_draft(tmp_path)
    assert listing(tmp_path / "drafts") == held(live)


def test_draft_of_an_ended_run_goes_at_once_even_with_a_fresh_lease(tmp_path, writers):
    ended, running = writers("pod-1-4026532003", "run-ended"), writers("pod-2-4026532004", "run-on")
    unknown = writers("pod-3-4026532005", "run-of-another-instance")
    asked = []

    def run_ended(run_id: str) -> bool:
        asked.append(run_id)
        return run_id == "run-ended"

    with owned_by_run("run-mine", run_ended):
        _next_draft(tmp_path)
    assert sorted(asked) == ["run-ended", "run-of-another-instance", "run-on"]
    assert listing(tmp_path / "drafts") == held(running, unknown)
    # Its writer was still there (a run marked ended whose process lingers): it fails loudly at
    # publish instead of publishing a draft it no longer holds.
    code, err = ended.finish()
    assert code != 0 and "LeaseLostError" in err and "nothing was published" in err
    assert not (tmp_path / "out" / "0.h5").exists()
    assert running.finish() == (0, "")


def test_lease_names_the_run_and_is_renewed_then_released(tmp_path, monkeypatch):
    monkeypatch.setattr(drafts, "LEASE_RENEW_S", 0.02)
    path = tmp_path / "store.tmp"
    with owned_by_run("run-42"), leased(path) as lease:
        assert drafts._read_owner(lease.path) == drafts.Owner(drafts._host(), os.getpid(),
                                                              "run-42")
        old = time.time() - LEASE_EXPIRY_S - 60
        os.utime(lease.path, (old, old))
        while lease.path.stat().st_mtime <= old:
            time.sleep(0.01)
        path.write_bytes(b"x")
        assert not drafts.writer_gone(path)
        lease.check()
    assert not lease.path.exists()
    with leased(path, run_id=None) as lease:  # outside any run: the lease alone owns it
        assert drafts._read_owner(lease.path).run_id is None


def test_writer_whose_lease_was_taken_publishes_nothing(tmp_path):
    final = tmp_path / "out" / "x.h5"
    with (pytest.raises(LeaseLostError, match="nothing was published"),
          drafted(final, tmp_path / "drafts") as draft):
        draft.write_bytes(b"half")
        # a judge elsewhere took this writer for gone: draft, then lease
        draft.unlink()
        lease_path(draft).unlink()
        draft.write_bytes(b"second half only")  # written by path: would look whole
    assert not final.exists() and listing(tmp_path / "drafts") == []


def test_drafts_of_older_versions_judged_by_tag_and_age(tmp_path):
    host = drafts._host()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)
    names = {
        "this host, dead": f"MLParamData_1.{dead_pid}@{host}.abc123.draft",
        "this host, live": f"MLParamData_2.{os.getpid()}@{host}.def456.draft",
        "other host": f"MLParamData_3.{dead_pid}@elsewhere-1.ghi789.draft",
        "untagged": "MLParamData_4.jkl012.draft",
        "lone lease, this host, dead": "MLParamData_5.mno345.draft.lease",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / names["lone lease, this host, dead"]).write_text(
        f'{{"host": "{host}", "pid": {dead_pid}, "run_id": null}}')
    removed = remove_stale_drafts(tmp_path)
    assert sorted(p.name for p in removed) == sorted(
        [names["this host, dead"], names["lone lease, this host, dead"]])
    # Nobody wrote to the rest for longer than UNTAGGED_STALE_S: gone, except a live process
    # of this host (a reused pid reads as alive: the safe side).
    later = time.time() + UNTAGGED_STALE_S + 60
    removed = remove_stale_drafts(tmp_path, now=later)
    assert sorted(p.name for p in removed) == sorted([names["other host"], names["untagged"]])
    assert listing(tmp_path) == [names["this host, live"]]


def test_param_data_run_removes_the_draft_of_an_ended_run(tmp_path):
    data = tmp_path / "data"
    devices = tmp_path / "one.txt"
    devices.write_text("MLrn B:IMINER\n")
    resources = {"datalogger": DataLoggerResource(source="simulated", param_list=str(devices)),
                 "storage": StorageResource(data_dir=str(data))}
    with (dg.instance_for_test() as instance,
          writer_pool(tmp_path / "out", data / "drafts") as start):
        failed = dg.DagsterRun(job_name="param_data_job", run_id=str(uuid.uuid4()),
                               status=dg.DagsterRunStatus.FAILURE)
        instance.add_run(failed)
        other = start("runner-7-4026532006", failed.run_id)  # fresh lease, another host
        assert dg.materialize([param_data], partition_key="2026-03-10", instance=instance,
                              resources=resources).success
        assert listing(data / "drafts") == []  # the failed run's draft went at the grab's start
        assert other.finish()[0] != 0


def test_docs_state_the_lease_timings_the_code_uses():
    root = Path(__file__).resolve().parents[1]
    ops = (root / "docs" / "operations.md").read_text(encoding="utf-8")
    section = ops[ops.index("## Drafts of killed runs"):ops.index("## `serve-site`")]
    prod = (root / "docs" / "production.md").read_text(encoding="utf-8")
    assert drafts.LEASE_RENEW_S == 60 and "every minute (`LEASE_RENEW_S`)" in section
    expiry = f"{LEASE_EXPIRY_S / 60:.0f} minutes (`LEASE_EXPIRY_S`"
    assert expiry in section and f"{LEASE_EXPIRY_S / 60:.0f} minutes" in prod
    assert f"untouched for {UNTAGGED_STALE_S / 3600:.0f} hours" in section
