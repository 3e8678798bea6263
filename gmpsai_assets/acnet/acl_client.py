"""The DataLogger and TCLK timing source that asks the ACNET ACL web gateway (`acl.pl`).

One `httpx.Client` is shared by every request (connections are reused, thread-safe), so
`fetch_devices` can keep `max_in_flight` requests going at once. A long window is asked for in
chunks (`chunk_s`), each chunk retried on its own: timeouts, connection errors, HTTP 5xx,
replies slower than the low-speed limit (`speed_limit` bytes/s averaged over `speed_time_s`, as
curl's `--speed-limit`/`--speed-time`), and replies that are cut short, malformed or an error
text get up to `retries` more attempts after an exponential, fully jittered backoff. A chunk that
still fails fails its device with a typed `DataLoggerError`, which the callers record per
device while keeping the others. A chunk that says `No values` while others of the same
device had data is asked again the same way; if it keeps saying so, its span is returned in
`Samples.missing` and the device is `partial` (docs/gateway.md).

URLs are built the way the CGI decodes them (docs/gateway.md): `+` for a space, everything
else raw, so the request target is sent exactly as built. (`"` could also go as `%22`, which
the CGI decodes; sent raw it needs no decoding at all.) Device and node names are checked
before any URL is made.

Windows: the gateway takes local wall-clock bounds at one-second resolution, while we mean exact
UTC intervals. We ask for a slightly wider local interval (seconds rounded outwards; a bound
inside the repeated hour when DST ends moved out of that hour, since its reading is ambiguous)
and keep exactly the samples inside the UTC window, so chunks never overlap nor leave gaps.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator
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
    DataLoggerUnavailable,
)
from gmpsai_assets.acnet.devices import DeviceNameError, check_device_name, check_node_name
from gmpsai_assets.acnet.tclk import TimelineEntry, event_hex
from gmpsai_assets.samples import EventOccurrences, Samples
from gmpsai_assets.status import merge_spans
from gmpsai_assets.window import Window, in_repeated_hour, local_wall_to_utc

T = TypeVar("T")

SCTIME = "G:SCTIME"
READ_CHUNK = 1 << 16  # bytes the benchmarks feed the parser at a time (about one read's worth)
# A gateway too slow to be useful once is most likely so for every request of a grab: after one
# request gave up on slowness, the client asks nothing more for this long, so a grab of 47
# devices fails in minutes instead of retrying every chunk at the same pace (docs/gateway.md).
SLOW_GATEWAY_PAUSE_S = 600.0


class AclConfigError(ValueError):
    """The gateway's URL or the client's limits cannot be used (`sources.py` names the setting)."""


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
        speed_limit: float = 100.0,
        speed_time_s: float = 30.0,
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
            raise AclConfigError(f"not a valid URL ({exc}): {url!r}") from None
        if self.url.scheme not in ("http", "https") or not self.url.host or self.url.query:
            raise AclConfigError(
                f"must be an http(s) URL of the acl.pl CGI without a query, got {url!r}"
            )
        if (max_in_flight < 1 or retries < 0 or speed_limit < 0
                or min(chunk_s, timeout_s, speed_time_s) <= 0):
            raise AclConfigError(
                "ACL client: in-flight >= 1, retries >= 0, speed limit >= 0, chunk, timeout "
                "and speed time > 0"
            )
        self.max_in_flight = max_in_flight
        self.retries = retries
        self.chunk_s = chunk_s
        self.speed_limit = speed_limit
        self.speed_time_s = speed_time_s
        self._slow_until = 0.0  # monotonic time before which no request is sent (slow gateway)
        self._slow_reason = ""
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
        pieces = list(window.split(self.chunk_s))
        parts = [self._logger_chunk(device, piece) for piece in pieces]
        if any(p is not None and len(p) for p in parts):
            # `No values` for one chunk of a device that has data in others looks exactly like
            # a gateway fault: ask again, like any fault, before believing it
            for i, piece in enumerate(pieces):
                for attempt in range(1, self.retries + 1):
                    if parts[i] is not None:
                        break
                    self._sleep(attempt)
                    with self._lock:
                        self.retried += 1
                    parts[i] = self._logger_chunk(device, piece)
        missing = merge_spans([(p.start, p.end) for p, s in zip(pieces, parts, strict=True)
                               if s is None])
        empty = Samples.empty(device)
        samples = Samples.concat(device, [s if s is not None else empty for s in parts])
        if missing and len(samples):
            samples = Samples(device, samples.utc_seconds, samples.values, missing)
        # Samples sent out of time order are sorted for every reader, and how many steps went
        # back in time is kept (`out_of_order`): the file records it and timestamps_increasing
        # fails on it, since the sorted order is right only if the source's clock was
        back = int(np.count_nonzero(np.diff(samples.utc_seconds) < 0))
        if back:
            order = np.argsort(samples.utc_seconds, kind="stable")
            samples = Samples(device, samples.utc_seconds[order], samples.values[order],
                              samples.missing, back)
        return samples

    def _logger_chunk(self, device: str, piece: Window) -> Samples | None:
        """One chunk's samples inside `piece`, or None when the gateway said `No values`."""
        command = self.logger_get_command(device, piece)
        reply = self._get(command, LoggerReplyParser, f"logger_get {device} {piece}")
        if reply.empty_marker:
            return None
        t, v = reply.columns["utc_seconds"], reply.columns["value"]
        # The request's bounds are rounded outwards to whole seconds: only the first and last
        # samples may fall outside. In time order (as a rule) they are cut off by slicing,
        # uncopied; otherwise every sample is tested.
        lo, hi = (int(i) for i in np.searchsorted(t, (piece.start, piece.end)))
        inside = t[lo:hi]
        sliced = not (np.any(t[:lo] >= piece.start) or np.any(t[hi:] < piece.end)) and (
            not inside.size or (inside[0] >= piece.start and inside[-1] < piece.end
                                and not np.any(inside[1:] < inside[:-1])))
        if sliced:
            return Samples(device, inside, v[lo:hi])
        keep = (t >= piece.start) & (t < piece.end)
        return Samples(device, t[keep], v[keep])

    # ---- TimingSource -------------------------------------------------------------------

    def event_occurrences(self, event: int, window: Window) -> EventOccurrences:
        code = event_hex(event)
        utc_parts, sc_parts, headers = [], [], []
        for piece in window.split(self.chunk_s):
            request = acl_request_window(piece)
            start, end = request.acl_bounds()
            command = f'event_log/start_time="{start}"/stop_time="{end}"/event={code}'
            reply = self._get(command, EventLogParser, f"event_log ${code} {piece}")
            headers.append(reply.header_lines)
            wall = reply.columns["local"].astype(np.int64) / 1000.0
            # the window actually asked for settles a repeated-hour series, not `piece`: the
            # request may begin before the repeated hour while `piece` begins inside it
            utc = local_wall_to_utc(wall, request)
            utc = np.round(utc * 1000.0) / 1000.0  # the reply's millisecond resolution
            keep = (utc >= piece.start) & (utc < piece.end)
            utc_parts.append(utc[keep])
            sc_parts.append(reply.columns["sc_seconds"][keep])
        return EventOccurrences(event, np.concatenate(utc_parts), np.concatenate(sc_parts),
                                tuple(headers))

    def supercycle_time(self) -> float:
        return self._request(f"read/no_name/no_units {SCTIME}",
                             lambda body: parse_read_reply(b"".join(body), f"read {SCTIME}"),
                             f"read {SCTIME}")

    def supercycle_length(self) -> float:
        return self._request(f"read/no_name/no_units/setting {SCTIME}",
                             lambda body: parse_read_reply(b"".join(body),
                                                           f"read setting {SCTIME}"),
                             f"read setting {SCTIME}")

    def timeline(self) -> list[TimelineEntry]:
        return self._request("tlg_info/all_event_info",
                             lambda body: parse_timeline_table(b"".join(body)), "tlg_info")

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

        def stream(body: Iterator[bytes]) -> TableReply:
            p = parser()
            for data in body:
                p.feed(data)
            reply = p.finish()
            reply.check(what)
            return reply

        return self._request(command, stream, what)

    def _request(self, command: str, handle: Callable[[Iterator[bytes]], T], what: str) -> T:
        """Send `command` and hand the reply's bytes, as they arrive, to `handle`; retry
        faults. A reply slower than the low-speed limit is a fault like any other; a request
        that gave up on slowness (or a timeout) pauses the client (SLOW_GATEWAY_PAUSE_S)."""
        target = self.target(command)
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(attempt)
            self._check_not_paused(what)
            with self._lock:
                self.attempts += 1
                self.retried += bool(attempt)
            try:
                request = self._http.build_request("GET", self.url,
                                                   extensions={"target": target})
                response = self._http.send(request, stream=True)
                try:
                    _check_status(response, what)
                    return handle(self._at_speed(response))
                finally:
                    response.close()
            except (httpx.TimeoutException, httpx.TransportError, _Retry, AclReplyError) as exc:
                last = exc
            except httpx.HTTPError as exc:  # anything else httpx raises: not worth a retry
                raise DataLoggerUnavailable(f"{what}: {_describe(exc)}") from None
        assert last is not None
        reason = f"{what}: failed after {self.retries + 1} attempt(s): {_describe(last)}"
        if isinstance(last, httpx.TimeoutException | _TooSlow):
            self._pause(reason)
        raise DataLoggerUnavailable(reason) from None

    def _at_speed(self, response: httpx.Response) -> Iterator[bytes]:
        """The reply's bytes, or _TooSlow once fewer than `speed_limit * speed_time_s` bytes
        arrived in a span of `speed_time_s` (curl's low-speed rule). The span starts at the
        first bytes: the wait for them is the read timeout's. Checked per read, so a trickle is
        cut within one read of the span's end; a silent connection by the read timeout."""
        need = self.speed_limit * self.speed_time_s
        span_start, got = time.monotonic(), 0
        for data in response.iter_bytes():  # as each read brings them: a chunk size would
            # hold bytes back until that many arrived, and the rate would go unchecked
            got += len(data)
            now = time.monotonic()
            if now - span_start >= self.speed_time_s:
                if got < need:
                    raise _TooSlow(
                        f"reply slower than {self.speed_limit:g} bytes/s over "
                        f"{self.speed_time_s:g} s ({got} bytes; GMPSAI_ACL_SPEED_LIMIT, "
                        f"GMPSAI_ACL_SPEED_TIME_S)"
                    )
                span_start, got = now, 0
            if self._slow_until > now:  # another request found the gateway too slow
                raise _TooSlow(self._slow_reason)
            yield data

    def _pause(self, reason: str) -> None:
        with self._lock:
            self._slow_until = time.monotonic() + SLOW_GATEWAY_PAUSE_S
            self._slow_reason = f"the gateway is too slow ({reason})"

    def _check_not_paused(self, what: str) -> None:
        if time.monotonic() < self._slow_until:
            raise DataLoggerUnavailable(
                f"{what}: not sent: {self._slow_reason}; no request for "
                f"{SLOW_GATEWAY_PAUSE_S:g} s after that"
            )

    def _sleep(self, attempt: int) -> None:
        """Full-jitter exponential backoff: spreads retries of many threads over time."""
        cap = min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))
        time.sleep(self._random.uniform(0, cap))


