"""A local ACL web gateway backed by the simulated Booster, for tests, benchmarks and drills.

It answers `GET /cgi-bin/acl.pl?acl=<command>` like the real CGI (docs/gateway.md): the query
is decoded only for `+`, `%20`, `%27` and `%22` (the old tools sent `"` through `requests`, which
encodes it), then parsed as one ACL command. Commands served:

    logger_get/date_format='utc_seconds'[/ignore_db_format]/start="..."/end="..."/node=N DEVICE
    event_log/start_time="..."/stop_time="..."/event=XX
    read/no_name/no_units[/setting] G:SCTIME
    tlg_info/all_event_info

Replies are plain text (HTML-wrapped with `html=True`), the text `No values` / `No occurrences of
event` when there is nothing, `event_log` data after `event_header_lines` (5 or 6) header lines,
`tlg_info` in the layout the old Timeline_Logger.py read (docs/gateway.md), and a one-line error
text for a command it cannot serve, as the gateway does. Data replies are streamed with chunked
transfer encoding, generated piece by piece from the simulator (`GEN_CHUNK_S` of samples at a
time), so a 40 MB device-day never sits in memory whole. HTTP/1.1 keep-alive lets a client
reuse its connections.

`Faults` injects what a real gateway does on a bad day: added latency, a share of HTTP 500/503
replies, connections dropped mid-body, a truncated last line, garbage lines, `No values`,
replies trickled one line at a time (`trickle_s` apart) that would hold a client for ever, and
`logger_get` replies with samples out of time order (`OUT_OF_ORDER_EVERY`).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl

from gmpsai_assets.acnet.acl_parse import (
    NO_OCCURRENCES,
    NO_VALUES,
    TLG_COLUMNS,
)
from gmpsai_assets.acnet.devices import DeviceNameError, check_device_name
from gmpsai_assets.acnet.tclk import (
    BOOSTER_RESETS,
    EVENT_TIME_FORMAT,
    NOMINAL_TICK_S,
    EventCodeError,
    TimelineEntry,
    event_label,
    known_events,
    parse_event,
)
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.window import Window, WindowError, format_local, parse_local_datetime

CGI_PATH = "/cgi-bin/acl.pl"
GEN_CHUNK_S = 1800.0  # simulator samples generated (and sent) per piece of a data reply
HTML_HEAD = b"<html><head><title>ACL</title></head><body><pre>\n"
HTML_TAIL = b"</pre></body></html>\n"
GARBAGE = b"%ACL-W-GARBLED, #@!? 0x1F 7e \n"
DATA_COMMANDS = ("logger_get", "event_log")
FAULT_KINDS = ("error", "drop", "truncate", "garbage", "no_values", "trickle", "out_of_order")
OUT_OF_ORDER_EVERY = 100  # an out-of-order reply swaps one pair of sample lines in every 100
EVENT_HEADER_CHOICES = (5, 6)  # the real count is one of these (docs/gateway.md)
EVENT_LOG_HEADER_LINES = 6  # the default: what the old EventDataGrabber's skiprows=5 suggests

MAX_LATENCY_S = 3600.0  # an hour per reply already outlasts every client timeout


@dataclass(frozen=True)
class Faults:
    """What to break, and how often (shares are probabilities per request, summing to <= 1).

    `repeat` bounds how often the same command is broken (0: no bound), so a test can say "fail
    twice, then answer" and know retries will win; `devices` limits faults to `logger_get` of
    those devices (empty: every command). Latency applies to every request.

    Which request is broken depends only on `seed`, the command's text and how many times that
    command was asked before (`fault_draw`), never on the order concurrent requests arrive in:
    a test run with the same client asks the same commands and meets the same faults.
    """

    latency_s: float = 0.0
    error_share: float = 0.0  # HTTP 500 or 503
    drop_share: float = 0.0  # connection closed in the middle of the body
    truncate_share: float = 0.0  # body ends inside its last line (data commands)
    garbage_share: float = 0.0  # non-data lines among the data (data commands)
    no_values_share: float = 0.0  # `No values` instead of the data (data commands)
    trickle_share: float = 0.0  # the reply one line every `trickle_s` seconds (data commands)
    out_of_order_share: float = 0.0  # sample lines swapped in pairs (logger_get only)
    trickle_s: float = 2.0
    repeat: int = 0
    devices: frozenset[str] = field(default_factory=frozenset)
    seed: int = 0

    def __post_init__(self) -> None:
        shares = [getattr(self, f"{k}_share") for k in FAULT_KINDS]
        if not all(math.isfinite(x) for x in (*shares, self.latency_s)):
            raise ValueError("fault shares and latency must be finite numbers")
        if self.latency_s > MAX_LATENCY_S:
            raise ValueError(f"latency must be at most {MAX_LATENCY_S:g} s")
        if any(s < 0 for s in shares) or sum(shares) > 1 + 1e-9:
            raise ValueError("fault shares must be >= 0 and sum to at most 1")
        if self.latency_s < 0 or self.repeat < 0:
            raise ValueError("latency and repeat must not be negative")
        if not self.trickle_s > 0:
            raise ValueError("the trickle interval must be positive")


def fault_draw(seed: int, text: str, attempt: int) -> float:
    """A number in [0, 1) fixed by the seed, the command and its attempt: faults placed by what
    is asked, not by when (Faults)."""
    digest = hashlib.blake2b(f"{seed}\0{attempt}\0{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


class AclCommandError(ValueError):
    """A command the emulator cannot serve; its text is the reply, as the gateway does."""


@dataclass(frozen=True)
class AclCommand:
    """`name/qual/qual=value arg ...` as ACL writes it."""

    name: str
    qualifiers: dict[str, str | None]
    args: list[str]

    def time(self, key: str) -> float:
        text = self.qualifiers.get(key)
        if not text:
            raise AclCommandError(f"{self.name}: invalid or missing {key}")
        try:
            return parse_local_datetime(text)
        except WindowError as exc:
            raise AclCommandError(f"{self.name}: invalid {key}: {exc}") from None


def decode_cgi_query(query: str) -> str:
    """What the CGI makes of a query string: `+`, `%20` -> space, `%27` -> `'`, `%22` -> `"`,
    nothing else (so `%3B` stays three characters and never becomes a `;`)."""
    if not query.startswith("acl="):
        raise AclCommandError("acl: invalid request (no acl= command)")
    return (query[4:].replace("+", " ").replace("%20", " ").replace("%27", "'")
            .replace("%22", '"'))


_TOKEN_RE = re.compile(r"""(?:[^\s"';]|"[^"]*"|'[^']*')+|;""")


def parse_command(text: str) -> AclCommand:
    """Split an ACL command line: words outside quotes, qualifiers after `/` in the first."""
    words = _TOKEN_RE.findall(text)
    if not words:
        raise AclCommandError("acl: invalid (empty) command")
    if ";" in words or any(w.count('"') % 2 or w.count("'") % 2 for w in words):
        raise AclCommandError("acl: invalid command (one command per request, balanced quotes)")
    head = re.findall(r"""(?:[^/"']|"[^"]*"|'[^']*')+""", words[0])
    quals: dict[str, str | None] = {}
    for q in head[1:]:
        key, eq, value = q.partition("=")
        quals[key.lower()] = value.strip("\"'") if eq else None
    return AclCommand(head[0].lower(), quals, words[1:])


class AclServer:
    """The emulator: `start()` it in a thread (tests) or `serve_forever()` (the CLI)."""

    def __init__(
        self,
        booster: SimulatedBooster,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        html: bool = False,
        log: Callable[[str], None] | None = None,
        event_header_lines: int = EVENT_LOG_HEADER_LINES,
    ) -> None:
        if event_header_lines not in EVENT_HEADER_CHOICES:
            raise ValueError(f"event_log header lines: 5 or 6, not {event_header_lines}")
        self.booster = booster
        self.faults = faults or Faults()
        self.html = html
        self.event_header_lines = event_header_lines
        self.log = log
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight_seen = 0  # most requests being answered at once
        self.faulted: Counter[str] = Counter()  # fault kind -> times injected
        self.steps_back: Counter[str] = Counter()  # device -> steps back in time sent
        self._per_command: Counter[str] = Counter()  # command text -> times broken
        self._asked: Counter[str] = Counter()  # command text -> times asked (fault_draw)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._describe = known_events()
        self.httpd = _HTTPServer((host, port), _Handler)
        self.httpd.acl = self  # type: ignore[attr-defined]

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}{CGI_PATH}"

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def start(self) -> AclServer:
        self._thread = threading.Thread(target=self.serve_forever, name="acl-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> AclServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ---- fault choice -------------------------------------------------------------------

    def choose_fault(self, command: AclCommand, text: str) -> str | None:
        f = self.faults
        with self._lock:
            self.requests += 1
            if f.devices and not (command.name == "logger_get" and
                                  set(command.args) & f.devices):
                return None
            if f.repeat and self._per_command[text] >= f.repeat:
                return None
            u = fault_draw(f.seed, text, self._asked[text])
            self._asked[text] += 1
            for kind in FAULT_KINDS:
                share = getattr(f, f"{kind}_share")
                if kind not in ("error", "drop") and command.name not in DATA_COMMANDS:
                    continue
                if kind == "out_of_order" and command.name != "logger_get":
                    continue
                if u < share:
                    self._per_command[text] += 1
                    self.faulted[kind] += 1
                    return kind
                u -= share
            return None

    # ---- replies ------------------------------------------------------------------------

    def reply_body(self, command: AclCommand) -> Iterator[bytes]:
        """The reply as pieces of bytes; raises AclCommandError before the first piece."""
        match command.name:
            case "logger_get":
                return self._logger_get(command)
            case "event_log":
                return self._event_log(command)
            case "read":
                return iter([self._read(command)])
            case "tlg_info":
                if "all_event_info" not in command.qualifiers:
                    raise AclCommandError("tlg_info: invalid qualifiers (want /all_event_info)")
                text = format_timeline_table(
                    self.booster.timeline(), NOMINAL_TICK_S, self._describe
                )
                return iter([text.encode()])
        raise AclCommandError(f"acl: invalid command {command.name!r}")

    def _logger_get(self, command: AclCommand) -> Iterator[bytes]:
        if command.qualifiers.get("date_format") != "utc_seconds":
            raise AclCommandError("logger_get: this emulator needs date_format='utc_seconds'")
        node = command.qualifiers.get("node")
        if node != self.booster.node:
            raise AclCommandError(f"logger_get: invalid node {node!r}")
        if len(command.args) != 1:
            raise AclCommandError("logger_get: invalid arguments (want exactly one device)")
        device = command.args[0]
        try:
            check_device_name(device)
        except DeviceNameError:
            raise AclCommandError(f"logger_get: invalid device name {device!r}") from None
        if device not in self.booster.logged:
            raise AclCommandError(f"logger_get: {device} is not logged on node {node}")
        window = _window(command, "start", "end")

        def pieces() -> Iterator[bytes]:
            for piece in window.split(GEN_CHUNK_S):
                s = self.booster.fetch(device, piece)
                if len(s):
                    yield pl.DataFrame({"t": s.utc_seconds, "v": s.values}).write_csv(
                        include_header=False, separator=" "
                    ).encode()

        return pieces()

    def _event_log(self, command: AclCommand) -> Iterator[bytes]:
        try:
            event = parse_event(command.qualifiers.get("event") or "")
        except EventCodeError:
            raise AclCommandError("event_log: invalid event (want two hex digits)") from None
        window = _window(command, "start_time", "stop_time")
        lines = [
            f"Event log of TCLK event {event_label(event)} "
            f"{self._describe.get(event, '')}".rstrip(),
            f"Start time: {format_local(window.start).replace('+', ' ')}",
            f"Stop time:  {format_local(window.end).replace('+', ' ')}",
            "Times are local wall-clock (America/Chicago)",
            "Date         Time          Supercycle time (s)",
            "-----------  ------------  -------------------",
        ]
        header = "\n".join(lines[:self.event_header_lines]) + "\n"

        def pieces() -> Iterator[bytes]:
            yield header.encode()
            sent = False
            for piece in window.split(GEN_CHUNK_S):
                occ = self.booster.event_occurrences(event, piece)
                if len(occ):
                    sent = True
                    yield _event_lines(occ.utc_seconds, occ.sc_seconds)
            if not sent:
                yield f"{NO_OCCURRENCES}\n".encode()

        return pieces()

    def _read(self, command: AclCommand) -> bytes:
        if command.args != ["G:SCTIME"]:
            raise AclCommandError(
                f"read: no such device {' '.join(command.args)!r} in this emulator"
            )
        if "setting" in command.qualifiers:
            return f"{self.booster.supercycle_length()!r}\n".encode()
        return f"{self.booster.supercycle_time()!r}\n".encode()


def format_timeline_table(
    entries: list[TimelineEntry], tick_s: float, describe: dict[int, str] | None = None
) -> str:
    """The `tlg_info/all_event_info` reply for `entries`, in the layout acl_parse reads
    (`TLG_COLUMNS`; `tick_s` splits each offset into a 15 Hz tick and a delay for the guessed
    TICK and DELAY_MS columns)."""
    describe = describe or {}

    def row(cells: tuple[str, ...]) -> str:
        return " ".join(f"{c:{a}{w}}" for c, (_, w, a) in zip(cells, TLG_COLUMNS, strict=True))

    lines = [row(tuple(n for n, _, _ in TLG_COLUMNS)).rstrip()]
    for e in entries:
        tick = int(e.sc_time / tick_s + 1e-9)
        cells = (
            str(e.index), "BTLG", str(tick), f"{e.event:02X}", "ON", "NORM",
            f"{1000.0 * (e.sc_time - tick * tick_s):.3f}",
            # zero-padded: read_fwf infers widths from the first 100 rows, so a later 10.5 s
            # written wider than every 0.x s above it would lose its leading digit
            "Y" if e.event in BOOSTER_RESETS else "N", "1", "0", f"{e.sc_time:09.6f}",
            " ".join(describe.get(e.event, "-").split()) or "-",
        )
        lines.append(row(cells).rstrip())
    return "\n".join(lines) + "\n"


def _window(command: AclCommand, start_key: str, end_key: str) -> Window:
    start, end = command.time(start_key), command.time(end_key)
    if end <= start:
        raise AclCommandError(f"{command.name}: invalid window ({end_key} not after {start_key})")
    return Window(start, end)


def _event_lines(utc: object, sc: object) -> bytes:
    df = pl.DataFrame({"ms": pl.Series(utc) * 1000.0, "sc": pl.Series(sc)})
    df = df.select(
        pl.from_epoch(pl.col("ms").round().cast(pl.Int64), time_unit="ms")
        .dt.replace_time_zone("UTC").dt.convert_time_zone("America/Chicago")
        .dt.strftime(EVENT_TIME_FORMAT).str.to_uppercase(),
        pl.col("sc"),
    )
    buf = io.BytesIO()
    df.write_csv(buf, include_header=False, separator=" ", float_precision=3,
                 quote_style="never")
    return buf.getvalue()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # keep-alive connections must not hold up shutdown

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (timeouts, closed pools) is normal here; anything else is not."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    server_version = "gmpsai-acl-emulator"

    def log_message(self, format: str, *args: object) -> None:
        log = self.server.acl.log  # type: ignore[attr-defined]
        if log:
            log(f"{self.address_string()} {format % args}")

    def do_GET(self) -> None:
        acl: AclServer = self.server.acl  # type: ignore[attr-defined]
        with acl._lock:
            acl.in_flight += 1
            acl.max_in_flight_seen = max(acl.max_in_flight_seen, acl.in_flight)
        try:
            self._answer(acl)
        finally:
            with acl._lock:
                acl.in_flight -= 1

    def _answer(self, acl: AclServer) -> None:
        path, _, query = self.path.partition("?")
        if path != CGI_PATH:
            self._send_small(404, b"<html><body>404 Not Found</body></html>\n")
            return
        try:
            text = decode_cgi_query(query)
            command = parse_command(text)
        except AclCommandError as exc:
            self._send_small(200, f"{exc}\n".encode())
            return
        fault = acl.choose_fault(command, text)
        if acl.faults.latency_s:
            time.sleep(acl.faults.latency_s)
        if fault == "error":
            code = 503 if fault_draw(acl.faults.seed, "status " + text, 0) < 0.5 else 500
            self._send_small(code, f"<html><body>{code} gateway fault</body></html>\n".encode())
            return
        try:
            body = acl.reply_body(command)
        except AclCommandError as exc:
            self._send_small(200, f"{exc}\n".encode())
            return
        if fault == "no_values":
            empty = NO_VALUES if command.name == "logger_get" else NO_OCCURRENCES
            body = iter([f"{empty}\n".encode()])
        elif command.name == "logger_get":
            body = _or_no_values(body)
        if fault == "out_of_order":
            body = _out_of_order(body, command.args[0], acl)
        if fault == "garbage":
            body = _with_garbage(body)
        elif fault == "truncate":
            body = _truncated(body)
        elif fault == "trickle":
            body = _trickled(body, acl.faults.trickle_s)
        self._send_stream(body, drop=fault == "drop")

    def _send_small(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/html" if body.startswith(b"<") else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_stream(self, body: Iterator[bytes], drop: bool) -> None:
        acl: AclServer = self.server.acl  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if acl.html else "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if acl.html:
            body = _wrapped(body)
        try:
            for piece in body:
                if drop:  # half a piece, then the connection goes away mid-chunk
                    self._chunk(piece, declared=len(piece), send=piece[: len(piece) // 2])
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._chunk(piece)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the client went away: fine
            self.close_connection = True

    def _chunk(self, piece: bytes, declared: int | None = None, send: bytes | None = None) -> None:
        if not piece:
            return
        n = len(piece) if declared is None else declared
        self.wfile.write(b"%X\r\n" % n + (piece if send is None else send))
        if send is None:
            self.wfile.write(b"\r\n")


def _or_no_values(body: Iterator[bytes]) -> Iterator[bytes]:
    sent = False
    for piece in body:
        sent = sent or bool(piece)
        yield piece
    if not sent:
        yield f"{NO_VALUES}\n".encode()


def _wrapped(body: Iterator[bytes]) -> Iterator[bytes]:
    yield HTML_HEAD
    yield from body
    yield HTML_TAIL


def _with_garbage(body: Iterator[bytes]) -> Iterator[bytes]:
    """A garbage line after the first line, and another at the end."""
    first = True
    for piece in body:
        if first and b"\n" in piece:
            head, _, rest = piece.partition(b"\n")
            piece = head + b"\n" + GARBAGE + rest
            first = False
        yield piece
    yield GARBAGE


def _out_of_order(body: Iterator[bytes], device: str, acl: AclServer) -> Iterator[bytes]:
    """Sample lines with one adjacent pair swapped in every OUT_OF_ORDER_EVERY: each swap is one
    step back in time, counted in `acl.steps_back[device]`."""
    for piece in body:
        lines = piece.splitlines(keepends=True)
        swaps = range(OUT_OF_ORDER_EVERY // 2, len(lines) - 1, OUT_OF_ORDER_EVERY)
        for i in swaps:
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        with acl._lock:
            acl.steps_back[device] += len(swaps)
        yield b"".join(lines)


def _trickled(body: Iterator[bytes], interval_s: float) -> Iterator[bytes]:
    """One line at a time, `interval_s` apart: each read returns in time, the reply never ends
    in any useful time (a per-read timeout does not catch it; the low-speed limit does)."""
    for piece in body:
        for line in piece.splitlines(keepends=True):
            time.sleep(interval_s)
            yield line


def _truncated(body: Iterator[bytes]) -> Iterator[bytes]:
    """Everything but the end of the last line (and its newline)."""
    last = b""
    for piece in body:
        if last:
            yield last
        last = piece
    cut = last.rstrip(b"\n")
    start = cut.rfind(b"\n") + 1
    yield cut[: start + max(1, (len(cut) - start) // 2)]
