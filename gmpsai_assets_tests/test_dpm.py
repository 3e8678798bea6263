"""The DPM source: pacsys's real gRPC client (through `DpmDataLogger`) against pacsys's real gRPC
server (`SupervisedServer` over the simulated Booster) on 127.0.0.1. The same samples as the
simulated and ACL sources, bit for bit; every fault (an error status, an empty window, a stream
cut or stalled mid-way, a failing chunk, a refused connection) ends in a recorded non-ok status
or in exactly the clean data, never in different numbers marked ok; the settings, the one-line
errors, and TCLK events going to the ACL gateway."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from gmpsai_assets.acnet.acl_client import AclDataLogger
from gmpsai_assets.acnet.datalogger import DataLoggerUnavailable, fetch_devices
from gmpsai_assets.acnet.devices import load_device_list
from gmpsai_assets.acnet.dpm_client import (
    DEFAULT_ENDPOINTS,
    DpmDataLogger,
    logger_drf,
    micros_to_seconds,
)
from gmpsai_assets.defs.param_data import param_data
from gmpsai_assets.defs.resources import DataLoggerResource, StorageResource
from gmpsai_assets.files.eventfile import read_event_attrs
from gmpsai_assets.files.paramfile import read_param_attrs, read_param_device
from gmpsai_assets.ingest.params import NoDataError, grab_params
from gmpsai_assets.samples import Samples
from gmpsai_assets.settings import Settings, SettingsError
from gmpsai_assets.sim.acl_server import AclServer
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.sources import open_datalogger, open_timing
from gmpsai_assets.status import DeviceStatus
from gmpsai_assets.window import Window, parse_local_datetime
from gmpsai_assets_tests.conftest import pacsys_or_skip

pytestmark = pytest.mark.dpm

Start = Callable[..., object]
T0 = parse_local_datetime("2026-03-10 06:00:00")
SHORT = Window(T0 + 0.25, T0 + 300.5)  # fractional bounds: the DRF asks whole milliseconds
DEVICES = ["B:VIMIN", "B_VIMIN", "B|GMPSSC", "I:IB"]


def client(server: object, **kw: object) -> DpmDataLogger:
    options = {"chunk_s": 120.0, "backoff_s": 0.01, "retries": 2, "timeout_s": 30.0,
               "devdb_url": None, "port": server.port, **kw}  # type: ignore[attr-defined]
    return DpmDataLogger("grpc", "127.0.0.1", **options)  # type: ignore[arg-type]


def same(a: Samples, b: Samples) -> bool:
    return np.array_equal(a.utc_seconds, b.utc_seconds) and np.array_equal(a.values, b.values)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- times and requests (no server) -------------------------------------------------------


def test_micros_become_seconds_exactly() -> None:
    """`micros / 1e6`, correctly rounded: the float64 nearest the exact quotient, whatever the
    microseconds; millisecond stamps give exactly the simulator's float seconds."""
    rng = np.random.default_rng(7)
    micros = np.concatenate([
        rng.integers(1_577_836_800_000_000, 1_893_456_000_000_000, 5000),  # 2020..2030
        np.array([0, 1, -1, 1_736_942_400_000_001, 2**53 - 1, 1_773_140_400_123_456]),
    ]).astype(np.int64)
    got = micros_to_seconds(micros)
    assert got.dtype == np.float64
    for m, s in zip(micros.tolist(), got.tolist(), strict=True):
        assert s == float(Fraction(m, 10**6)), m  # float(Fraction) rounds correctly
    stamps = SimulatedBooster().fetch("B:VIMIN", SHORT).utc_seconds  # ms-rounded floats
    assert np.array_equal(micros_to_seconds(np.round(stamps * 1e6).astype(np.int64)), stamps)


def test_the_drf_asks_whole_milliseconds_around_the_window() -> None:
    assert logger_drf("B_VIMIN", Window(1736942400.0004, 1736946000.9991), "MLrn") == (
        "B_VIMIN<-LOGGER:1736942400000:1736946001000:MLrn")


# ---- equivalence with the other sources -----------------------------------------------------


def test_dpm_acl_and_simulated_give_the_same_samples_bit_for_bit(
    dpm_server: Start, acl_server: Callable[..., AclServer], tmp_path: Path
) -> None:
    """Every listed device over five minutes, in chunks, through the three sources' grabs."""
    devices = [e.device for e in load_device_list()]
    sim = SimulatedBooster()
    window = Window(T0, T0 + 300)
    with client(dpm_server(), max_in_flight=4) as dpm, \
            AclDataLogger(acl_server().url, chunk_s=120.0, backoff_s=0.01) as acl:
        paths = {src.source: grab_params(src, devices, window, tmp_path / src.source,
                                         tmp_path / "drafts").path
                 for src in (sim, acl, dpm)}
    assert read_param_attrs(paths["dpm"])["source"] == "dpm"
    outcomes = read_param_attrs(paths["dpm"])["device_outcomes"]
    assert {r.status for r in outcomes.values()} <= {DeviceStatus.OK, DeviceStatus.EMPTY}
    assert sum(r.rows for r in outcomes.values()) > 40 * 4000
    for device in devices:
        want = read_param_device(paths["simulated"], device)
        assert same(read_param_device(paths["dpm"], device), want), device
        assert same(read_param_device(paths["acl"], device), want), device


