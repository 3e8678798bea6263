"""The ACL path at scale: a full simulated day of every listed device through the local gateway.

The gateway (`gmpsai acl-server`) runs in its own process, as the real one would, so the client's
work is not mixed with the server's in one interpreter. Figures, each beside a floor measured in
the same run:

1. a full local day of all 47 devices through `AclDataLogger` (`fetch_devices`, 4 in flight,
   default chunks), against downloading the very same replies with bare httpx and throwing them
   away (server + transport floor), and against the simulated path (no HTTP at all);
2. the client's parse rate over one device-day reply (fed 64 KiB at a time, as it streams in)
   against bare `polars.read_csv` of the same bytes in one go;
3. with 200 ms added per request: fetch time against latency x requests / concurrency
   (target: within 1.3x), on one hour of every device in 15-minute chunks, where transfer is
   small and the latency dominates, as it does against the real gateway;
4. the same hour through a gateway with 10% HTTP 503/500, 5% dropped connections, 5% truncated
   and 5% garbled replies: every device must still arrive complete.

The clean day is fetched and downloaded `ROUNDS` times, interleaved, for medians (one round's
ratio moves by a tenth either way on a shared machine); once each with `--quick`, which also
takes 8 devices instead of 47. `--full` also times the whole day with the 200 ms latency
(about 600 requests, adds a minute). Targets (issue 25): the day at most 1.15x its download,
the parser at least 0.8x bare `pl.read_csv`, plain and HTML.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import polars as pl

from benchmarks.common import Row, interleaved_medians, print_table
from gmpsai_assets.acnet.acl_client import READ_CHUNK, AclDataLogger
from gmpsai_assets.acnet.acl_parse import LoggerReplyParser
from gmpsai_assets.acnet.datalogger import fetch_devices
from gmpsai_assets.acnet.devices import load_device_list
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.window import Window, day_window, parse_local_datetime

DAY = "2026-03-10"
IN_FLIGHT = 4
LATENCY_S = 0.2
ROUNDS = 5


@contextmanager
def gateway(*options: str) -> Iterator[str]:
    """`gmpsai acl-server` on a free port in its own process; yields its URL."""
    exe = Path(sys.executable).with_name("gmpsai")
    proc = subprocess.Popen([str(exe), "acl-server", "--port", "0", *options],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if " at " not in line:
            raise RuntimeError(f"acl-server did not start: {line!r}")
        yield line.split(" at ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def fetch_all(url: str, devices: list[str], window: Window, **kw: float) -> tuple[float, int, int]:
    """Seconds, rows and requests to fetch `devices` through the client."""
    with AclDataLogger(url, max_in_flight=IN_FLIGHT, **kw) as client:
        began = time.perf_counter()
        rows, failed = 0, []
        for outcome in fetch_devices(client, devices, window):
            if outcome.error is not None:
                failed.append(f"{outcome.device}: {outcome.error}")
            rows += len(outcome.samples) if outcome.samples is not None else 0
        seconds = time.perf_counter() - began
        if failed:
            raise RuntimeError(f"{len(failed)} device(s) failed: {failed[0]}")
        return seconds, rows, client.attempts


def download_all(url: str, devices: list[str], window: Window) -> tuple[float, int]:
    """The floor: the same requests, bodies read and discarded, same concurrency."""
    client = AclDataLogger(url)  # only to build identical commands and targets
    base = httpx.URL(url)
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=IN_FLIGHT)) as http:

        def one(device: str) -> int:
            n = 0
            for piece in window.split(client.chunk_s):
                target = client.target(client.logger_get_command(device, piece))
                with http.stream("GET", base, extensions={"target": target}) as r:
                    for data in r.iter_bytes():
                        n += len(data)
            return n

        began = time.perf_counter()
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            total = sum(pool.map(one, devices))
        seconds = time.perf_counter() - began
    client.close()
    return seconds, total


def parse_rates(url: str) -> tuple[float, float, float, int]:
    """MB/s of the client's streaming parser and of bare polars on one device-day reply."""
    client = AclDataLogger(url, chunk_s=86400.0 * 2)
    (piece,) = day_window(DAY).split(client.chunk_s)
    target = client.target(client.logger_get_command("B:VIMIN", piece))
    with httpx.Client(timeout=120) as http:
        body = http.get(httpx.URL(url), extensions={"target": target}).content
    client.close()
    wrapped = b"<html><head><title>ACL</title></head><body><pre>\n" + body + \
        b"</pre></body></html>\n"

    # As the reply streams in: the client is handed READ_CHUNK pieces, cut here once.
    pieces = {id(b): [b[i:i + READ_CHUNK] for i in range(0, len(b), READ_CHUNK)]
              for b in (body, wrapped)}

    def ours(data: bytes) -> None:
        p = LoggerReplyParser()
        for piece in pieces[id(data)]:
            p.feed(piece)
        p.finish().check("bench")

    def bare() -> None:
        pl.read_csv(body, has_header=False, separator=" ",
                    schema={"t": pl.Float64, "v": pl.Float64})

    mb = len(body) / 1e6
    plain_s, html_s, bare_s = interleaved_medians(
        [lambda: ours(body), lambda: ours(wrapped), bare], repeat=15)
    return mb / plain_s, mb / html_s, mb / bare_s, len(body)


