"""Faults of the local ACL gateway against the client: every fault kind, plain and HTML, at
several chunk sizes, gives each device either exactly the clean data or a recorded non-ok
status (failed, empty, or partial with its missing spans), never different numbers marked ok;
plus `No values` chunks, the low-speed limit and the event_log header count."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import h5py
import numpy as np
import pytest

from gmpsai_assets.acnet.acl_client import AclDataLogger
from gmpsai_assets.acnet.datalogger import DataLoggerUnavailable
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
from gmpsai_assets.files.datafile import open_data_file
from gmpsai_assets.files.eventfile import read_event, read_event_attrs
from gmpsai_assets.files.paramfile import read_param_attrs, read_param_device
from gmpsai_assets.ingest.events import grab_events
from gmpsai_assets.ingest.params import GrabResult, NoDataError, grab_params
from gmpsai_assets.publish.rich import DayStats
from gmpsai_assets.quality import Level
from gmpsai_assets.quality.days import assess_day
from gmpsai_assets.quality.files import param_verdicts
from gmpsai_assets.samples import Samples
from gmpsai_assets.settings import Settings, SettingsError
from gmpsai_assets.sim.acl_server import FAULT_KINDS, AclServer, Faults
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.sources import open_datalogger
from gmpsai_assets.stats.distill import distill_file
from gmpsai_assets.status import DeviceStatus, format_span
from gmpsai_assets.window import Window, parse_local_datetime

Start = Callable[..., AclServer]
T0 = parse_local_datetime("2026-03-10 06:00:00")
WINDOW = Window(T0, T0 + 300)
DEVICES = ["B:VIMIN", "B:ACMNPG", "I:IB"]  # ACMNPG ~10.000006: a cut value still looks right
# a simulated logger outage of 387 s (found with SimulatedBooster().outages): chunks of 120 s
# wholly inside it are answered `No values` although the device has data around it
OUTAGE = (T0 + 83988.86, T0 + 83988.86 + 387.4)
AROUND_OUTAGE = Window(T0 + 83880, T0 + 84480)  # five chunks of 120 s, the middle three inside


def client(server: AclServer, **kw: object) -> AclDataLogger:
    options = {"backoff_s": 0.01, "retries": 1, "max_in_flight": 3, **kw}
    return AclDataLogger(server.url, **options)  # type: ignore[arg-type]


def same(a: Samples, b: Samples) -> bool:
    return np.array_equal(a.utc_seconds, b.utc_seconds) and np.array_equal(a.values, b.values)


def outside(s: Samples, spans: tuple[tuple[float, float], ...]) -> Samples:
    keep = np.ones(len(s), bool)
    for a, b in spans:
        keep &= ~((s.utc_seconds >= a) & (s.utc_seconds < b))
    return Samples(s.device, s.utc_seconds[keep], s.values[keep])


def assert_never_different(result: GrabResult, clean: dict[str, Samples]) -> None:
    """ok: exactly the clean data; partial: exactly the clean data outside its missing spans;
    empty or failed: nothing stored. Anything else is a silent wrong number."""
    for device, record in result.records.items():
        got = read_param_device(result.path, device)
        if record.status == DeviceStatus.OK:
            assert same(got, clean[device]), f"{device} ok but different"
        elif record.status == DeviceStatus.PARTIAL:
            assert record.missing_utc and record.reason
            assert same(got, outside(clean[device], record.missing_utc)), device
            assert len(got) < len(clean[device])
        else:
            assert record.status in (DeviceStatus.EMPTY, DeviceStatus.FAILED), device
            assert len(got) == 0, device


@pytest.mark.parametrize("chunk_s", [70.0, 300.0])
@pytest.mark.parametrize("html", [False, True], ids=["plain", "html"])
@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_fault_matrix_never_stores_a_different_number(
    acl_server: Start, sim: SimulatedBooster, tmp_path: Path, kind: str, html: bool,
    chunk_s: float,
) -> None:
    """Most requests of one device broken, without bound, one retry: it comes through exact or
    is recorded as not ok, and the devices beside it are exact. The faults are placed by
    command and attempt (Faults), not by arrival order, so every run of a case meets the same
    ones and compares both a faulted device and clean ones."""
    faulted = "B:ACMNPG"
    faults = Faults(**{f"{kind}_share": 0.7}, trickle_s=0.2, seed=12,
                    devices=frozenset({faulted}))
    server = acl_server(faults=faults, html=html)
    with client(server, chunk_s=chunk_s, speed_limit=1000, speed_time_s=0.5) as c:
        result = grab_params(c, DEVICES, WINDOW, tmp_path / "o", tmp_path / "d")
    assert server.faulted[kind] > 0
    clean = {d: sim.fetch(d, WINDOW) for d in DEVICES}
    assert_never_different(result, clean)
    for d in DEVICES:
        if d != faulted:
            assert result.records[d].status == DeviceStatus.OK, d


# Faults a retry recovers; samples out of order are complete, so they are counted, not retried
# (test_out_of_order_samples_are_counted_into_the_file_and_fail_the_check).
RETRIED_KINDS = [k for k in FAULT_KINDS if k != "out_of_order"]


@pytest.mark.parametrize("kind", RETRIED_KINDS)
def test_every_fault_kind_is_recovered_when_it_does_not_persist(
    acl_server: Start, sim: SimulatedBooster, tmp_path: Path, kind: str
) -> None:
    """Each command broken once (`No values` only where the device has data elsewhere)."""
    devices = ["B:VIMIN", "B:ACMNPG"]
    server = acl_server(faults=Faults(**{f"{kind}_share": 0.5}, trickle_s=0.2, repeat=1,
                                      seed=3), html=True)
    with client(server, chunk_s=70.0, speed_limit=1000, speed_time_s=0.5, max_in_flight=1) as c:
        result = grab_params(c, devices, WINDOW, tmp_path / "o", tmp_path / "d")
        assert c.retried == server.faulted[kind] > 0
    for d in devices:
        assert result.records[d].status == DeviceStatus.OK
        assert same(read_param_device(result.path, d), sim.fetch(d, WINDOW))


def test_no_values_that_persists_makes_the_device_partial(
    acl_server: Start, sim: SimulatedBooster, tmp_path: Path
) -> None:
    """Chunks inside a logger outage say `No values` on every attempt: the device is partial,
    its missing spans (joined) in the file, per device, and the rest is exact."""
    server = acl_server()
    with client(server, chunk_s=120.0, retries=2) as c:
        result = grab_params(c, ["B:VIMIN"], AROUND_OUTAGE, tmp_path / "o", tmp_path / "d")
        assert c.retried == 3 * 2  # the three chunks inside the outage, asked twice more each
    record = result.records["B:VIMIN"]
    span = (AROUND_OUTAGE.start + 120.0, AROUND_OUTAGE.start + 480.0)
    assert OUTAGE[0] < span[0] and span[1] < OUTAGE[1]
    assert record.status == DeviceStatus.PARTIAL and record.missing_utc == (span,)
    assert format_span(span) in record.reason and "360 s" in record.reason
    got = read_param_device(result.path, "B:VIMIN")
    assert same(got, outside(sim.fetch("B:VIMIN", AROUND_OUTAGE), (span,)))
    attrs = read_param_attrs(result.path)
    assert attrs["device_outcomes"]["B:VIMIN"] == record
    assert result.summary() == f"0 ok, 1 partial: B:VIMIN missing {format_span(span)}, " \
                               "0 empty, 0 failed"


def test_partial_stays_visible_to_every_reader(
    acl_server: Start, tmp_path: Path
) -> None:
    """Reader, statistics, quality checks and the page: partial is neither ok nor no data."""
    with client(acl_server(), chunk_s=120.0) as c:
        result = grab_params(c, ["B:VIMIN", "B_VIMIN"], AROUND_OUTAGE, tmp_path / "o",
                             tmp_path / "d")
    (ds, _) = open_data_file(result.path).datasets()
    assert ds.status == DeviceStatus.PARTIAL and ds.utc_seconds.size and "no values" in ds.reason
    distilled = distill_file(result.path)
    verdicts = param_verdicts(distilled, ["B:VIMIN", "B_VIMIN"])
    stats = {p.device: p for p in distilled.params}
    assert stats["B:VIMIN"].status == DeviceStatus.PARTIAL
    assert stats["B:VIMIN"].rows == len(ds.utc_seconds)
    present = next(v for v in verdicts if v.name == "devices_present")
    assert present.level == Level.WARN and "2 of 2 listed devices are partial" in present.summary
    day = DayStats("B:VIMIN", AROUND_OUTAGE.start, AROUND_OUTAGE.end, status=DeviceStatus.PARTIAL,
                   reason=ds.reason, completeness=1.0, gap_count=0)
    level, why = assess_day(day)
    assert level == Level.WARN and why.startswith("device partial: no values in 1 span(s)")


def test_out_of_order_samples_are_counted_into_the_file_and_fail_the_check(
    acl_server: Start, sim: SimulatedBooster, run_cli: Callable, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`gmpsai grab-params` over real HTTP from a gateway that swaps sample lines of B:VIMIN:
    the file holds exactly the clean samples, sorted, with the steps back counted on the device
    (`out_of_order`, and the reason); the statistics count them and `timestamps_increasing`
    fails naming the device."""
    server = acl_server(faults=Faults(out_of_order_share=1.0, devices=frozenset({"B:VIMIN"})))
    for name, value in {"GMPSAI_SOURCE": "acl", "GMPSAI_ACL_URL": server.url,
                        "GMPSAI_ACL_CHUNK_S": "120"}.items():
        monkeypatch.setenv(name, value)
    listing = tmp_path / "list.txt"
    listing.write_text("MLrn B:VIMIN\nMLrn I:IB\n")
    code, out, err = run_cli("grab-params", "--startat", WINDOW.acl_bounds()[0], "--minutes", "5",
                           "--paramfile", str(listing), "--outdir", str(tmp_path / "o"),
                             "--draftdir", str(tmp_path / "d"))
    assert code == 0, err
    steps = server.steps_back["B:VIMIN"]
    # chunks of 120, 120 and 60 s hold 1800, 1800 and 900 lines: one pair swapped in every 100
    assert server.faulted["out_of_order"] == 3 and steps == 18 + 18 + 9
    (path,) = (tmp_path / "o").glob("*.h5")
    with h5py.File(path, "r") as f:
        vimin = dict(f["B:VIMIN"].attrs)
        assert f["I:IB"].attrs["out_of_order"] == 0
    assert vimin["out_of_order"] == steps and vimin["status"] == "ok"
    records = read_param_attrs(path)["device_outcomes"]  # also in the outcomes and the summary
    assert (records["B:VIMIN"].out_of_order, records["I:IB"].out_of_order) == (steps, 0)
    assert f"B:VIMIN {steps} step(s) back" in out + err
    assert vimin["reason"] == (f"{steps} step(s) back in time as the source delivered the "
                               "samples; sorted by time in this file (out_of_order)")
    for device in ("B:VIMIN", "I:IB"):
        assert same(read_param_device(path, device), sim.fetch(device, WINDOW)), device
    distilled = distill_file(path)
    stats = {p.device: p for p in distilled.params}
    assert stats["B:VIMIN"].nonincreasing == steps and stats["I:IB"].nonincreasing == 0
    verdict = next(v for v in param_verdicts(distilled, ["B:VIMIN", "I:IB"])
                   if v.name == "timestamps_increasing")
    assert verdict.level == Level.ERROR
    assert verdict.summary == "timestamps fail to increase in 1 device(s): B:VIMIN"
    day = DayStats("B:VIMIN", WINDOW.start, WINDOW.end, status=DeviceStatus.OK,
                   reason=vimin["reason"], completeness=1.0, gap_count=0,
                   nonincreasing=stats["B:VIMIN"].nonincreasing)
    assert assess_day(day) == (Level.ERROR, f"{steps} non-increasing timestamps")