def test_fetch_equals_the_simulator_in_chunks(dpm_server: Start, sim: SimulatedBooster) -> None:
    server = dpm_server()
    with client(server) as c:
        for device in DEVICES:
            got = c.fetch(device, SHORT)
            assert len(got) > 4000 and same(got, sim.fetch(device, SHORT))
        assert c.attempts == len(DEVICES) * 3 and c.retried == 0  # 300 s in chunks of 120 s
    assert server.backend.requests["B:VIMIN"] == 3  # type: ignore[attr-defined]


def test_requests_in_flight_are_bounded(dpm_server: Start) -> None:
    server = dpm_server()
    with client(server, chunk_s=60.0, max_in_flight=2) as c:
        outcomes = list(fetch_devices(c, DEVICES * 2, Window(T0, T0 + 120)))
    assert all(o.status == DeviceStatus.OK for o in outcomes)
    assert [o.device for o in outcomes] == DEVICES * 2  # in list order
    assert 1 <= server.backend.max_in_flight_seen <= 2  # type: ignore[attr-defined]


# ---- faults ----------------------------------------------------------------------------------


def test_an_error_status_fails_the_device_at_once_with_its_acnet_text(
    dpm_server: Start, sim: SimulatedBooster, tmp_path: Path
) -> None:
    from gmpsai_assets.sim.dpm_server import DpmFaults

    faults = DpmFaults(errors={"B:VIMIN": (17, -45, "logger job blew up")})
    server = dpm_server(faults=faults)
    with client(server) as c:
        result = grab_params(c, DEVICES, SHORT, tmp_path / "o", tmp_path / "d")
    record = result.records["B:VIMIN"]
    assert record.status == DeviceStatus.FAILED and record.rows == 0
    assert "DPM_INTERNAL_ERROR" in record.reason and "logger job blew up" in record.reason
    assert server.backend.requests["B:VIMIN"] == 1  # type: ignore[attr-defined]  # no retry
    assert same(read_param_device(result.path, "I:IB"), sim.fetch("I:IB", SHORT))


def test_a_device_the_logger_does_not_have_is_failed(dpm_server: Start) -> None:
    with client(dpm_server()) as c, pytest.raises(DataLoggerUnavailable,
                                                   match=r"DPM_NO_SUCH_DEVICE.*B:NOPE"):
        c.fetch("B:NOPE", SHORT)


def test_an_empty_window_is_empty_and_no_logger_data_too(dpm_server: Start,
                                                         tmp_path: Path) -> None:
    from gmpsai_assets.sim.dpm_server import DpmFaults

    faults = DpmFaults(empty=frozenset({"I:IB"}),
                       errors={"B_VIMIN": (66, -64, "no logger data")})  # DAE_LJ_NO_DATA
    with client(dpm_server(faults=faults)) as c:
        result = grab_params(c, DEVICES, SHORT, tmp_path / "o", tmp_path / "d")
    assert result.records["I:IB"].status == DeviceStatus.EMPTY
    assert result.records["B_VIMIN"].status == DeviceStatus.EMPTY
    assert result.records["B:VIMIN"].status == DeviceStatus.OK


def test_a_stream_cut_mid_way_is_retried_and_then_exact(dpm_server: Start,
                                                        sim: SimulatedBooster) -> None:
    """The first connection is cut after 20 kB of a reply of 1800 samples (some 50 kB): pacsys
    drops what came, the chunk is asked again on a new connection and the device is exactly
    the clean data."""
    from gmpsai_assets.sim.dpm_server import FaultyLink

    server = dpm_server()
    with FaultyLink(server.port, after_bytes=20_000, mode="cut", times=1) as link, \
            client(server, port=link.port) as c:  # type: ignore[attr-defined]
        got = c.fetch("B:VIMIN", SHORT)
    assert link.broken == 1 and c.retried >= 1
    assert same(got, sim.fetch("B:VIMIN", SHORT)) and not got.missing


