"""The DPM path at scale: a full simulated day of every listed device through pacsys's gRPC
client and pacsys's own gRPC server (`sim/dpm_server.py`) on loopback, against the same day
through the local ACL gateway and against the simulated source (the floor).

Each server runs in a process of its own, as the real ones would; each client runs in a fresh
child process that fetches the day (`fetch_devices`, 4 in flight, default chunks: DPM 3600 s,
ACL 7200 s), hashes every device's samples, and reports its own peak resident memory
(`common.peak_rss_mb`, so neither the servers, the other children nor the benchmark runner
count) and its peak after imports. The three sources must give the same samples bit for bit.

Memory bound: the client holds at most one device-day of samples per request in flight (fetch
returns a device's whole window) plus the chunk being decoded; so peak - baseline should stay
under (in flight + 1) x one device-day's arrays + in flight x one chunk's transient (pacsys
builds one protobuf message per sample).

`--quick` takes 8 devices instead of 47.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from benchmarks.bench_acl import gateway
from benchmarks.common import Row, print_table
from gmpsai_assets.acnet.devices import load_device_list

DAY = "2026-03-10"
IN_FLIGHT = 4
# What decoding one 3600 s chunk (54,000 samples) may hold at once in the client: pacsys keeps
# every reply message of the stream (one protobuf message per sample) until the terminator.
CHUNK_TRANSIENT_MB = 40.0

_SERVER = """
import sys
from gmpsai_assets.sim.dpm_server import DpmServer
with DpmServer() as server:
    print(f"DPM at 127.0.0.1:{server.port}", flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
"""

_CLIENT = """
import hashlib, json, sys, time
from benchmarks.common import peak_rss_mb
from gmpsai_assets.acnet.datalogger import fetch_devices
from gmpsai_assets.window import day_window
kind, port, devices = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
if kind == "dpm":
    from gmpsai_assets.acnet.dpm_client import DpmDataLogger
    source = DpmDataLogger("grpc", "127.0.0.1", int(port), max_in_flight=4, devdb_url=None)
elif kind == "acl":
    from gmpsai_assets.acnet.acl_client import AclDataLogger
    source = AclDataLogger(port, max_in_flight=4)
else:
    from gmpsai_assets.sim.simulator import SimulatedBooster
    source = SimulatedBooster(max_in_flight=1)
baseline_mb = peak_rss_mb()
began = time.perf_counter()
rows, digests, failed, biggest = 0, {}, [], 0
for o in fetch_devices(source, devices, day_window(sys.argv[4])):
    if o.error is not None:
        failed.append(f"{o.device}: {o.error}")
        continue
    s = o.samples
    rows += len(s)
    biggest = max(biggest, s.utc_seconds.nbytes + s.values.nbytes)
    h = hashlib.sha256(s.utc_seconds)  # (from the arrays' memory: a copy would count as the
    h.update(s.values)                  # client's peak; the digest is that of both, joined)
    digests[o.device] = h.hexdigest()
seconds = time.perf_counter() - began
attempts = getattr(source, "attempts", 0)
source.close()
print(json.dumps({"seconds": seconds, "rows": rows, "digests": digests, "failed": failed,
                  "attempts": attempts, "biggest_bytes": biggest, "baseline_mb": baseline_mb,
                  "peak_mb": peak_rss_mb()}))
"""


@contextmanager
def dpm_server() -> Iterator[int]:
    """The DPM emulator in its own process; yields its port."""
    proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("DPM at "):
            raise RuntimeError(f"the DPM emulator did not start: {line!r}")
        yield int(line.rsplit(":", 1)[1])
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client(kind: str, where: str, devices: list[str]) -> dict:
    """One fresh child process fetching the day; its own JSON report."""
    proc = subprocess.run([sys.executable, "-c", _CLIENT, kind, where, ",".join(devices), DAY],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"{kind} client failed: {proc.stderr.strip()[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["failed"]:
        raise RuntimeError(f"{kind}: {len(result['failed'])} failed: {result['failed'][0]}")
    return result


def main() -> None:
    quick = "--quick" in sys.argv
    devices = [e.device for e in load_device_list()][: 8 if quick else 47]
    n = len(devices)
    sim = client("simulated", "", devices)
    with gateway() as url:
        acl = client("acl", url, devices)
    with dpm_server() as port:
        dpm = client("dpm", str(port), devices)

    for name, got in (("acl", acl), ("dpm", dpm)):
        differ = [d for d in devices if got["digests"].get(d) != sim["digests"].get(d)]
        if differ or got["rows"] != sim["rows"]:
            raise RuntimeError(f"{name}: {len(differ)} device(s) differ from the simulated "
                               f"day, first {differ[:1]}")

    def over(r: dict) -> float:
        return r["peak_mb"] - r["baseline_mb"]

    day_mb = dpm["biggest_bytes"] / 2**20  # one device-day's two float64 arrays
    bound = (IN_FLIGHT + 1) * day_mb + IN_FLIGHT * CHUNK_TRANSIENT_MB
    rows = [
        Row(f"full day, {n} devices via DPM/gRPC ({dpm['attempts']} requests)",
            dpm["seconds"], sim["seconds"], "s", "SimulatedBooster.fetch"),
        Row("  same, against the ACL gateway", dpm["seconds"], acl["seconds"], "s",
            f"ACL client, local gateway ({acl['attempts']} requests)"),
        Row("  rows per second, DPM vs ACL", dpm["rows"] / dpm["seconds"],
            acl["rows"] / acl["seconds"], "rows/s", "ACL client"),
        Row("peak RSS over baseline, DPM client", over(dpm), over(sim), "MB",
            "simulated child, same day", f"<= {bound:.0f}"),
        Row("  the same, ACL client", over(acl), over(sim), "MB", "simulated child, same day"),
        Row("  DPM client's peak RSS (absolute)", dpm["peak_mb"], sim["peak_mb"], "MB",
            "simulated child"),
    ]
    peak_over = over(dpm)
    print_table(f"DPM path (pacsys gRPC, loopback, servers in their own processes), {DAY}, "
                f"{IN_FLIGHT} in flight, {dpm['rows']:,} rows, identical in the three sources; "
                f"largest device-day {day_mb:.1f} MB", rows)
    if peak_over > bound:
        raise RuntimeError(f"DPM client peak {peak_over:.0f} MB over baseline exceeds the "
                           f"bound {bound:.0f} MB")


if __name__ == "__main__":
    main()
