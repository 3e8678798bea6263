"""The suite's own guard: a process a test starts and leaves running fails the session."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from harness.processes import running

REPO = Path(__file__).resolve().parents[1]

LEAKY = textwrap.dedent('''
    import subprocess, sys
    def test_leaves_a_process_behind(tmp_path):
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                                start_new_session=True)
        (tmp_path.parent.parent / "leaked.pid").write_text(str(proc.pid))
''')


def test_a_process_that_outlives_the_suite_fails_it_and_is_killed(tmp_path: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(LEAKY)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "gmpsai_assets_tests.conftest",
         "--rootdir", str(tmp_path), "-o", "addopts=", f"--basetemp={tmp_path / 'bt'}",
         str(tmp_path / "test_leaky.py")],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300,
        env={**os.environ, "GMPSAI_TEST_SURVIVOR_GRACE_S": "1"})
    out = proc.stdout + proc.stderr
    assert "1 passed" in out, out  # the test itself passed ...
    assert proc.returncode == 1, out  # ... the session did not
    assert "1 process(es) started by the suite outlived it" in out and "time.sleep(300)" in out
    leaked = int((tmp_path / "leaked.pid").read_text())
    assert not running(leaked)
