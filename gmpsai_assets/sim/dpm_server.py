"""A local DPM, DevDB and a faulty network link, backed by the simulated Booster, for tests,
benchmarks and drills (needs the `dpm` extra: pacsys).

- `SimDpmBackend` is a pacsys `Backend` that answers DataLogger DRFs
  (`DEVICE<-LOGGER:<start ms>:<end ms>:<node>`) from a `SimulatedBooster`, the window sliced
  by the DRF's own times, stamps as int64 epoch microseconds (the simulator's millisecond stamps
  times 1000, exactly). `DpmServer` serves it with pacsys's own `SupervisedServer` (DPM's DAQ
  gRPC protocol: 487-point chunks, then the empty terminator) on loopback, so pacsys's real
  gRPC client talks to a real gRPC server.
- `DevDbServer` answers DevDB's `getDeviceInfo` from a table of descriptions and units
  (the simulator's own, `DEVICE_INFO`, by default), on loopback, without TLS.
- `FaultyLink` is a TCP relay in front of a server that cuts, or stalls, the server's reply
  bytes after a given count: a stream broken or hung mid-way, as a network does.

`DpmFaults` makes the backend answer with an ACNET error status, with an empty window, or fail
the requests that touch given spans (pacsys's server then ends the call with INTERNAL).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
import numpy as np
from pacsys.backends import Backend
from pacsys.supervised import SupervisedServer
from pacsys.types import BackendCapability, Reading, ValueType

from gmpsai_assets.acnet.datalogger import DataLoggerError, DeviceInfo
from gmpsai_assets.acnet.devices import DeviceNameError, check_device_name
from gmpsai_assets.sim.simulator import DEVICE_INFO, SimulatedBooster
from gmpsai_assets.window import Window

_LOGGER_RE = re.compile(
    r"^(?P<device>[^<@]+)<-LOGGER:(?P<start>-?\d+):(?P<end>-?\d+)(?::(?P<node>\w+))?$")
# ACNET statuses the emulator answers with (pacsys acnet/errors.py: facility, error number)
DPM_NO_SUCH_DEVICE = (17, -26)
DPM_INVALID_DATASOURCE = (17, -42)
DPM_BAD_REQUEST = (17, -24)



@dataclass(frozen=True)
class DpmFaults:
    """What the emulated DPM gets wrong: `errors` maps a device to the ACNET status (facility,
    error number, message) it answers with; `empty` devices answer an empty window; a request
    whose window overlaps one of `broken_spans` (UTC seconds) fails in the backend, which
    pacsys's server turns into a gRPC INTERNAL status with no data."""

    errors: Mapping[str, tuple[int, int, str]] = field(default_factory=dict)
    empty: frozenset[str] = frozenset()
    broken_spans: tuple[tuple[float, float], ...] = ()


class SimDpmBackend(Backend):
    """A pacsys Backend answering DataLogger DRFs from the simulated Booster."""

    def __init__(self, booster: SimulatedBooster, faults: DpmFaults | None = None) -> None:
        self.booster = booster
        self.faults = faults or DpmFaults()
        self.requests: Counter[str] = Counter()  # device -> DRFs answered
        self.in_flight = 0
        self.max_in_flight_seen = 0  # most requests being answered at once
        self._lock = threading.Lock()

    @property
    def capabilities(self) -> BackendCapability:
        return BackendCapability.READ | BackendCapability.BATCH

    def read(self, drf: str, timeout: float | None = None) -> object:
        return self.get(drf, timeout).value

    def get(self, drf: str, timeout: float | None = None) -> Reading:
        return self.get_many([drf], timeout)[0]

    def get_many(self, drfs: list[str], timeout: float | None = None) -> list[Reading]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight_seen = max(self.max_in_flight_seen, self.in_flight)
        try:
            return [self._answer(drf) for drf in drfs]
        finally:
            with self._lock:
                self.in_flight -= 1

    def close(self) -> None:
        """Nothing to release."""

    def _answer(self, drf: str) -> Reading:
        m = _LOGGER_RE.match(drf)
        if not m:
            return _status(drf, DPM_BAD_REQUEST, f"not a DataLogger request: {drf}")
        device, node = m["device"], m["node"] or self.booster.node
        try:
            check_device_name(device)
        except DeviceNameError as exc:
            return _status(drf, DPM_BAD_REQUEST, str(exc))
        if node != self.booster.node:
            return _status(drf, DPM_INVALID_DATASOURCE, f"no DataLogger node {node}")
        window = Window(int(m["start"]) / 1000.0, int(m["end"]) / 1000.0)
        with self._lock:
            self.requests[device] += 1
        for a, b in self.faults.broken_spans:
            if a < window.end and window.start < b:
                raise RuntimeError(f"simulated DPM fault for {drf}")
        if device in self.faults.errors:
            facility, error, message = self.faults.errors[device]
            return _status(drf, (facility, error), message)
        if device in self.faults.empty:
            return _timed(drf, np.empty(0), np.empty(0, np.int64))
        try:
            samples = self.booster.fetch(device, window)
        except DataLoggerError as exc:
            return _status(drf, DPM_NO_SUCH_DEVICE, str(exc))
        micros = np.round(samples.utc_seconds * 1e6).astype(np.int64)
        return _timed(drf, samples.values, micros)


