"""The DataLogger and TCLK timing source that asks the ACNET ACL web gateway (`acl.pl`).

One `httpx.Client` is shared by every request (connections are reused, thread-safe), so
`fetch_devices` can keep `max_in_flight` requests going at once. A long window is asked for in
chunks (`chunk_s`), each chunk retried on its own: timeouts, connection errors, HTTP 5xx and
replies that are cut short, malformed or an error text get up to `retries` more attempts after
an exponential, fully jittered backoff. A chunk that still fails fails its device with a typed
`DataLoggerError`, which the callers record per device while keeping the others.

URLs are built the way the CGI decodes them (DESIGN.md section 2): `+` for a space, everything
else raw, including `"` which an HTTP library would otherwise percent-encode (the CGI does not
decode `%22`), so the request target is sent exactly as built. Device and node names are checked
before any URL is made.

Windows: the gateway takes local wall-clock bounds at one-second resolution, while we mean exact
UTC intervals. We ask for a slightly wider local interval (seconds rounded outwards; a bound
inside the repeated hour when DST ends moved out of that hour, since its reading is ambiguous)
and keep exactly the samples inside the UTC window, so chunks never overlap nor leave gaps.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import httpx
import numpy as np

from gmpsai_assets.acnet.acl_parse import (
    AclReplyError,
    EventLogParser,
    LoggerReplyParser,
    TableReply,
    parse_read_reply,
    parse_timeline_table,
)
from gmpsai_assets.acnet.datalogger import (
    BadRequest,
    DataLoggerError,
    LoggerUnavailable,
)
from gmpsai_assets.acnet.devices import DeviceNameError, check_device_name, check_node_name
from gmpsai_assets.acnet.tclk import TimelineEntry, event_hex
from gmpsai_assets.samples import EventOccurrences, Samples
from gmpsai_assets.settings import Settings, SettingsError
from gmpsai_assets.window import FERMILAB_TZ, Window, local_wall_to_utc

T = TypeVar("T")

SCTIME = "G:SCTIME"
READ_CHUNK = 1 << 16  # bytes handed to the parser per read


class AclDataLogger:
    """DataLogger + TimingSource over the ACL web gateway."""

    source = "acl"

    def __init__(
        self,
        url: str,
        node: str = "MLrn",
        *,
        max_in_flight: int = 4,
        timeout_s: float = 60.0,
        retries: int = 4,
        chunk_s: float = 7200.0,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.node = check_node_name(node)
        try:
            self.url = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise SettingsError(f"GMPSAI_ACL_URL is not a valid URL ({exc}): {url!r}") from None
        if self.url.scheme not in ("http", "https") or not self.url.host or self.url.query:
            raise SettingsError(
                f"GMPSAI_ACL_URL must be an http(s) URL of the acl.pl CGI without a query, "
                f"got {url!r}"
            )
        if max_in_flight < 1 or retries < 0 or chunk_s <= 0 or timeout_s <= 0:
            raise SettingsError("ACL client: in-flight >= 1, retries >= 0, chunk and timeout > 0")
        self.max_in_flight = max_in_flight
        self.retries = retries
        self.chunk_s = chunk_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._random = random.Random()
        self._lock = threading.Lock()
        self.attempts = 0  # requests sent, for benchmarks and tests
        self.retried = 0
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0)),
            limits=httpx.Limits(max_connections=max_in_flight,
                                max_keepalive_connections=max_in_flight),
            transport=transport,
            headers={"User-Agent": "gmpsai-assets"},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> AclDataLogger:
        return cls(
            settings.acl_url,
            settings.logger_node,
            max_in_flight=settings.max_in_flight,
            timeout_s=settings.acl_timeout_s,
            retries=settings.acl_retries,
            chunk_s=settings.acl_chunk_s,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AclDataLogger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- DataLogger ---------------------------------------------------------------------

    def fetch(self, device: str, window: Window) -> Samples:
        try:
            check_device_name(device)
        except DeviceNameError as exc:
            raise BadRequest(str(exc)) from None
        parts = []
        for piece in window.split(self.chunk_s):
            command = self.logger_get_command(device, piece)
            reply = self._get(command, LoggerReplyParser, f"logger_get {device} {piece}")
            t, v = reply.columns["utc_seconds"], reply.columns["value"]
            keep = (t >= piece.start) & (t < piece.end)
            parts.append(Samples(device, t[keep], v[keep]))
        samples = Samples.concat(device, parts)
        if len(samples) > 1 and np.any(np.diff(samples.utc_seconds) < 0):
            order = np.argsort(samples.utc_seconds, kind="stable")
            samples = Samples(device, samples.utc_seconds[order], samples.values[order])
        return samples

    # ---- TimingSource -------------------------------------------------------------------

    def event_occurrences(self, event: int, window: Window) -> EventOccurrences:
        code = event_hex(event)
        utc_parts, sc_parts = [], []
        for piece in window.split(self.chunk_s):
            request = acl_request_window(piece)
            start, end = request.acl_bounds()
            command = f'event_log/start_time="{start}"/stop_time="{end}"/event={code}'
            reply = self._get(command, EventLogParser, f"event_log ${code} {piece}")
            wall = reply.columns["local"].astype(np.int64) / 1000.0
            # the window actually asked for settles a repeated-hour series, not `piece`: the
            # request may begin before the repeated hour while `piece` begins inside it
            utc = local_wall_to_utc(wall, request)
            utc = np.round(utc * 1000.0) / 1000.0  # the reply's millisecond resolution
            keep = (utc >= piece.start) & (utc < piece.end)
            utc_parts.append(utc[keep])
            sc_parts.append(reply.columns["sc_seconds"][keep])
        return EventOccurrences(event, np.concatenate(utc_parts), np.concatenate(sc_parts))

    def supercycle_time(self) -> float:
        return self._request(f"read/no_name/no_units {SCTIME}",
                             lambda body: parse_read_reply(body, f"read {SCTIME}"),
                             f"read {SCTIME}")

    def supercycle_length(self) -> float:
        return self._request(f"read/no_name/no_units/setting {SCTIME}",
                             lambda body: parse_read_reply(body, f"read setting {SCTIME}"),
                             f"read setting {SCTIME}")

    def timeline(self) -> list[TimelineEntry]:
        return self._request("tlg_info/all_event_info", parse_timeline_table, "tlg_info")

    # ---- requests -----------------------------------------------------------------------

    def logger_get_command(self, device: str, piece: Window) -> str:
        """The `logger_get` command for one chunk (the device must have been checked)."""
        start, end = acl_local_bounds(piece)
        return (
            f"logger_get/date_format='utc_seconds'/ignore_db_format"
            f'/start="{start}"/end="{end}"/node={self.node} {check_device_name(device)}'
        )

    def target(self, command: str) -> bytes:
        """The request target for an ACL command: `+` for spaces, every other byte raw."""
        if any(c in command for c in "\r\n\t#&;\\") or not command.isprintable():
            raise BadRequest(f"refusing to send ACL command {command!r}")
        return self.url.raw_path + b"?acl=" + command.replace(" ", "+").encode("ascii")

    def _get(
        self, command: str, parser: type[LoggerReplyParser] | type[EventLogParser], what: str
    ) -> TableReply:
        """A data command, streamed into `parser`, checked, with retries."""

        def stream(response: httpx.Response) -> TableReply:
            p = parser()
            for data in response.iter_bytes(READ_CHUNK):
                p.feed(data)
            reply = p.finish()
            reply.check(what)
            return reply

        return self._request(command, stream, what, streaming=True)

    def _request(
        self,
        command: str,
        handle: Callable[..., T],
        what: str,
        streaming: bool = False,
    ) -> T:
        target = self.target(command)
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(attempt)
            with self._lock:
                self.attempts += 1
                self.retried += bool(attempt)
            try:
                request = self._http.build_request("GET", self.url,
                                                   extensions={"target": target})
                response = self._http.send(request, stream=True)
                try:
                    _check_status(response, what)
                    if streaming:
                        return handle(response)
                    return handle(response.read())
                finally:
                    response.close()
            except (httpx.TimeoutException, httpx.TransportError, _Retry, AclReplyError) as exc:
                last = exc
            except httpx.HTTPError as exc:  # anything else httpx raises: not worth a retry
                raise LoggerUnavailable(f"{what}: {_describe(exc)}") from None
        assert last is not None
        raise LoggerUnavailable(
            f"{what}: failed after {self.retries + 1} attempt(s): {_describe(last)}"
        ) from None

    def _sleep(self, attempt: int) -> None:
        """Full-jitter exponential backoff: spreads retries of many threads over time."""
        cap = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))
        time.sleep(self._random.uniform(0, cap))


class _Retry(Exception):
    """A reply status worth another attempt (5xx, 429)."""


def _check_status(response: httpx.Response, what: str) -> None:
    code = response.status_code
    if code == 200:
        return
    if code >= 500 or code in (408, 429):
        raise _Retry(f"HTTP {code} {response.reason_phrase}")
    hint = " (is GMPSAI_ACL_URL the acl.pl CGI?)" if code in (301, 302, 403, 404) else ""
    raise _Fatal(f"{what}: HTTP {code} {response.reason_phrase} from {response.url}{hint}")


class _Fatal(LoggerUnavailable):
    """A reply status that no retry will change (4xx): the configuration is wrong."""


def _describe(exc: Exception) -> str:
    if isinstance(exc, DataLoggerError):
        return str(exc)
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if isinstance(exc, httpx.HTTPError) else text


def _ambiguous(epoch: float) -> bool:
    """Is the local reading of `epoch` one the clock shows twice (the hour DST ends)?"""
    naive = dt.datetime.fromtimestamp(epoch, FERMILAB_TZ).replace(tzinfo=None)
    a = naive.replace(tzinfo=FERMILAB_TZ, fold=0).timestamp()
    b = naive.replace(tzinfo=FERMILAB_TZ, fold=1).timestamp()
    return a != b


def acl_request_window(window: Window) -> Window:
    """A window whose local bounds surely cover `window`, whatever the gateway makes of a
    reading in the repeated hour: seconds rounded outwards, an ambiguous bound moved out of the
    repeated hour (the caller keeps only what falls inside the UTC window)."""
    start, end = float(math.floor(window.start)), float(math.ceil(window.end))
    while _ambiguous(start):
        start -= 900.0
    while _ambiguous(end):
        end += 900.0
    return Window(start, end)


def acl_local_bounds(window: Window) -> tuple[str, str]:
    """`acl_request_window`'s bounds as the ACL commands write them (local, `+`)."""
    return acl_request_window(window).acl_bounds()
