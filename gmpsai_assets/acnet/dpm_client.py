"""The DataLogger source that asks DPM, through pacsys's clients (the optional `dpm` extra).

DPM serves DataLogger history for the DRF `DEVICE<-LOGGER:<start ms>:<end ms>:<node>`; pacsys
(GPL-3, imported, never copied) sends it over DPM's gRPC service or DPM/HTTP and hands back one
reading whose value is `{"data": float64[n], "micros": int64[n]}` (UTC epoch microseconds).
pacsys collects the reply stream (487-point chunks, then an empty terminator) and raises when
the stream breaks or ends without the terminator, dropping what had arrived (docs/dpm.md).

So a window is asked for in chunks (`chunk_s`), each with its own deadline (`timeout_s`, the
whole reply stream included) and its own retries:

- a reply without samples (or DAE_LJ_NO_DATA, "no logger data in the window") is an answer:
  the chunk has no data;
- an error status is an answer too: the device fails at once with the ACNET error text, except
  the ACNET facility's own statuses (retryable I/O, timeouts, node down), which are retried;
- a broken, stalled, refused or incomplete reply is retried (a chunk whose every attempt ran
  into its deadline pauses the client, STALLED_DPM_PAUSE_S); a chunk still without an answer
  after its retries is a missing span: the device is `partial` when other chunks gave data, and
  fails when none did (the first chunk failing fails it at once: DPM is most likely out of
  reach, and asking for the other chunks would only repeat that).

Times: micros -> float64 seconds as `micros / 1e6` (int64 -> float64 is exact below 2**53 us,
year 2255; the division is correctly rounded), so a logged millisecond stamp gives exactly the
float64 the other sources give. The DRF asks for whole milliseconds around the window and only
samples inside [start, end) are kept, so chunks neither overlap nor leave gaps.

Units and descriptions come with DPM/HTTP's readings (DeviceInfo); the gRPC service sends none,
so they are asked of DevDB (`devdb_url`), once per device per client.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from gmpsai_assets.acnet.datalogger import (
    BadRequest,
    DataLoggerError,
    DataLoggerUnavailable,
    DeviceInfo,
)
from gmpsai_assets.acnet.devices import (
    DeviceNameError,
    check_device_name,
    check_node_name,
    property_of,
)
from gmpsai_assets.samples import Samples
from gmpsai_assets.status import merge_spans
from gmpsai_assets.window import Window

INSTALL_HINT = "pip install 'gmpsai-assets[dpm]'"
#: pacsys's own defaults for each backend (pacsys 0.3.0, backends/grpc_backend.py and
#: backends/dpm_http.py), passed explicitly so that nothing depends on PACSYS_* variables
DEFAULT_ENDPOINTS = {"grpc": ("dce08.fnal.gov", 50051), "http": ("acsys-proxy.fnal.gov", 6802)}
DEFAULT_DEVDB_URL = "https://ad-services.fnal.gov:443"  # pacsys 0.3.0 devdb.py
FACILITY_ACNET = 1  # statuses of ACNET itself (I/O, timeouts, node down): worth another try
NO_LOGGER_DATA = (66, -64)  # DAE_LJ_NO_DATA (pacsys acnet/errors.py): no data in the window
DEVDB_TIMEOUT_S = 10.0
# A DPM that let a chunk's every attempt run into its deadline (a stalled stream) most likely
# stalls every request: the client then asks nothing more for this long, so a grab of 47
# devices fails in minutes, not in 47 x attempts x deadline (as the ACL client's pause).
STALLED_DPM_PAUSE_S = 600.0
# The unit of each property DevDB describes, by the name's qualifier (devices.py)
_DEVDB_PROPERTY = {"reading": "reading", "setting": "setting"}


class DpmConfigError(ValueError):
    """The client cannot be built as configured; `argument` names the constructor argument at
    fault, so `sources.py` can name the setting."""

    def __init__(self, message: str, argument: str = "") -> None:
        super().__init__(message)
        self.argument = argument


class PacsysMissing(DpmConfigError):
    """pacsys (the `dpm` extra) is not installed."""


def import_pacsys() -> ModuleType:
    """pacsys, or `PacsysMissing` saying how to install it."""
    try:
        import pacsys
        import pacsys.acnet.errors
        import pacsys.backends.dpm_http
        import pacsys.backends.grpc_backend
        import pacsys.devdb
        import pacsys.errors
    except ImportError as exc:
        raise PacsysMissing(f"the DPM source needs pacsys ({exc}): {INSTALL_HINT}") from None
    # pacsys logs every failure it also raises or returns; we report those ourselves, so its
    # records need no handler (and Python's last-resort one would print them to stderr)
    logging.getLogger("pacsys").addHandler(logging.NullHandler())
    return pacsys


def micros_to_seconds(micros: np.ndarray) -> np.ndarray:
    """UTC epoch microseconds (int64) -> float64 seconds, exactly as `micros / 1e6`."""
    return np.asarray(micros, dtype=np.int64).astype(np.float64) / 1e6


def logger_drf(device: str, window: Window, node: str) -> str:
    """The DRF asking DPM for `device`'s DataLogger history on `node`: whole milliseconds
    covering `window` (pacsys's tests use the same form: `<-LOGGER:t1:t2:node`)."""
    start, end = math.floor(window.start * 1000.0), math.ceil(window.end * 1000.0)
    return f"{check_device_name(device)}<-LOGGER:{start}:{end}:{check_node_name(node)}"


class _NoAnswer(Exception):
    """A chunk whose every attempt failed (transport, deadline, incomplete stream)."""


class DpmDataLogger:
    """DataLogger over DPM (pacsys's gRPC or DPM/HTTP client). It has no TCLK event history
    and no timeline: `sources.py` gives those to the ACL gateway."""

    source = "dpm"

    def __init__(
        self,
        backend: str = "grpc",
        host: str | None = None,
        port: int | None = None,
        node: str = "MLrn",
        *,
        max_in_flight: int = 4,
        timeout_s: float = 120.0,
        retries: int = 3,
        chunk_s: float = 3600.0,
        devdb_url: str | None = DEFAULT_DEVDB_URL,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        try:
            self.node = check_node_name(node)
        except DeviceNameError as exc:
            raise DpmConfigError(str(exc), "node") from None
        if backend not in DEFAULT_ENDPOINTS:
            raise DpmConfigError(f"backend must be one of {', '.join(DEFAULT_ENDPOINTS)}, "
                                 f"got {backend!r}", "backend")
        if (max_in_flight < 1 or retries < 0 or not min(chunk_s, timeout_s) > 0
                or not all(math.isfinite(x) for x in (chunk_s, timeout_s))):
            raise DpmConfigError("DPM client: in-flight >= 1, retries >= 0, chunk and timeout "
                                 "> 0")
        self._pacsys = import_pacsys()
        default_host, default_port = DEFAULT_ENDPOINTS[backend]
        self.backend_name = backend
        self.host = host or default_host
        self.port = port or default_port
        self.max_in_flight = max_in_flight
        self.timeout_s = timeout_s
        self.retries = retries
        self.chunk_s = chunk_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.devdb_url = devdb_url
        self._devdb_target = _devdb_target(devdb_url) if devdb_url else None
        self._random = random.Random()
        self._lock = threading.Lock()
        self._info: dict[str, DeviceInfo] = {}  # from the readings' metadata (DPM/HTTP)
        self._paused_until = 0.0  # monotonic time before which nothing is sent (stalled DPM)
        self._pause_reason = ""
        self.attempts = 0  # requests sent, for benchmarks and tests
        self.retried = 0
        try:
            if backend == "grpc":
                self._backend = self._pacsys.backends.grpc_backend.GRPCBackend(
                    host=self.host, port=self.port, timeout=timeout_s)
            else:
                self._backend = self._pacsys.backends.dpm_http.DPMHTTPBackend(
                    host=self.host, port=self.port, pool_size=max_in_flight, timeout=timeout_s)
        except (ValueError, TypeError) as exc:
            raise DpmConfigError(f"DPM {backend} client: {exc}", "host") from None

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> DpmDataLogger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DpmDataLogger({self.backend_name} {self.host}:{self.port}, node {self.node})"

    # ---- DataLogger ---------------------------------------------------------------------

    def fetch(self, device: str, window: Window) -> Samples:
        try:
            check_device_name(device)
        except DeviceNameError as exc:
            raise BadRequest(str(exc)) from None
        parts: list[Samples] = []
        missing: list[tuple[float, float]] = []
        last = ""
        for piece in window.split(self.chunk_s):
            try:
                parts.append(self._chunk(device, piece))
            except _NoAnswer as exc:
                if not parts:
                    raise DataLoggerUnavailable(str(exc)) from None
                missing.append((piece.start, piece.end))
                last = str(exc)
        samples = Samples.concat(device, parts)
        if missing and not len(samples):
            # the chunks that answered had nothing, but the missing ones might have had data
            raise DataLoggerUnavailable(last)
        if missing:
            samples = Samples(device, samples.utc_seconds, samples.values, merge_spans(missing))
        return samples

    def _chunk(self, device: str, piece: Window) -> Samples:
        """The samples of one chunk inside `piece`; `_NoAnswer` after every retry failed, a
        `DataLoggerError` for an answer that no retry changes."""
        drf = logger_drf(device, piece, self.node)
        errors = self._pacsys.errors
        last, deadlines = "", 0
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(attempt)
            if time.monotonic() < self._paused_until:
                raise _NoAnswer(f"{drf}: not sent: {self._pause_reason}; no request for "
                                f"{STALLED_DPM_PAUSE_S:g} s after that")
            with self._lock:
                self.attempts += 1
                self.retried += bool(attempt)
            try:
                reading = self._backend.get(drf, timeout=self.timeout_s)
            except ValueError as exc:  # pacsys refused the DRF before sending it
                raise BadRequest(f"{drf}: {exc}") from None
            except (errors.PacsysError, TimeoutError, OSError) as exc:
                last = _describe(exc)
                deadlines += "DEADLINE_EXCEEDED" in last or isinstance(exc, TimeoutError)
                continue
            self._remember_meta(device, reading)
            if reading.error_code < 0 or reading.value is None:
                code = (reading.facility_code, reading.error_code)
                if code == NO_LOGGER_DATA:
                    return Samples.empty(device)
                text = self.acnet_text(reading)
                if reading.facility_code == FACILITY_ACNET:
                    last = text
                    continue
                raise DataLoggerUnavailable(f"{drf}: {text}")
            return _inside(device, piece, _timed_arrays(drf, reading.value))
        reason = f"{drf}: no complete reply after {self.retries + 1} attempt(s): {last}"
        if deadlines == self.retries + 1:
            with self._lock:
                self._paused_until = time.monotonic() + STALLED_DPM_PAUSE_S
                self._pause_reason = f"DPM stalled ({reason})"
        raise _NoAnswer(reason)

    def acnet_text(self, reading: Any) -> str:
        """`DPM_NO_SUCH_DEVICE: device not found (facility=17, error=-26): <server's text>`."""
        named = self._pacsys.acnet.errors.status_message(reading.facility_code,
                                                          reading.error_code)
        named = named or f"facility={reading.facility_code}, error={reading.error_code}"
        message = reading.message or ""
        return named if not message or message in named else f"{named}: {message}"

    def _sleep(self, attempt: int) -> None:
        """Full-jitter exponential backoff, as the ACL client's."""
        cap = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))
        time.sleep(self._random.uniform(0, cap))

    # ---- metadata -----------------------------------------------------------------------

    def _remember_meta(self, device: str, reading: Any) -> None:
        meta = getattr(reading, "meta", None)
        if meta is not None and device not in self._info:
            info = DeviceInfo((meta.description or "").strip(), (meta.units or "").strip())
            with self._lock:
                self._info[device] = info

    def describe(self, devices: Sequence[str]) -> dict[str, DeviceInfo]:
        """What DPM's readings said of each device, and for the others what DevDB says (when
        `devdb_url` is set). A device DevDB does not know is left out; DevDB out of reach is a
        `DataLoggerUnavailable`, after the devices already known are kept for the next call."""
        with self._lock:
            known = {d: self._info[d] for d in devices if d in self._info}
        ask = [d for d in devices if d not in known]
        if ask and self._devdb_target is not None:
            found = self._devdb_info(ask)
            with self._lock:
                self._info.update(found)
            known.update(found)
        return known

    def _devdb_info(self, devices: list[str]) -> dict[str, DeviceInfo]:
        host, port, tls = self._devdb_target  # type: ignore[misc]
        devdb = self._pacsys.devdb
        where = f"DevDB at {self.devdb_url}"
        found: dict[str, DeviceInfo] = {}
        try:
            client = devdb.DevDBClient(host, port, timeout=DEVDB_TIMEOUT_S, tls=tls)
        except Exception as exc:
            raise DataLoggerUnavailable(f"{where}: {_describe(exc)}") from None
        try:
            try:
                answers = client.get_device_info(list(devices))
            except self._pacsys.errors.DeviceError:
                # one unknown name fails the batch: ask one by one, leaving out the unknown
                answers = {}
                for device in devices:
                    try:
                        answers.update(client.get_device_info([device]))
                    except self._pacsys.errors.DeviceError:
                        continue
            for device, result in answers.items():
                if device in devices:
                    found[device] = _devdb_device_info(device, result)
        except Exception as exc:
            raise DataLoggerUnavailable(f"{where}: {_describe(exc)}") from None
        finally:
            client.close()
        return found


