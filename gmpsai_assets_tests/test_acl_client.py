"""The ACL client against the local gateway on 127.0.0.1: equivalence with the simulated path,
URL building, device-name safety, retries through every injected fault, and failure reporting."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from gmpsai_assets.acnet.acl_client import AclDataLogger, acl_local_bounds
from gmpsai_assets.acnet.datalogger import (
    BadRequest,
    DataLoggerUnavailable,
    DeviceNotLogged,
    fetch_devices,
)
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
from gmpsai_assets.files.paramfile import read_param_attrs, read_param_device
from gmpsai_assets.ingest.params import grab_params
from gmpsai_assets.settings import Settings, SettingsError
from gmpsai_assets.sim.acl_server import AclServer, Faults
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.sources import open_datalogger
from gmpsai_assets.window import Window, parse_local_datetime

Start = Callable[..., AclServer]
T0 = parse_local_datetime("2026-03-10 06:00:00")
SHORT = Window(T0 + 0.25, T0 + 600.5)  # fractional bounds: the client must round outwards


def client(server: AclServer, **kw: object) -> AclDataLogger:
    options = {"chunk_s": 240.0, "backoff_s": 0.01, "retries": 3, **kw}
    return AclDataLogger(server.url, **options)  # type: ignore[arg-type]


def same(a, b) -> bool:
    return np.array_equal(a.utc_seconds, b.utc_seconds) and np.array_equal(a.values, b.values)


# ---- equivalence -------------------------------------------------------------------------


def test_fetch_equals_the_simulator(acl_server: Start, sim: SimulatedBooster) -> None:
    with client(acl_server()) as c:
        for device in ("B:VIMIN", "B_VIMIN", "B|GMPSSC", "I:IB"):
            got = c.fetch(device, SHORT)
            assert len(got) > 8000 and same(got, sim.fetch(device, SHORT))
        assert c.attempts == 4 * 3  # 600 s in chunks of 240 s


@pytest.mark.parametrize(("start", "end"), [("2026-11-01 00:20", "2026-11-01 02:40"),
                                            ("2026-03-08 01:10", "2026-03-08 03:50")])
def test_dst_change_nights_are_exact(
    acl_server: Start, sim: SimulatedBooster, start: str, end: str
) -> None:
    """Chunks inside the repeated (or skipped) hour: data, $0C and $00 exactly as simulated."""
    w = Window(parse_local_datetime(start), parse_local_datetime(end))
    with client(acl_server(), chunk_s=1200.0) as c:
        assert same(c.fetch("B:IMINER", w), sim.fetch("B:IMINER", w))
        for event in (0x0C, 0x00):
            got, want = c.event_occurrences(event, w), sim.event_occurrences(event, w)
            assert np.array_equal(got.utc_seconds, want.utc_seconds)
            assert np.array_equal(got.sc_seconds, want.sc_seconds)


def test_timing_commands(acl_server: Start) -> None:
    now = T0 + 777.7
    booster = SimulatedBooster(now=lambda: now)
    with client(acl_server(booster)) as c:
        assert c.supercycle_time() == booster.supercycle_time()
        assert c.supercycle_length() == booster.supercycle_length()
        assert c.timeline() == booster.timeline()
        empty = c.event_occurrences(0xFE, SHORT)
        assert len(empty) == 0


def test_html_wrapped_gateway(acl_server: Start, sim: SimulatedBooster) -> None:
    with client(acl_server(html=True)) as c:
        assert same(c.fetch("B:VIMIN", SHORT), sim.fetch("B:VIMIN", SHORT))
        occ = c.event_occurrences(0x0C, SHORT)
        assert np.array_equal(occ.utc_seconds, sim.event_occurrences(0x0C, SHORT).utc_seconds)
        assert c.supercycle_length() == sim.supercycle_length()


def _resources(data_dir: Path, param_list: Path, source: str, url: str) -> dict:
    return {
        "datalogger": DataLoggerResource(
            source=source, acl_url=url or None, param_list=str(param_list), max_in_flight=3,
            acl_retries=1,
        ),
        "storage": StorageResource(data_dir=str(data_dir)),
    }


def test_param_data_through_acl_equals_simulated(acl_server: Start, tmp_path: Path) -> None:
    """The 25-hour DST-end day through the asset: same samples, and a device the gateway keeps
    failing is recorded failed (file and metadata) while the others are kept."""
    devices = ["B:VIMIN", "B:IMINER", "B|GMPSSC"]
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"MLrn {d}\n" for d in devices))
    server = acl_server(faults=Faults(error_share=1.0, devices=frozenset({"B:IMINER"})))
    day = "2026-11-01"
    via_acl = dg.materialize([param_data], partition_key=day,
                             resources=_resources(tmp_path / "a", listing, "acl", server.url))
    direct = dg.materialize([param_data], partition_key=day,
                            resources=_resources(tmp_path / "s", listing, "simulated", ""))
    meta = via_acl.asset_materializations_for_node("param_data")[0].metadata
    assert meta["devices_ok"].value == 2
    assert "HTTP 50" in meta["devices_failed"].value["B:IMINER"]
    a = Path(meta["path"].value)
    s = Path(direct.asset_materializations_for_node("param_data")[0].metadata["path"].value)
    attrs = read_param_attrs(a)
    assert attrs["source"] == "acl" and attrs["device_outcomes"]["B:IMINER"].status == "failed"
    for d in ("B:VIMIN", "B|GMPSSC"):
        assert len(read_param_device(a, d)) > 1_300_000  # 25 hours
        assert same(read_param_device(a, d), read_param_device(s, d))


def test_grab_params_cli_with_acl_source(
    acl_source: Start, run_cli: Callable, small_list: Path, tmp_path: Path
) -> None:
    server = acl_source(GMPSAI_ACL_CHUNK_S="300")
    out = tmp_path / "out"
    code, _, err = run_cli("grab-params", "--startat", "2026-03-10+06:00:00", "--minutes", "10",
                           "--paramfile", str(small_list), "--outdir", str(out),
                           "--draftdir", str(tmp_path / "drafts"))
    assert code == 0, err
    (path,) = out.glob("MLParamData_*.h5")
    sim = SimulatedBooster()
    w = Window(T0, T0 + 600)
    for device in small_list.read_text().split()[1::2]:
        assert same(read_param_device(path, device), sim.fetch(device, w))
    assert server.requests == 5 * 2


# ---- configuration -------------------------------------------------------------------------


def test_open_datalogger_builds_the_acl_client() -> None:
    settings = Settings.from_env({
        "GMPSAI_SOURCE": "acl", "GMPSAI_ACL_URL": "http://127.0.0.1:9/cgi-bin/acl.pl",
        "GMPSAI_LOGGER_NODE": "Backup", "GMPSAI_MAX_IN_FLIGHT": "7",
        "GMPSAI_ACL_TIMEOUT_S": "5", "GMPSAI_ACL_RETRIES": "0", "GMPSAI_ACL_CHUNK_S": "900",
    })
    datalogger = open_datalogger(settings)
    assert isinstance(datalogger, AclDataLogger)
    assert (datalogger.source, datalogger.node, datalogger.max_in_flight, datalogger.retries,
            datalogger.chunk_s) == ("acl", "Backup", 7, 0, 900.0)
    datalogger.close()


@pytest.mark.parametrize(
    "env",
    [{"GMPSAI_ACL_CHUNK_S": "0"}, {"GMPSAI_ACL_TIMEOUT_S": "soon"},
     {"GMPSAI_ACL_RETRIES": "-1"}, {"GMPSAI_ACL_URL": "ftp://x/acl.pl"},
     {"GMPSAI_ACL_URL": "http://x/acl.pl?acl=read"}],
)
def test_bad_acl_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        open_datalogger(Settings.from_env({"GMPSAI_SOURCE": "acl", **env}))


# ---- URLs and names --------------------------------------------------------------------------


def test_request_target_is_sent_raw(acl_server: Start) -> None:
    seen: list[str] = []
    server = acl_server(log=seen.append)
    with client(server, chunk_s=600.0) as c:
        c.fetch("B|GMPSSC", Window(T0, T0 + 10))
    assert len(seen) == 1
    assert ('GET /cgi-bin/acl.pl?acl=logger_get/date_format=\'utc_seconds\'/ignore_db_format'
            '/start="2026-03-10+06:00:00"/end="2026-03-10+06:00:10"/node=MLrn+B|GMPSSC ') in seen[0]


@pytest.mark.parametrize(
    "name", ["B:VIMIN;read B:X", "B:VIMIN B:IMINER", "B:VIMIN\\;", "B:VIM\\;IN", "b:vimin", "",
             "B:VIMIN%3B", "B:VIMIN\n"],
)
def test_bad_device_names_are_refused_before_any_request(acl_server: Start, name: str) -> None:
    server = acl_server()
    with client(server) as c, pytest.raises(BadRequest, match="not a valid ACNET device"):
        c.fetch(name, SHORT)
    assert server.requests == 0


def test_bad_node_is_refused() -> None:
    with pytest.raises(Exception, match="node"):
        AclDataLogger("http://127.0.0.1:9/cgi-bin/acl.pl", node="MLrn;x")


def test_local_bounds_cover_the_window_and_avoid_the_repeated_hour() -> None:
    first_pass = parse_local_datetime("2026-11-01 01:30:00")  # CDT reading of 01:30
    w = Window(first_pass + 0.4, first_pass + 3600.0 + 600.0)  # into the CST pass
    start, end = acl_local_bounds(w)
    assert (start, end) == ("2026-11-01+00:45:00", "2026-11-01+02:10:00")
    assert parse_local_datetime(start) <= w.start and parse_local_datetime(end) >= w.end
    assert acl_local_bounds(Window(T0 + 0.4, T0 + 9.2)) == ("2026-03-10+06:00:00",
                                                          "2026-03-10+06:00:10")


# ---- faults and retries ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["error", "drop", "truncate", "garbage"])
def test_data_survives_retries(
    acl_server: Start, sim: SimulatedBooster, kind: str
) -> None:
    server = acl_server(faults=Faults(**{f"{kind}_share": 1.0}, repeat=2))
    with client(server, retries=3) as c:
        assert same(c.fetch("B:VIMIN", SHORT), sim.fetch("B:VIMIN", SHORT))
        occ = c.event_occurrences(0x0C, SHORT)
        assert np.array_equal(occ.utc_seconds, sim.event_occurrences(0x0C, SHORT).utc_seconds)
    chunks = 3
    assert server.faulted[kind] == 2 * 2 * chunks  # every chunk of both commands hit twice
    assert c.retried == 2 * 2 * chunks


@pytest.mark.parametrize(("kind", "reason"), [("error", "HTTP 50"),
                                              ("drop", "RemoteProtocolError"),
                                              ("truncate", "truncated inside its last line"),
                                              ("garbage", "malformed line")])
def test_device_that_keeps_failing_is_recorded_and_others_kept(
    acl_server: Start, sim: SimulatedBooster, tmp_path: Path, kind: str, reason: str
) -> None:
    server = acl_server(faults=Faults(**{f"{kind}_share": 1.0},
                                      devices=frozenset({"B:IMINER"})))
    devices = ["B:VIMIN", "B:IMINER", "I:IB"]
    with client(server, retries=2, max_in_flight=2) as c:
        result = grab_params(c, devices, SHORT, tmp_path / "out", tmp_path / "drafts")
    assert result.devices_with("failed") == ["B:IMINER"]
    assert reason in result.records["B:IMINER"].reason
    assert "after 3 attempt(s)" in result.records["B:IMINER"].reason
    for d in ("B:VIMIN", "I:IB"):
        assert same(read_param_device(result.path, d), sim.fetch(d, SHORT))


def test_forced_no_values_is_an_empty_device(acl_server: Start, tmp_path: Path) -> None:
    server = acl_server(faults=Faults(no_values_share=1.0, devices=frozenset({"I:IB"})))
    with client(server) as c:
        result = grab_params(c, ["B:VIMIN", "I:IB"], SHORT, tmp_path / "o", tmp_path / "d")
    assert result.records["I:IB"].status == "empty" and result.records["B:VIMIN"].status == "ok"


def test_unknown_device_is_not_retried(acl_server: Start) -> None:
    server = acl_server()
    with client(server) as c, pytest.raises(DeviceNotLogged, match="not logged"):
        c.fetch("B:NOSUCH", SHORT)
    assert server.requests == 1


def test_timeouts_are_retried_then_reported(acl_server: Start) -> None:
    server = acl_server(faults=Faults(latency_s=1.0))
    with client(server, timeout_s=0.2, retries=1) as c, \
            pytest.raises(DataLoggerUnavailable, match=r"after 2 attempt.*ReadTimeout"):
        c.supercycle_length()
    assert c.attempts == 2


def test_nobody_listening(acl_server: Start) -> None:
    # A port bound but not listening, kept bound: refused, and nobody else can take it.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with AclDataLogger(f"http://127.0.0.1:{port}/cgi-bin/acl.pl", retries=2,
                           backoff_s=0.01) as c, \
                pytest.raises(DataLoggerUnavailable, match=r"after 3 attempt.*ConnectError"):
            c.fetch("B:VIMIN", SHORT)


def test_wrong_url_is_not_retried(acl_server: Start) -> None:
    server = acl_server()
    with AclDataLogger(server.url.replace("acl.pl", "nope.pl"), retries=3) as c, \
            pytest.raises(DataLoggerUnavailable, match=r"HTTP 404.*GMPSAI_ACL_URL"):
        c.supercycle_time()
    assert server.requests == 0 and c.attempts == 1  # refused before the CGI, and only once


def test_requests_in_flight_are_bounded(acl_server: Start) -> None:
    server = acl_server(faults=Faults(latency_s=0.1))
    devices = ["B:VIMIN", "B_VIMIN", "B:IMINER", "I:IB", "I:MXIB", "B|GMPSSC"]
    with client(server, max_in_flight=2, chunk_s=600.0) as c:
        outcomes = list(fetch_devices(c, devices, Window(T0, T0 + 30)))
    assert [o.device for o in outcomes] == devices and all(o.status == "ok" for o in outcomes)
    # bounded, and used: one request at a time would pass a bare "<= 2"
    assert server.requests == 6 and server.max_in_flight_seen == 2
