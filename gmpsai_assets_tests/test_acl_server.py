"""The local ACL gateway: real HTTP on 127.0.0.1, the CGI's decoding, every command, every fault."""

from __future__ import annotations

import io
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from gmpsai_assets.acnet.acl_parse import (
    parse_event_reply,
    parse_logger_reply,
    parse_timeline_table,
)
from gmpsai_assets.cli import main
from gmpsai_assets.sim.acl_server import (
    GARBAGE,
    GEN_CHUNK_S,
    AclCommandError,
    AclServer,
    Faults,
    _trickled,
    decode_cgi_query,
    parse_command,
)
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.window import Window, parse_local_datetime

Start = Callable[..., AclServer]
GMPSAI = Path(sys.executable).with_name("gmpsai")
T0 = parse_local_datetime("2026-03-10 06:00:00")
LOGGER_GET = ("logger_get/date_format='utc_seconds'/ignore_db_format"
              '/start="2026-03-10+06:00:00"/end="2026-03-10+06:01:00"/node=MLrn+{device}')


def get(server: AclServer, command: str) -> httpx.Response:
    """A GET with the target sent byte for byte (`"` unencoded), as the CGI expects."""
    url = httpx.URL(server.url)
    with httpx.Client() as c:
        return c.get(url, extensions={"target": url.raw_path + b"?acl=" + command.encode()})


def test_cgi_decodes_only_plus_space_and_quotes() -> None:
    assert decode_cgi_query("acl=read+G:SCTIME%20x%27y%22z%3B") == 'read G:SCTIME x\'y"z%3B'
    with pytest.raises(AclCommandError):
        decode_cgi_query("cmd=read")


def test_parse_command() -> None:
    c = parse_command("logger_get/date_format='utc_seconds'/start=\"2026-03-10 00:00:00\""
                      "/node=MLrn B|GMPSSC")
    assert c.name == "logger_get" and c.args == ["B|GMPSSC"]
    assert c.qualifiers["start"] == "2026-03-10 00:00:00" and c.qualifiers["node"] == "MLrn"
    with pytest.raises(AclCommandError):
        parse_command("read G:SCTIME;read B:VIMIN")  # a second command is never run


def test_logger_get_serves_the_simulator_exactly(acl_server: Start, sim: SimulatedBooster) -> None:
    server = acl_server()
    for device in ("B:VIMIN", "B|GMPSSC", "B_VIMIN"):
        r = get(server, LOGGER_GET.format(device=device))
        assert r.status_code == 200
        reply = parse_logger_reply(r.content)
        reply.check("t")
        s = sim.fetch(device, Window(T0, T0 + 60))
        assert np.array_equal(reply.columns["utc_seconds"], s.utc_seconds)
        assert np.array_equal(reply.columns["value"], s.values)


def test_percent_encoded_quotes_are_decoded_as_the_real_cgi_does(
    acl_server: Start, sim: SimulatedBooster
) -> None:
    """The old EventDataGrabber and Timeline_Logger sent `"` through `requests` (as %22)."""
    server = acl_server()
    r = get(server, LOGGER_GET.format(device="B:VIMIN").replace('"', "%22"))
    reply = parse_logger_reply(r.content)
    reply.check("t")
    assert np.array_equal(reply.columns["value"], sim.fetch("B:VIMIN", Window(T0, T0 + 60)).values)
    r = get(server, 'event_log/start_time=%222026-03-10+06:00:00%22'
                    '/stop_time=%222026-03-10+06:01:00%22/event=00')
    assert parse_event_reply(r.content).rows == len(sim.event_occurrences(0, Window(T0, T0 + 60)))


def test_logger_get_errors_are_text_replies(acl_server: Start) -> None:
    server = acl_server()
    r = get(server, LOGGER_GET.format(device="B:NOSUCH"))
    assert r.status_code == 200 and r.text == "logger_get: B:NOSUCH is not logged on node MLrn\n"
    r = get(server, LOGGER_GET.format(device="B:VIMIN").replace("node=MLrn", "node=Other"))
    assert "invalid node" in r.text
    assert get(server, "frobnicate/now").text.startswith("acl: invalid command")