def _devdb_target(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) of a DevDB URL: https is TLS (port 443 by default), http plaintext."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise DpmConfigError(f"not a DevDB URL ({exc}): {url!r}", "devdb_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise DpmConfigError(f"a DevDB URL is http(s)://host[:port], got {url!r}", "devdb_url")
    tls = parts.scheme == "https"
    return parts.hostname, port or (443 if tls else 80), tls


def _devdb_device_info(device: str, result: Any) -> DeviceInfo:
    """Description, and the common (engineering) units of the property the name reads:
    the reading for `X:NAME`, the setting for `X_NAME`; none for a status or control name."""
    units = ""
    prop_name = _DEVDB_PROPERTY.get(property_of(device))
    prop = getattr(result, prop_name, None) if prop_name else None
    if prop is not None:
        units = prop.common_units or ""
    return DeviceInfo((result.description or "").strip(), units.strip())


def _timed_arrays(drf: str, value: object) -> tuple[np.ndarray, np.ndarray]:
    """(micros, data) of a logger reading, or `DataLoggerUnavailable` for anything else."""
    if not isinstance(value, dict) or "micros" not in value or "data" not in value:
        raise DataLoggerUnavailable(f"{drf}: the reply has no timestamps "
                                    f"({type(value).__name__})")
    micros = np.asarray(value["micros"])
    data = np.asarray(value["data"], dtype=np.float64)
    if data.ndim != 1 or micros.shape != data.shape:
        raise DataLoggerUnavailable(
            f"{drf}: {data.shape} values for {micros.shape} timestamps (an array device?)")
    return micros.astype(np.int64, copy=False), data


def _inside(device: str, piece: Window, arrays: tuple[np.ndarray, np.ndarray]) -> Samples:
    """The samples inside [piece.start, piece.end), time-ordered (a stable sort if DPM's were
    not)."""
    micros, data = arrays
    t = micros_to_seconds(micros)
    keep = (t >= piece.start) & (t < piece.end)
    t, v = t[keep], data[keep].copy()
    if len(t) > 1 and np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
    return Samples(device, t, v)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, DataLoggerError):
        return text
    return f"{type(exc).__name__}: {text}"