def test_partial_in_the_cli_summary(acl_source: Start, run_cli: Callable, tmp_path: Path) -> None:
    acl_source(GMPSAI_ACL_CHUNK_S="120", GMPSAI_ACL_RETRIES="1")
    listing = tmp_path / "list.txt"
    listing.write_text("MLrn B:VIMIN\nMLrn B_VIMIN\n")
    start = AROUND_OUTAGE.acl_bounds()[0]
    code, out, _ = run_cli("grab-params", "--startat", start, "--minutes", "10", "--paramfile",
                           str(listing), "--outdir", str(tmp_path / "o"), "--draftdir",
                           str(tmp_path / "d"))
    assert code == 1  # partial devices: the file is published, the work is incomplete
    span = format_span((AROUND_OUTAGE.start + 120.0, AROUND_OUTAGE.start + 480.0))
    assert f"0 ok, 2 partial: B:VIMIN missing {span}, B_VIMIN missing {span}, 0 empty" in out


def test_partial_device_in_the_run_metadata(
    acl_server: Start, sim: SimulatedBooster, tmp_path: Path
) -> None:
    """A day through the asset: `No values` for half the requests of I:IB, one retry each."""
    listing = tmp_path / "list.txt"
    listing.write_text("MLrn I:IB\n")
    server = acl_server(faults=Faults(no_values_share=0.5, devices=frozenset({"I:IB"}),
                                      seed=5))
    resources = {
        "datalogger": DataLoggerResource(
            source="acl", acl_url=server.url, logger_node="MLrn", param_list=str(listing),
            sim_seed="20200310", max_in_flight="1", acl_retries="1", acl_chunk_s="7200",
        ),
        "storage": StorageResource(data_dir=str(tmp_path / "data")),
    }
    result = dg.materialize([param_data], partition_key="2026-03-10", resources=resources)
    meta = result.asset_materializations_for_node("param_data")[0].metadata
    spans = meta["devices_partial"].value["I:IB"]
    assert spans and meta["devices_ok"].value == 0
    path = Path(meta["path"].value)
    record = read_param_attrs(path)["device_outcomes"]["I:IB"]
    assert record.status == DeviceStatus.PARTIAL
    assert [format_span(s) for s in record.missing_utc] == spans
    day = Window(parse_local_datetime("2026-03-10"), parse_local_datetime("2026-03-11"))
    assert same(read_param_device(path, "I:IB"),
                outside(sim.fetch("I:IB", day), record.missing_utc))