def test_empty_window_says_no_values(acl_server: Start, sim: SimulatedBooster) -> None:
    server = acl_server()
    outage = sim.outages(Window(T0, T0 + 7 * 86400))
    a, b = next((a, b) for a, b in outage if b - a > 5)
    start, end = (Window(a + 1, b - 1).acl_bounds())
    r = get(server, LOGGER_GET.format(device="B:VIMIN").replace("2026-03-10+06:00:00", start)
            .replace("2026-03-10+06:01:00", end))
    assert r.text == "No values\n"


def test_long_replies_are_streamed_in_pieces(acl_server: Start) -> None:
    server = acl_server()
    command = parse_command(LOGGER_GET.format(device="B:VIMIN").replace("+", " ")
                            .replace("06:01:00", "07:00:00"))
    pieces = list(server.reply_body(command))
    assert len(pieces) == int(3600 / GEN_CHUNK_S)  # generated piece by piece, never whole
    r = get(server, LOGGER_GET.format(device="B:VIMIN"))
    assert r.headers["transfer-encoding"] == "chunked"


@pytest.mark.parametrize("header", [5, 6])
def test_event_log_reply_shape(acl_server: Start, sim: SimulatedBooster, header: int) -> None:
    server = acl_server(event_header_lines=header)
    r = get(server, 'event_log/start_time="2026-03-10+06:00:00"/stop_time="2026-03-10+06:01:00"'
                    "/event=0c")
    lines = r.text.splitlines()
    assert lines[0].startswith("Event log of TCLK event $0C")
    assert not lines[header - 1].startswith("10-MAR-2026")
    assert lines[header].startswith("10-MAR-2026 06:00:00.")
    reply = parse_event_reply(r.content)
    reply.check("t")
    assert reply.header_lines == header
    occ = sim.event_occurrences(0x0C, Window(T0, T0 + 60))
    assert reply.rows == len(occ) and np.array_equal(reply.columns["sc_seconds"], occ.sc_seconds)
    r = get(server, 'event_log/start_time="2026-03-10+06:00:00"/stop_time="2026-03-10+06:01:00"'
                    "/event=fe")
    assert r.text.splitlines()[-1] == "No occurrences of event"
    assert len(r.text.splitlines()) == header + 1


def test_read_and_tlg_info(acl_server: Start) -> None:
    now = T0 + 1234.5
    booster = SimulatedBooster(now=lambda: now)
    server = acl_server(booster)
    assert float(get(server, "read/no_name/no_units+G:SCTIME").text) == booster.supercycle_time()
    assert float(get(server, "read/no_name/no_units/setting+G:SCTIME").text) == \
        booster.supercycle_length()
    assert "no such device" in get(server, "read/no_name/no_units+B:VIMIN").text
    text = get(server, "tlg_info/all_event_info").text
    assert parse_timeline_table(text.encode()) == booster.timeline()
    # the old Timeline_Logger.py's read of the same reply
    old = pd.read_fwf(io.StringIO(text), skiprows=1, header=None, usecols=[3, 10])
    assert [(int(str(e), 16), t) for e, t in zip(old[3], old[10], strict=True)] == \
        [(e.event, e.sc_time) for e in booster.timeline()]


def test_html_wrapping(acl_server: Start, sim: SimulatedBooster) -> None:
    r = get(acl_server(html=True), LOGGER_GET.format(device="B:VIMIN"))
    assert r.text.startswith("<html>") and r.text.rstrip().endswith("</html>")
    reply = parse_logger_reply(r.content)
    reply.check("t")
    assert np.array_equal(reply.columns["value"], sim.fetch("B:VIMIN", Window(T0, T0 + 60)).values)


# ---- faults ------------------------------------------------------------------------------


def test_fault_error_replies(acl_server: Start) -> None:
    server = acl_server(faults=Faults(error_share=1.0, repeat=3))
    codes = [get(server, LOGGER_GET.format(device="B:VIMIN")).status_code for _ in range(4)]
    assert set(codes[:3]) <= {500, 503} and codes[3] == 200  # repeat bounds the faults
    assert server.faulted["error"] == 3


