"""Chaos: kill -9 at random moments of grab, distill and publish, on two hosts sharing one data
directory, and prove after each trial that nothing is lost, half-written or recorded twice.

Host A is a plain process of this machine; host B a process in new UTS and pid namespaces (its
own host name and pid numbering, as a run container has), both writing into the same data
directory. Each trial starts one stage on each host at once (grab-params, distill or db-to-json
--site, chosen at random) and kill -9s one of them at a random moment. Then, as the next
housekeeping would after the lease and temp-file periods have passed (simulated by ageing the
leases and by the `now` given to the temp-file rule, not by waiting half an hour):

- every statistics view reads (a result file that does not is quarantined, never fatal);
- every file in an output directory opens and reads whole (no partial file was published);
- no draft, lease or temporary file of a dead writer survives the housekeeping;
- no data file is recorded twice, and no device of a file has two rows of statistics;
- the killed stage, run again, completes.

    python -m benchmarks chaos --trials=20      # the issue's figure (default 20)
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DAY = "2026-03-10"
DEVICES = ("B:VIMIN", "B_VIMIN", "B:IMINER", "B:LINFRQ", "I:IB", "B|GMPSSC")
STAGES = ("grab", "distill", "publish")
GMPSAI = str(Path(sys.executable).with_name("gmpsai"))


@dataclass
class Trial:
    n: int
    killed_stage: str
    killed_host: str
    other_stage: str
    kill_at_s: float
    leftovers_removed: int = 0
    quarantined: int = 0
    views_ok: bool = False
    partial_files: int = 0
    duplicates: int = 0
    survivors: int = 0
    rerun_ok: bool = False

    @property
    def ok(self) -> bool:
        return (self.views_ok and self.rerun_ok and not self.partial_files
                and not self.duplicates and not self.survivors)


class Lab:
    """One shared data directory and the commands of each stage."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.plist = root / "ParamList.txt"
        self.plist.write_text("".join(f"MLrn {d}\n" for d in DEVICES))
        self.env = {**os.environ, "GMPSAI_DATA_DIR": str(self.data),
                    "GMPSAI_PARAM_LIST": str(self.plist), "GMPSAI_SOURCE": "simulated"}
        self.env.pop("GMPSAI_STATS_DB", None)

    @property
    def db(self) -> Path:
        return self.data / "gmpsai.duckdb"

    def argv(self, stage: str) -> list[str]:
        if stage == "grab":
            return [GMPSAI, "grab-params", "--startat", DAY, "--days", "1"]
        if stage == "distill":
            files = sorted(str(p) for p in (self.data / "params").glob("*.h5"))
            return [GMPSAI, "distill", *files] if files else [GMPSAI, "distill", "--help"]
        return [GMPSAI, "db-to-json", "--site", "--outdir", str(self.data / "site")]

    def start(self, stage: str, host: str) -> subprocess.Popen:
        argv = self.argv(stage)
        if host == "B":  # another host: its own host name and pid namespace
            argv = ["unshare", "--uts", "--pid", "--fork", "--mount-proc", "sh", "-c",
                    'hostname chaos-host-b && exec "$@"', "sh", *argv]
        return subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)

    def run(self, stage: str) -> tuple[int, str]:
        proc = self.start(stage, "A")
        _, err = proc.communicate(timeout=600)
        return proc.returncode, err.decode(errors="replace")


def housekeeping(lab: Lab) -> int:
    """What housekeeping removes once the lease and temp-file periods have passed."""
    from gmpsai_assets.files.drafts import LEASE_EXPIRY_S, LEASE_SUFFIX, remove_stale_drafts
    from gmpsai_assets.stats.store import TEMP_STALE_S, remove_stale_temp_files

    drafts = lab.data / "drafts"
    old = time.time() - LEASE_EXPIRY_S - 60
    for lease in drafts.glob(f"*{LEASE_SUFFIX}") if drafts.exists() else []:
        os.utime(lease, (old, old))
    removed = remove_stale_drafts(drafts) if drafts.exists() else []
    temps = remove_stale_temp_files(lab.db, now=time.time() + TEMP_STALE_S + 60)
    return len(removed) + len(temps)


def leftovers(lab: Lab) -> list[str]:
    """Drafts, leases and temporary files still present (every writer is dead by now)."""
    from gmpsai_assets.stats.store import TEMP_SUFFIX, results_dir

    found = [p.name for p in (lab.data / "drafts").glob("*")] if (lab.data / "drafts").exists() \
        else []
    results = results_dir(lab.db)
    if results.exists():
        found += [p.name for p in results.rglob(f"*{TEMP_SUFFIX}")]
    for out in ("params", "site"):
        d = lab.data / out
        found += [p.name for p in d.glob(".*")] if d.exists() else []
    return found