def main() -> None:
    quick, full = "--quick" in sys.argv, "--full" in sys.argv
    devices = [e.device for e in load_device_list()][: 8 if quick else 47]
    n = len(devices)
    day = day_window(DAY)
    hour_start = parse_local_datetime(f"{DAY} 09:00:00")
    hour = Window(hour_start, hour_start + 3600.0)
    rows: list[Row] = []

    with gateway() as url:
        runs, downloads = [], []
        for r in range(1 if quick else ROUNDS):  # interleaved: the load falls on both alike,
            if r % 2:                          # and each goes first in turn
                downloads.append(download_all(url, devices, day))
            runs.append(fetch_all(url, devices, day))
            if not r % 2:
                downloads.append(download_all(url, devices, day))
        acl_s = statistics.median(r[0] for r in runs)
        _, day_rows, day_requests = runs[0]
        down_s = statistics.median(d[0] for d in downloads)
        day_bytes = downloads[0][1]
        sim = SimulatedBooster()
        began = time.perf_counter()
        for d in devices:
            sim.fetch(d, day)
        sim_s = time.perf_counter() - began
        ours_mbs, html_mbs, bare_mbs, reply_bytes = parse_rates(url)
        clean_hour_s, _, _ = fetch_all(url, devices, hour, chunk_s=900.0)

    rows += [
        Row(f"full day, {n} devices via ACL ({day_requests} requests)", acl_s, down_s, "s",
            "same replies downloaded, not parsed", "<= 1.15x"),
        Row("  same, against the simulated path", acl_s, sim_s, "s", "SimulatedBooster.fetch"),
        Row("  throughput", day_bytes / 1e6 / acl_s, day_bytes / 1e6 / down_s, "MB/s",
            "download only"),
        Row(f"parse one device-day reply ({reply_bytes / 1e6:.0f} MB)", ours_mbs, bare_mbs,
            "MB/s", "bare pl.read_csv, same bytes", ">= 0.8x"),
        Row("  the same reply wrapped in HTML", html_mbs, bare_mbs, "MB/s",
            "bare pl.read_csv, plain bytes", ">= 0.8x"),
    ]

    with gateway("--latency", str(LATENCY_S)) as url:
        seconds, _, requests = fetch_all(url, devices, hour, chunk_s=900.0)
        rows.append(Row(f"1 h x {n} devices, +{LATENCY_S * 1000:.0f} ms/request "
                        f"({requests} req)", seconds, LATENCY_S * requests / IN_FLIGHT, "s",
                        f"latency x requests / {IN_FLIGHT}", "<= 1.3x"))
        if full:
            seconds, _, requests = fetch_all(url, devices, day)
            rows.append(Row(f"full day x {n} devices, +{LATENCY_S * 1000:.0f} ms/request",
                            seconds, LATENCY_S * requests / IN_FLIGHT + acl_s, "s",
                            "latency x req / 4 + clean day", ""))

    faults = ("--error-share", "0.10", "--drop-share", "0.05", "--truncate-share", "0.05",
              "--garbage-share", "0.05", "--fault-seed", "7")
    with gateway(*faults) as url:
        seconds, hour_rows, requests = fetch_all(url, devices, hour, chunk_s=900.0)
    want = sum(len(SimulatedBooster().fetch(d, hour)) for d in devices)
    if hour_rows != want:
        raise RuntimeError(f"faulty gateway: {hour_rows} rows arrived, {want} expected")
    rows.append(Row(f"1 h x {n} devices, 25% faulty replies ({requests} req)", seconds,
                    clean_hour_s, "s", "same hour, clean gateway", "all rows"))

    print_table(f"ACL gateway path, local emulator in its own process, {DAY}, "
                f"{IN_FLIGHT} in flight ({day_rows:,} rows in the day)", rows)


if __name__ == "__main__":
    main()