def test_a_stream_cut_every_time_fails_the_device_never_ok(dpm_server: Start,
                                                           tmp_path: Path) -> None:
    from gmpsai_assets.sim.dpm_server import FaultyLink

    server = dpm_server()
    with FaultyLink(server.port, after_bytes=20_000, mode="cut") as link, \
            client(server, port=link.port, retries=1) as c, \
            pytest.raises(NoDataError, match="no complete reply after 2 attempt"):
        grab_params(c, ["B:VIMIN"], SHORT, tmp_path / "o", tmp_path / "d")
    assert link.broken >= 2
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_a_stalled_stream_hits_its_deadline_and_fails(dpm_server: Start) -> None:
    """The relay passes 20 kB of the reply, then nothing, holding the connection open: only the
    chunk's deadline ends each attempt; then the client pauses instead of stalling again."""
    from gmpsai_assets.sim.dpm_server import FaultyLink

    server = dpm_server()
    with FaultyLink(server.port, after_bytes=20_000, mode="stall") as link, \
            client(server, port=link.port, retries=1, timeout_s=1.0) as c:
        with pytest.raises(DataLoggerUnavailable, match="DEADLINE_EXCEEDED"):
            c.fetch("B:VIMIN", SHORT)
        assert link.broken >= 1 and c.attempts == 2
        # a DPM that stalls once most likely stalls every request: the client asks nothing more
        with pytest.raises(DataLoggerUnavailable, match="not sent: DPM stalled"):
            c.fetch("I:IB", SHORT)
        assert c.attempts == 2


def test_a_chunk_that_keeps_failing_leaves_a_partial_device_with_its_span(
    dpm_server: Start, sim: SimulatedBooster, tmp_path: Path
) -> None:
    """The middle chunk fails in the server every time (gRPC INTERNAL, no data): the device is
    partial, its missing span is that chunk, and the samples are exactly the clean ones outside
    it; a device whose first chunk fails is failed."""
    from gmpsai_assets.sim.dpm_server import DpmFaults

    window = Window(T0, T0 + 360)
    broken = (T0 + 150, T0 + 160)  # inside the second chunk of 120 s
    with client(dpm_server(faults=DpmFaults(broken_spans=(broken,))), retries=1) as c:
        result = grab_params(c, ["B:VIMIN"], window, tmp_path / "o", tmp_path / "d")
        with pytest.raises(DataLoggerUnavailable, match="INTERNAL"):
            c.fetch("B:VIMIN", Window(T0 + 140, T0 + 400))
    record = result.records["B:VIMIN"]
    assert record.status == DeviceStatus.PARTIAL
    assert record.missing_utc == ((T0 + 120, T0 + 240),)
    clean = sim.fetch("B:VIMIN", window)
    keep = (clean.utc_seconds < T0 + 120) | (clean.utc_seconds >= T0 + 240)
    got = read_param_device(result.path, "B:VIMIN")
    assert np.array_equal(got.utc_seconds, clean.utc_seconds[keep])
    assert np.array_equal(got.values, clean.values[keep])


def test_a_refused_connection_fails_every_device(tmp_path: Path) -> None:
    pacsys_or_skip()
    with DpmDataLogger("grpc", "127.0.0.1", free_port(), devdb_url=None, retries=1,
                       backoff_s=0.01, timeout_s=5.0) as c:
        with pytest.raises(NoDataError, match="UNAVAILABLE"):
            grab_params(c, DEVICES, SHORT, tmp_path / "o", tmp_path / "d")
        assert c.attempts == len(DEVICES) * 2  # the first chunk of each, once retried


# ---- configuration ---------------------------------------------------------------------------


def test_settings_build_the_dpm_client() -> None:
    pacsys_or_skip()
    env = {"GMPSAI_SOURCE": "dpm", "GMPSAI_DPM_HOST": "127.0.0.1", "GMPSAI_DPM_PORT": "50123",
           "GMPSAI_DPM_TIMEOUT_S": "7", "GMPSAI_DPM_RETRIES": "5", "GMPSAI_DPM_CHUNK_S": "900",
           "GMPSAI_MAX_IN_FLIGHT": "3", "GMPSAI_LOGGER_NODE": "Backup",
           "GMPSAI_DPM_DEVDB_URL": "off"}
    with open_datalogger(Settings.from_env(env)) as c:
        assert isinstance(c, DpmDataLogger) and c.source == "dpm"
        assert (c.backend_name, c.host, c.port, c.node) == ("grpc", "127.0.0.1", 50123, "Backup")
        assert (c.timeout_s, c.retries, c.chunk_s, c.max_in_flight) == (7.0, 5, 900.0, 3)
        assert c.devdb_url is None
    with open_datalogger(Settings.from_env({"GMPSAI_SOURCE": "dpm",
                                            "GMPSAI_DPM_BACKEND": "http"})) as c:
        assert (c.host, c.port) == DEFAULT_ENDPOINTS["http"]  # nothing is sent yet
        assert c.devdb_url == "https://ad-services.fnal.gov:443"