def views_read(lab: Lab) -> tuple[bool, int]:
    """Every view of the store answers a full scan; how many result files are quarantined."""
    from gmpsai_assets.stats import store

    if not lab.db.exists():
        return True, 0
    with store.reader(lab.db) as con:
        views = [r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
        for view in views:
            con.execute(f'SELECT count(*) FROM "{view}"').fetchall()
    return bool(views), len(store.quarantined(lab.db))


def partial_files(lab: Lab) -> int:
    from gmpsai_assets.files.datafile import BadDataFile, open_data_file

    bad = 0
    for path in (lab.data / "params").glob("*.h5") if (lab.data / "params").exists() else []:
        try:
            for _ in open_data_file(path).datasets():
                pass
        except BadDataFile:
            bad += 1
    return bad


def duplicates(lab: Lab) -> int:
    from gmpsai_assets.stats import store

    if not lab.db.exists():
        return 0
    with store.reader(lab.db) as con:
        files = con.execute("SELECT count(*) FROM (SELECT name FROM data_files GROUP BY name "
                            "HAVING count(*) > 1)").fetchone()[0]
        stats = con.execute("SELECT count(*) FROM (SELECT file_name, device FROM param_stats "
                            "GROUP BY file_name, device HAVING count(*) > 1)").fetchone()[0]
    return files + stats


def trial(lab: Lab, n: int, rng: random.Random, took: dict[str, float]) -> Trial:
    """A kill moment anywhere in the stage's run, start-up included (`took`: its duration)."""
    killed_stage, other_stage = rng.choice(STAGES), rng.choice(STAGES)
    killed_host = rng.choice("AB")
    kill_at = round(rng.uniform(0.05, took[killed_stage]), 2)
    t = Trial(n, killed_stage, killed_host, other_stage, kill_at)
    victim = lab.start(killed_stage, killed_host)
    other = lab.start(other_stage, "B" if killed_host == "A" else "A")
    time.sleep(t.kill_at_s)
    if victim.poll() is None:
        os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    other.communicate(timeout=600)
    t.leftovers_removed = housekeeping(lab)
    t.survivors = len(leftovers(lab))
    t.views_ok, t.quarantined = views_read(lab)
    t.partial_files = partial_files(lab)
    t.duplicates = duplicates(lab)
    code, err = lab.run(killed_stage)
    t.rerun_ok = code == 0
    if not t.rerun_ok:
        print(f"  trial {n}: rerun of {killed_stage} exited {code}: {err.strip()[-300:]}")
    t.views_ok = t.views_ok and views_read(lab)[0]
    return t


def run_trials(root: Path, trials: int, seed: int = 18) -> list[Trial]:
    lab = Lab(root)
    took = {}
    for stage in STAGES:  # a day on disk, distilled and published, before the chaos
        began = time.monotonic()
        code, err = lab.run(stage)
        took[stage] = time.monotonic() - began
        if code != 0:
            raise RuntimeError(f"setup {stage} failed ({code}): {err}")
    print("a stage alone: " + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()))
    rng = random.Random(seed)
    return [trial(lab, n, rng, took) for n in range(1, trials + 1)]


def print_trials(results: list[Trial]) -> None:
    head = (f"{'#':>3s} {'killed':8s} {'host':4s} {'beside':8s} {'kill at':>7s} {'removed':>7s} "
            f"{'quarant.':>8s} {'views':5s} {'partial':>7s} {'dupl.':>5s} {'left':>4s} rerun")
    print(head)
    print("-" * len(head))
    for t in results:
        print(f"{t.n:3d} {t.killed_stage:8s} {t.killed_host:4s} {t.other_stage:8s} "
              f"{t.kill_at_s:6.2f}s {t.leftovers_removed:7d} {t.quarantined:8d} "
              f"{'ok' if t.views_ok else 'FAIL':5s} {t.partial_files:7d} {t.duplicates:5d} "
              f"{t.survivors:4d} {'ok' if t.rerun_ok else 'FAIL'}")
    good = sum(t.ok for t in results)
    print(f"{good}/{len(results)} trials kept every promise")


def main() -> None:
    trials = 20
    for arg in sys.argv[1:]:
        if arg.startswith("--trials="):
            trials = int(arg.split("=", 1)[1])
    if shutil.which("unshare") is None or os.geteuid() != 0:
        print("bench_chaos: skipped: host B needs `unshare` and root (new UTS/pid namespaces)")
        return
    root = Path(tempfile.mkdtemp(prefix="gmpsai-chaos-"))
    try:
        print_trials(run_trials(root, trials))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