def test_fault_dropped_connection(acl_server: Start) -> None:
    server = acl_server(faults=Faults(drop_share=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        get(server, LOGGER_GET.format(device="B:VIMIN"))


def test_fault_truncated_last_line(acl_server: Start) -> None:
    server = acl_server(faults=Faults(truncate_share=1.0))
    body = get(server, LOGGER_GET.format(device="B:VIMIN")).content
    assert not body.endswith(b"\n") and len(body.rsplit(b"\n", 1)[1].split()) <= 2


def test_fault_garbage_lines(acl_server: Start) -> None:
    server = acl_server(faults=Faults(garbage_share=1.0))
    body = get(server, LOGGER_GET.format(device="B:VIMIN")).content
    assert body.count(GARBAGE) == 2 and parse_logger_reply(body).rejects == 2


def test_fault_no_values(acl_server: Start) -> None:
    server = acl_server(faults=Faults(no_values_share=1.0))
    assert get(server, LOGGER_GET.format(device="B:VIMIN")).text == "No values\n"


def test_faults_limited_to_devices(acl_server: Start) -> None:
    server = acl_server(faults=Faults(error_share=1.0, devices=frozenset({"B:IMINER"})))
    assert get(server, LOGGER_GET.format(device="B:IMINER")).status_code in (500, 503)
    assert get(server, LOGGER_GET.format(device="B:VIMIN")).status_code == 200
    assert get(server, "read/no_name/no_units+G:SCTIME").status_code == 200


def test_fault_trickle_sends_one_line_at_a_time(acl_server: Start) -> None:
    """Each line its own piece, a pause before each: a per-read timeout never fires."""
    assert list(_trickled(iter([b"1 2\n3 4\n", b"5 6\n"]), 0.001)) == \
        [b"1 2\n", b"3 4\n", b"5 6\n"]
    server = acl_server(faults=Faults(trickle_share=1.0, trickle_s=0.001))
    r = get(server, LOGGER_GET.format(device="B:VIMIN"))  # short enough to wait for
    assert parse_logger_reply(r.content).rows == 900 and server.faulted["trickle"] == 1


def test_fault_latency(acl_server: Start) -> None:
    server = acl_server(faults=Faults(latency_s=0.3))
    r = get(server, "read/no_name/no_units+G:SCTIME")
    assert r.elapsed.total_seconds() >= 0.3  # a floor, not a timing threshold on our speed


def test_fault_shares_are_checked() -> None:
    with pytest.raises(ValueError):
        Faults(error_share=0.7, drop_share=0.5)
    for bad in ({"error_share": math.nan}, {"drop_share": math.inf}, {"latency_s": math.nan},
                {"latency_s": math.inf}, {"latency_s": 1e300}):
        with pytest.raises(ValueError, match=r"finite|at most"):
            Faults(**bad)


@pytest.mark.parametrize("argv", [["--latency", "nan"], ["--truncate-share", "nan"],
                                  ["--latency", "inf"], ["--no-values-share=-inf"]])
def test_cli_refuses_nan_and_inf(argv: list[str]) -> None:
    # In a child with a deadline: a server that accepted them would serve forever.
    proc = subprocess.run([str(GMPSAI), "acl-server", "--port", "0", *argv],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "must be" in proc.stderr


# ---- the command line ----------------------------------------------------------------------


def test_cli_serves_until_stopped() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [str(GMPSAI), "acl-server", "--port", "0", "--error-share", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        first = proc.stdout.readline()
        url = first.split(" at ")[1].strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/cgi-bin/acl.pl")
        r = httpx.get(url + "?acl=read/no_name/no_units/setting+G:SCTIME")
        assert float(r.text) == pytest.approx(60.0667, abs=1e-3)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--error-share", "0.8", "--drop-share", "0.5"], "sum to at most 1"),
        (["--fault-device", "B;X"], "not a valid ACNET device name"),
        (["--port", "70000"], "--port must be"),
        (["--trickle-s", "0"], "trickle interval"),
    ],
)
def test_cli_bad_options_one_line_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["acl-server", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