# ---- the low-speed limit -------------------------------------------------------------------
# Lines of a logger_get reply are about 26 bytes: a trickle of one line every 0.2 s is about
# 130 bytes/s, under a limit of 1000 bytes/s; one every 0.01 s (2600 bytes/s) is over it.
SLOW = {"speed_limit": 1000, "speed_time_s": 0.5, "timeout_s": 30.0}


def test_a_trickling_gateway_is_cut_by_the_speed_limit_and_retried(
    acl_server: Start, sim: SimulatedBooster
) -> None:
    """One line every 0.2 s, each read in time: only the low-speed rule ends the attempt."""
    w = Window(T0, T0 + 60)  # 900 lines: three minutes of trickle
    server = acl_server(faults=Faults(trickle_share=1.0, trickle_s=0.2, repeat=1))
    with client(server, chunk_s=60.0, **SLOW) as c:
        assert same(c.fetch("B:VIMIN", w), sim.fetch("B:VIMIN", w))
        assert (c.attempts, c.retried, server.faulted["trickle"]) == (2, 1, 1)


def test_a_steady_slow_reply_is_never_cut(acl_server: Start, sim: SimulatedBooster) -> None:
    """300 lines at 0.01 s: 3 s in all, six times the span, always above the limit (a whole-
    attempt deadline of the span would have cut it)."""
    w = Window(T0, T0 + 20)
    server = acl_server(faults=Faults(trickle_share=1.0, trickle_s=0.01))
    with client(server, chunk_s=60.0, **SLOW) as c:
        started = time.monotonic()
        assert same(c.fetch("B:VIMIN", w), sim.fetch("B:VIMIN", w))
        assert time.monotonic() - started > 4 * SLOW["speed_time_s"]
        assert (c.attempts, c.retried) == (1, 0)


