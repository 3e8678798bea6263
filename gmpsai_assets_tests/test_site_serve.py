"""`gmpsai serve-site`: the real command serving a published site on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest

from gmpsai_assets.cli import main
from gmpsai_assets.cli.serve_site import make_server
from gmpsai_assets.publish.site import CSP, publish_from_store
from gmpsai_assets.settings import Settings
from gmpsai_assets_tests.test_publish_support import build_store
from harness.processes import stop_group

GMPSAI = str(Path(sys.executable).parent / "gmpsai")


@pytest.fixture
def site(tmp_path) -> Path:
    build_store(tmp_path)
    result, _ = publish_from_store(Settings.from_env({"GMPSAI_DATA_DIR": str(tmp_path)}))
    (result.directory / ".StatsHistoryBoringHolyMoly.json.incoming-1").write_text("half")
    (result.directory / "sub").mkdir()
    return result.directory


def _get(url: str) -> tuple[int, Message, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, b""


def test_serve_site_command(site):
    proc = subprocess.Popen([GMPSAI, "serve-site", "--port", "0", "--dir", str(site), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"serving {site.resolve()} at http://127.0.0.1:"), line
        base = line.split(" at ", 1)[1].split()[0]
        status, headers, body = _get(base)
        assert status == 200 and b"<title>GMPS statistics history</title>" in body
        assert headers["Content-Security-Policy"] == f"{CSP}; frame-ancestors 'none'"
        assert headers["X-Content-Type-Options"] == "nosniff"
        status, headers, body = _get(base + "gmpsai-site.json")
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert len(json.loads(body)["devices"]) == 3
        for hidden in (".StatsHistoryBoringHolyMoly.json.incoming-1",
                       "%2EStatsHistoryBoringHolyMoly.json.incoming-1", "sub/", "../"):
            assert _get(base + hidden)[0] == 404, hidden
    finally:
        stop_group(proc)


def test_only_regular_files_inside_the_folder_are_served(site, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the web")
    (site / "x").symlink_to("/etc/passwd")
    (site / "out").symlink_to(outside)
    (site / "inside.json").symlink_to(site / "gmpsai-site.json")  # stays in the folder: fine
    os.mkfifo(site / "pipe")
    server = make_server(site, 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        for path in ("x", "out/secret.txt", "out/", "pipe", "nothing.html"):
            status, _, body = _get(base + path)
            assert status == 404 and body == b"", path
        assert _get(base + "a%00b")[0] == 400
        assert _get(base + "%00/")[0] == 400
        status, _, body = _get(base + "inside.json")
        assert status == 200 and json.loads(body)["devices"]
        assert _get(base)[0] == 200  # and the server still answers after all that
    finally:
        server.shutdown()
        server.server_close()


def test_binds_loopback_only(site):
    server = make_server(site, 0, quiet=True)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["serve-site", "--dir", str(tmp_path / "nothing")]) == 2
    assert "no published site in" in capsys.readouterr().err
    (tmp_path / "index.html").write_text("x")
    busy = make_server(tmp_path, 0, quiet=True)
    try:
        port = busy.server_address[1]
        assert main(["serve-site", "--dir", str(tmp_path), "--port", str(port)]) == 2
        err = capsys.readouterr().err
        assert f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1
    finally:
        busy.server_close()