@pytest.mark.parametrize(("var", "bad"), [("GMPSAI_DPM_BACKEND", "tcp"),
                                          ("GMPSAI_DPM_PORT", "70000"),
                                          ("GMPSAI_DPM_TIMEOUT_S", "0"),
                                          ("GMPSAI_DPM_DEVDB_URL", "devdb.fnal.gov")])
def test_bad_dpm_settings_are_one_line_naming_the_variable(var: str, bad: str) -> None:
    with pytest.raises(SettingsError, match=var):
        Settings.from_env({"GMPSAI_SOURCE": "dpm", var: bad})


def test_a_devdb_url_with_a_path_is_refused_naming_the_variable() -> None:
    pacsys_or_skip()
    settings = Settings.from_env({"GMPSAI_SOURCE": "dpm",
                                  "GMPSAI_DPM_DEVDB_URL": "https://devdb.example/x"})
    with pytest.raises(SettingsError, match=r"^GMPSAI_DPM_DEVDB_URL: a DevDB URL"):
        open_datalogger(settings)


def test_without_pacsys_the_source_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., tuple[object, str, str]],
    small_list: Path,
) -> None:
    monkeypatch.setitem(sys.modules, "pacsys", None)  # `import pacsys` raises ImportError
    with pytest.raises(SettingsError) as info:
        open_datalogger(Settings.from_env({"GMPSAI_SOURCE": "dpm"}))
    assert "pip install 'gmpsai-assets[dpm]'" in str(info.value)
    monkeypatch.setenv("GMPSAI_SOURCE", "dpm")
    code, _, err = run_cli("grab-params", "--startat", "2026-03-10+06:00:00", "--minutes",
                           "1", "--paramfile", str(small_list))
    assert code == 2 and "pip install 'gmpsai-assets[dpm]'" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_events_and_the_timeline_come_from_the_acl_gateway_with_dpm(
    acl_server: Callable[..., AclServer], monkeypatch: pytest.MonkeyPatch,
    run_cli: Callable[..., tuple[object, str, str]], tmp_path: Path,
) -> None:
    """DPM has no TCLK history: with GMPSAI_SOURCE=dpm, events go to GMPSAI_ACL_URL, and the
    event file says `acl`."""
    server = acl_server()
    settings = Settings.from_env({"GMPSAI_SOURCE": "dpm", "GMPSAI_ACL_URL": server.url})
    with open_timing(settings) as timing:
        assert isinstance(timing, AclDataLogger) and timing.url == server.url
    monkeypatch.setenv("GMPSAI_SOURCE", "dpm")
    monkeypatch.setenv("GMPSAI_ACL_URL", server.url)
    monkeypatch.setenv("GMPSAI_DPM_PORT", str(free_port()))  # never asked for events
    out = tmp_path / "events"
    code, _, err = run_cli("grab-events", "--startat", "2026-03-10+06:00:00", "--minutes", "2",
                           "--maxEvt", "0c", "--outdir", str(out), "--draftdir",
                           str(tmp_path / "d"))
    assert code == 0, err
    (path,) = out.glob("MLEventData_*.h5")
    assert read_event_attrs(path)["source"] == "acl"


def test_param_data_asset_reads_through_dpm(dpm_server: Start, sim: SimulatedBooster,
                                            tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("MLrn I:IB\n")
    server = dpm_server()
    resources = {
        "datalogger": DataLoggerResource(
            source="dpm", dpm_host="127.0.0.1", dpm_port=server.port,  # type: ignore[attr-defined]
            dpm_devdb_url="off", param_list=str(listing), max_in_flight=2, dpm_chunk_s=7200.0,
        ),
        "storage": StorageResource(data_dir=str(tmp_path / "data")),
    }
    result = dg.materialize([param_data], partition_key="2026-03-10", resources=resources)
    meta = result.asset_materializations_for_node("param_data")[0].metadata
    path = Path(meta["path"].value)
    day = Window(parse_local_datetime("2026-03-10"), parse_local_datetime("2026-03-11"))
    assert read_param_attrs(path)["source"] == "dpm"
    assert same(read_param_device(path, "I:IB"), sim.fetch("I:IB", day))


def test_the_resource_gives_timing_to_the_acl_gateway_only_for_dpm(
    acl_server: Callable[..., AclServer]
) -> None:
    url = acl_server().url
    dpm = DataLoggerResource(source="dpm", acl_url=url, dpm_devdb_url="off")
    timing = dpm.open_timing()
    assert isinstance(timing, AclDataLogger) and timing.url == url
    assert isinstance(dpm.open(), DpmDataLogger)  # parameter data: DPM
    sim = DataLoggerResource(source="simulated")
    assert sim.open_timing() is sim.open()  # one source, opened once
    for resource in (dpm, sim):
        resource.teardown_after_execution(None)  # type: ignore[arg-type]