def test_a_gateway_that_always_trickles_fails_the_grab_at_once(
    acl_server: Start, tmp_path: Path
) -> None:
    """The first request gives up after its attempts; every later one of the grab (15 chunks
    of 3 devices) is not even sent, so the grab ends after one request's worth of attempts."""
    server = acl_server(faults=Faults(trickle_share=1.0, trickle_s=0.2))
    with client(server, chunk_s=60.0, max_in_flight=1, **SLOW) as c:
        with pytest.raises(NoDataError):
            grab_params(c, DEVICES, WINDOW, tmp_path / "o", tmp_path / "d")
        assert c.attempts == 2  # one request, retries=1
        with pytest.raises(DataLoggerUnavailable, match=r"not sent: the gateway is too slow"):
            c.fetch("B:VIMIN", Window(T0, T0 + 60))
    assert not any((tmp_path / "o").glob("*"))
    with client(server, chunk_s=60.0, **SLOW) as c, pytest.raises(
            DataLoggerUnavailable, match=r"after 2 attempt.*GMPSAI_ACL_SPEED_LIMIT"):
        c.fetch("B:VIMIN", Window(T0, T0 + 60))


def test_the_defaults_fail_a_one_line_a_second_trickle_within_three_minutes() -> None:
    """docs/gateway.md's promise, from the defaults as the settings table has them: a reply of
    one ~26-byte line a second is under the limit, and the first request's attempts, their
    backoff and one more read of the others in flight end within 180 s."""
    s = Settings.from_env({})
    assert s.acl_speed_limit > 26, "a line a second must be too slow"
    with open_datalogger(Settings.from_env({"GMPSAI_SOURCE": "acl"})) as c:
        backoff = sum(min(c.backoff_max_s, c.backoff_s * 2 ** (a - 1))
                      for a in range(1, c.retries + 1))
        worst = (c.retries + 1) * (c.speed_time_s + 1.0) + backoff + 1.0
    assert worst <= 180.0, worst