def _timed(drf: str, data: np.ndarray, micros: np.ndarray) -> Reading:
    return Reading(drf=drf, value_type=ValueType.TIMED_SCALAR_ARRAY,
                   value={"data": np.asarray(data, np.float64), "micros": micros})


def _status(drf: str, code: tuple[int, int], message: str) -> Reading:
    facility, error = code
    return Reading(drf=drf, facility_code=facility, error_code=error, message=message)


class DpmServer:
    """pacsys's `SupervisedServer` serving a `SimDpmBackend` on `host` (loopback) at a free
    port; `target` is `host:port` for a client."""

    def __init__(self, booster: SimulatedBooster | None = None, faults: DpmFaults | None = None,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.backend = SimDpmBackend(booster or SimulatedBooster(), faults)
        self.host = host
        self._server = SupervisedServer(self.backend, port=port, host=host)

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> DpmServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> DpmServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class DevDbServer:
    """DevDB's `getDeviceInfo` over plaintext gRPC on loopback, from `table` (device ->
    DeviceInfo); an unknown device gets the zeroed entry the real server sends (pacsys
    devdb.py), so the client raises for it. `url` is what GMPSAI_DPM_DEVDB_URL takes."""

    def __init__(self, table: Mapping[str, DeviceInfo] | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        from pacsys._proto.controls.service.DevDB.v1 import DevDB_pb2, DevDB_pb2_grpc

        self.table = dict(DEVICE_INFO if table is None else table)
        self.asked: list[list[str]] = []
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="devdb")
        self._server = grpc.server(self._pool)
        server = self

        class Servicer(DevDB_pb2_grpc.DevDBServicer):
            def getDeviceInfo(self, request, context):
                names = list(request.device)
                server.asked.append(names)
                reply = DevDB_pb2.DeviceInfoReply()
                for name in names:
                    entry = reply.set.add(name=name)
                    info = server.table.get(name)
                    if info is None:
                        entry.device.SetInParent()
                        continue
                    entry.device.description = info.description
                    prop = {"_": entry.device.setting}.get(name[1], entry.device.reading)
                    if info.units:
                        prop.common_units = info.units
                    else:
                        prop.SetInParent()
                return reply

        DevDB_pb2_grpc.add_DevDBServicer_to_server(Servicer(), self._server)
        self.port = self._server.add_insecure_port(f"{host}:{port}")
        self.host = host

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> DevDbServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None).wait()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> DevDbServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class FaultyLink:
    """A TCP relay on loopback in front of `target_port`: the client talks to `port`.

    On each of the first `times` connections (0: every one), once the server has sent
    `after_bytes` bytes, the relay either cuts both connections (`mode="cut"`: a stream broken
    mid-way) or stops passing the server's bytes while keeping both open (`mode="stall"`: a
    stream that never ends). Later connections are relayed whole."""

    def __init__(self, target_port: int, after_bytes: int, mode: str = "cut", times: int = 0,
                 host: str = "127.0.0.1") -> None:
        if mode not in ("cut", "stall") or after_bytes < 0 or times < 0:
            raise ValueError("mode cut or stall, after_bytes and times >= 0")
        self.target = (host, target_port)
        self.after_bytes, self.mode, self.times = after_bytes, mode, times
        self.connections = 0
        self.broken = 0  # connections cut or stalled
        self._listener = socket.create_server((host, 0))
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> FaultyLink:
        self._spawn(self._accept)
        return self

    def stop(self) -> None:
        self._stop.set()
        _close(self._listener)  # shutdown wakes the accept()
        with self._lock:
            for s in self._sockets:
                _close(s)
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> FaultyLink:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _spawn(self, target: object, *args: object) -> None:
        t = threading.Thread(target=target, args=args, daemon=True, name="faulty-link")
        t.start()
        self._threads.append(t)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self.connections += 1
                faulty = self.times == 0 or self.connections <= self.times
                self._sockets += [client, server]
            self._spawn(self._pump, client, server, None)
            self._spawn(self._pump, server, client, self.after_bytes if faulty else None)

    def _pump(self, src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while not self._stop.is_set():
                data = src.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: limit - sent])
                    with self._lock:
                        self.broken += 1
                    if self.mode == "stall":
                        self._stop.wait()  # hold both ends open, pass nothing more
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        _close(src)
        _close(dst)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    s.close()


__all__ = ["DevDbServer", "DpmFaults", "DpmServer", "FaultyLink", "SimDpmBackend"]
