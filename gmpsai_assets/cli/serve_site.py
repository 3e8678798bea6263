"""Serve the published site (default <data dir>/site, GMPSAI_PUBLISH_DIR) on 127.0.0.1 only.

A small static server for looking at the page from this machine: it sends the page's
Content-Security-Policy as a header as well (adding frame-ancestors, which a meta tag cannot
carry), never lists directories and serves only regular files inside the folder: no hidden
files (cross-filesystem copies in flight are named `.<name>.incoming-*`), no symlinks leading out
of it, no FIFOs or devices. Any other web server pointed at the directory works too; the
page also works opened straight from disk.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import stat
import sys
import urllib.parse
from pathlib import Path

from gmpsai_assets.cli.common import UsageError
from gmpsai_assets.publish.site import CSP

NAME = "serve-site"
HELP = "serve the published statistics page on 127.0.0.1"
HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="N",
                   help=f"TCP port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--dir", metavar="DIR",
                   help="directory to serve (default: $GMPSAI_PUBLISH_DIR or <data dir>/site)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not log each request")


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with security headers; no listings, no hidden files."""

    quiet = False

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", f"{CSP}; frame-ancestors 'none'")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")  # revalidate: the data changes daily
        super().end_headers()

    def send_head(self):  # type: ignore[no-untyped-def]
        """Only regular files inside the folder: symlinks leading out, FIFOs, devices are 404."""
        path = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        if "\x00" in path:
            self.send_error(400, "Bad request")
            return None
        if any(part.startswith(".") for part in path.split("/") if part):
            self.send_error(404, "File not found")
            return None
        target = self.translate_path(self.path)
        if os.path.isdir(target):
            if not path.endswith("/"):
                return super().send_head()  # the redirect to `dir/`, nothing read
            target = os.path.join(target, "index.html")
        root = os.path.realpath(self.directory)
        real = os.path.realpath(target)
        if os.path.commonpath([real, root]) != root:
            self.send_error(404, "File not found")
            return None
        try:  # O_NOFOLLOW: the checked path, not a link swapped in since; O_NONBLOCK: a FIFO
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            self.send_error(404, "File not found")
            return None
        f = os.fdopen(fd, "rb")
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            f.close()
            self.send_error(404, "File not found")
            return None
        self.send_response(200)
        self.send_header("Content-type", self.guess_type(real))
        self.send_header("Content-Length", str(st.st_size))
        self.send_header("Last-Modified", self.date_time_string(int(st.st_mtime)))
        self.end_headers()
        return f

    def list_directory(self, path):  # type: ignore[no-untyped-def]
        self.send_error(404, "File not found")
        return None

    def log_message(self, format: str, *args: object) -> None:
        if not self.quiet:
            super().log_message(format, *args)


def make_server(directory: Path, port: int, quiet: bool = False) -> http.server.HTTPServer:
    """A bound (not yet serving) server for `directory` on 127.0.0.1:`port`."""
    handler = functools.partial(
        type("Handler", (SiteHandler,), {"quiet": quiet}), directory=str(directory)
    )
    return http.server.ThreadingHTTPServer((HOST, port), handler)


def run(args: argparse.Namespace) -> int:
    directory = Path(args.dir) if args.dir else args.settings.site_dir
    if not (directory / "index.html").is_file():
        raise UsageError(
            f"no published site in {directory}: run `gmpsai materialize-day` or materialize "
            "published_json first"
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    try:
        server = make_server(directory, args.port, args.quiet)
    except OSError as exc:
        raise UsageError(f"cannot listen on {HOST}:{args.port}: {exc.strerror or exc}") from None
    port = server.server_address[1]
    print(f"serving {directory.resolve()} at http://{HOST}:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
