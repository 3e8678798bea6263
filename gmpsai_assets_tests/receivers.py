"""Real receivers of alerts on loopback: an SMTP server (aiosmtpd) and an HTTP server taking
apprise's JSON webhook posts. Each records what arrived and when (time.time() at arrival)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Arrival:
    at: float
    title: str
    body: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JsonReceiver:
    """apprise's `json://127.0.0.1:<port>/alerts`; `refuse(n)` answers the next n posts 500."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.refused = 0
        self._refuse = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    refuse = receiver._refuse > 0
                    if refuse:
                        receiver._refuse -= 1
                        receiver.refused += 1
                    else:
                        data = json.loads(body)
                        receiver.arrivals.append(
                            Arrival(time.time(), data["title"], data["message"]))
                self.send_response(500 if refuse else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_port}/alerts"

    def refuse(self, n: int) -> None:
        with self._lock:
            self._refuse = n

    def __enter__(self) -> JsonReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """A real SMTP server: apprise's `mailto://127.0.0.1:<port>?from=...&to=...`."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server: object, session: object,
                                  envelope: object) -> str:
                msg = email.message_from_bytes(envelope.content,  # type: ignore[attr-defined]
                                               policy=email.policy.default)
                part = msg.get_body(preferencelist=("plain",))
                text = part.get_content() if part is not None else ""
                receiver.arrivals.append(Arrival(time.time(), str(msg["Subject"]), text))
                return "250 OK"

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return (f"mailto://127.0.0.1:{self.port}?from=gmpsai@example.org&to=ops@example.org")

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