class _Retry(Exception):
    """A reply status worth another attempt (5xx, 429)."""


class _TooSlow(_Retry):
    """A reply slower than the low-speed limit (or cut because another one was)."""


def _check_status(response: httpx.Response, what: str) -> None:
    code = response.status_code
    if code == 200:
        return
    if code >= 500 or code in (408, 429):
        raise _Retry(f"HTTP {code} {response.reason_phrase}")
    hint = " (is GMPSAI_ACL_URL the acl.pl CGI?)" if code in (301, 302, 403, 404) else ""
    raise _Fatal(f"{what}: HTTP {code} {response.reason_phrase} from {response.url}{hint}")


class _Fatal(DataLoggerUnavailable):
    """A reply status that no retry will change (4xx): the configuration is wrong."""


def _describe(exc: Exception) -> str:
    if isinstance(exc, DataLoggerError):
        return str(exc)
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if isinstance(exc, httpx.HTTPError) else text


def acl_request_window(window: Window) -> Window:
    """A window whose local bounds surely cover `window`, whatever the gateway makes of a
    reading in the repeated hour: seconds rounded outwards, an ambiguous bound moved out of the
    repeated hour (the caller keeps only what falls inside the UTC window)."""
    start, end = float(math.floor(window.start)), float(math.ceil(window.end))
    while in_repeated_hour(start):
        start -= 900.0
    while in_repeated_hour(end):
        end += 900.0
    return Window(start, end)


def acl_local_bounds(window: Window) -> tuple[str, str]:
    """`acl_request_window`'s bounds as the ACL commands write them (local, `+`)."""
    return acl_request_window(window).acl_bounds()