def test_speed_settings() -> None:
    env = {"GMPSAI_SOURCE": "acl", "GMPSAI_ACL_URL": "http://127.0.0.1:9/cgi-bin/acl.pl"}
    with open_datalogger(Settings.from_env({**env, "GMPSAI_ACL_SPEED_LIMIT": "42",
                                            "GMPSAI_ACL_SPEED_TIME_S": "7"})) as c:
        assert (c.speed_limit, c.speed_time_s) == (42.0, 7.0)
    with open_datalogger(Settings.from_env(env)) as c:
        assert (c.speed_limit, c.speed_time_s) == (100.0, 30.0)
    for var, bad in (("GMPSAI_ACL_SPEED_LIMIT", "-1"), ("GMPSAI_ACL_SPEED_TIME_S", "0"),
                     ("GMPSAI_ACL_SPEED_LIMIT", "fast")):
        with pytest.raises(SettingsError, match=var):
            open_datalogger(Settings.from_env({**env, var: bad}))
    with pytest.raises(SettingsError, match="GMPSAI_ACL_DEADLINE_S is no longer read"):
        Settings.from_env({**env, "GMPSAI_ACL_DEADLINE_S": "600"})


# ---- event_log header lines -------------------------------------------------------------------


@pytest.mark.parametrize("header", [5, 6])
def test_event_grab_keeps_every_occurrence_and_records_the_header(
    acl_server: Start, sim: SimulatedBooster, tmp_path: Path, header: int
) -> None:
    server = acl_server(event_header_lines=header, html=header == 6)
    with client(server, chunk_s=100.0) as c:
        result = grab_events(c, WINDOW, tmp_path / "o", tmp_path / "d", max_event=0x0C)
    for event in (0x00, 0x0C):
        want = sim.event_occurrences(event, WINDOW)
        assert np.array_equal(read_event(result.path, event).utc_seconds, want.utc_seconds)
    assert result.header_lines == {header: 13 * 3}  # 13 events, 3 chunks each
    assert read_event_attrs(result.path)["event_log_header_lines"] == {header: 13 * 3}
