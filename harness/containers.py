"""Docker for the tests: the engine, the image (deploy/build-image) and the code location server
container, each as production has it (docs/production.md).

The image is built once per session by the same script operators use; the script itself skips
the build when an image of the same inputs exists, so a second session on the machine reuses it.
Test images live under their own repository name and older ones are removed once a newer one is
built, so repeated runs do not fill the disk.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEST_IMAGE = "gmpsai-assets-test"


def docker(*args: str, check: bool = True, timeout: float = 120) -> str:
    """`docker ARGS`: its stdout; RuntimeError with docker's own message when it fails."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)
    if check and done.returncode:
        raise RuntimeError(f"docker {' '.join(args[:2])} failed: {done.stderr.strip()}")
    return done.stdout


def docker_missing() -> str | None:
    """Why no Docker engine can be used here, or None when one answers."""
    try:
        ok = subprocess.run(["docker", "info"], capture_output=True,
                            stdin=subprocess.DEVNULL, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return None if ok else ("no Docker engine answers (`docker info` failed): `make test` "
                            "installs Debian's docker.io and starts dockerd")


def build_image() -> str:
    """deploy/build-image under the test repository name; its tag. Older test images go."""
    env = {**os.environ, "IMAGE": TEST_IMAGE}
    done = subprocess.run([str(REPO / "deploy" / "build-image")], capture_output=True,
                          text=True, env=env, stdin=subprocess.DEVNULL, timeout=1800)
    if done.returncode:
        raise RuntimeError(f"deploy/build-image failed:\n{done.stderr[-3000:]}")
    tag = done.stdout.strip().splitlines()[-1]
    for old in docker("images", TEST_IMAGE, "--format", "{{.Repository}}:{{.Tag}}").split():
        if old != tag:
            docker("rmi", old, check=False)  # one still used by a container stays
    return tag


@dataclass
class CodeServer:
    """The code location server in its container (the image's own command), on the host
    network at a port of its own choosing: a random port, another one when its bind fails."""

    image: str
    env: dict[str, str]
    volumes: list[str]
    name: str = field(
        default_factory=lambda: f"gmpsai-code-{os.getpid()}-{random.randrange(1 << 30)}")
    port: int = 0

    def start(self, attempts: int = 10, deadline_s: float = 120) -> CodeServer:
        rng = random.Random()
        for _ in range(attempts):
            port = rng.randrange(20000, 60000)
            args = ["run", "-d", "--name", self.name, "--network", "host"]
            for key, value in self.env.items():
                args += ["-e", f"{key}={value}"]
            for volume in self.volumes:
                args += ["-v", volume]
            docker(*args, self.image, "python", "-m", "gmpsai_assets.code_server",
                   "--host", "127.0.0.1", "--port", str(port))
            end = time.monotonic() + deadline_s
            while time.monotonic() < end:
                if docker("inspect", "-f", "{{.State.Running}}", self.name).strip() != "true":
                    break
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    self.port = port
                    return self
                except OSError:
                    time.sleep(0.5)
            logs = self.logs()
            docker("rm", "-f", self.name, check=False)
            if "address already in use" not in logs.lower():
                raise RuntimeError(f"the code server container did not come up:\n{logs}")
        raise RuntimeError("the code server lost the race for a free port ten times")

    def logs(self) -> str:
        done = subprocess.run(["docker", "logs", self.name], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        return done.stdout + done.stderr

    def workspace(self, path: Path) -> Path:
        """A workspace.yaml for the webserver and daemon: this server, by address."""
        path.write_text("load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
                        f"      port: {self.port}\n      location_name: gmpsai_assets\n")
        return path

    def stop(self) -> None:
        docker("rm", "-f", self.name, check=False)
