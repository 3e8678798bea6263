"""A year of `param_data` backfilled through the daemon on the production instance:
deploy/dagster.yaml on a throwaway PostgreSQL (runs as local processes), run queue of 3.

What it measures is Dagster's overhead, so the work per day is kept small (one device by
default). Figures beside floors from the same run:

- the run slot a partition holds inside the backfill (wall time x runs in parallel / days)
  against a lone run from its creation to its end (median of 3): the target is at most 1.1x;
- wall time per partition against one partition backfilled alone (launch to completion; this
  floor is mostly the backfill daemon's polling, so the ratio flatters the backfill);
- a run's own duration (start to end) inside the backfill against the lone runs';
- the daemon's queue latency: from the moment a run could start (queued, and a slot free) to
  its start, inside the backfill against the lone runs (nothing else queued).

    python -m benchmarks year [--days=N] [--devices=N]
Skipped, with a line saying so, where PostgreSQL is not installed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import Row, print_table

FIRST = dt.date(2025, 1, 1)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench_year")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--devices", type=int, default=1)
    known, _ = parser.parse_known_args(sys.argv[1:])
    return known


def _backfill(dagster, days: list[str], deadline_s: float) -> float:
    """Launch a backfill of `days` and wait for it; its wall time."""
    from harness.dagster_web import BACKFILL, BACKFILL_STATUS

    began = time.perf_counter()
    params = {"assetSelection": [{"path": ["param_data"]}], "partitionNames": days}
    launched = dagster.query(BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    end = time.monotonic() + deadline_s
    while True:
        fill = dagster.query(BACKFILL_STATUS, {"id": launched["backfillId"]})
        status = fill["partitionBackfillOrError"]["status"]
        if status in ("COMPLETED", "COMPLETED_SUCCESS", "FAILED", "COMPLETED_FAILED",
                      "CANCELED"):
            break
        if time.monotonic() > end:
            raise RuntimeError(f"backfill still {status} after {deadline_s:.0f} s")
        time.sleep(0.5)
    if status not in ("COMPLETED", "COMPLETED_SUCCESS"):
        raise RuntimeError(f"backfill of {days[0]}..{days[-1]} ended {status}:\n"
                           f"{_failures()}")
    return time.perf_counter() - began


def _failures() -> str:
    """What the failed runs said (the instance of the environment)."""
    import dagster as dg

    lines = []
    with dg.DagsterInstance.get() as instance:
        for run in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE])):
            for rec in instance.all_logs(run.run_id):
                if rec.is_dagster_event:
                    lines.append(f"{run.job_name} {run.tags.get('dagster/partition')}: "
                                 f"{rec.dagster_event.message or rec.user_message}")
    return "\n".join(lines[-25:])


def _runs(instance, days: set[str]) -> list:
    records = instance.get_run_records()
    return [r for r in records if r.dagster_run.tags.get("dagster/partition") in days]


def queue_latencies(records: list) -> list[float]:
    """Per run: its start minus when it could have started, i.e. the later of its creation
    and the end of the last run that finished before it started (the slot it took)."""
    ends = sorted(r.end_time for r in records if r.end_time)
    out = []
    for r in records:
        if not r.start_time:
            continue
        freed = [e for e in ends if e <= r.start_time]
        ready = max(r.create_timestamp.timestamp(), freed[-1] if freed else 0.0)
        out.append(max(0.0, r.start_time - ready))
    return out


def most_in_parallel(records: list) -> int:
    """The most runs that were running at one moment (start to end)."""
    spans = [(r.start_time, r.end_time) for r in records if r.start_time and r.end_time]
    return max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans)


def main() -> None:
    from harness.pgserver import PostgresMissing, production_instance_yaml, start_server

    args = _args()
    try:
        server = start_server()
    except PostgresMissing as exc:
        print(f"bench_year: skipped: {exc}")
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench_year_"))
    dagster = None
    try:
        home = tmp / "dagster_home"
        home.mkdir()
        production_instance_yaml(home)
        from gmpsai_assets.acnet.devices import load_device_list

        devices = [e.device for e in load_device_list()][: args.devices]
        plist = tmp / "list.txt"
        plist.write_text("".join(f"MLrn {d}\n" for d in devices))
        env = {"DAGSTER_HOME": str(home), "GMPSAI_DATA_DIR": str(tmp / "data"),
               "GMPSAI_PARAM_LIST": str(plist), "GMPSAI_SOURCE": "simulated",
               "DAGSTER_DISABLE_TELEMETRY": "1", **server.env()}
        os.environ.update(env)
        import dagster as dg

        from harness.dagster_web import Dagster, PortTaken, repository

        for _attempt in range(3):  # the webserver picks its port; a lost race is retried
            dagster = Dagster(home, {**os.environ})
            try:
                dagster.wait_until_up()
                break
            except PortTaken:
                dagster.stop()
                dagster = None
        else:
            raise RuntimeError("dagster-webserver lost the race for a free port three times")
        repository(dagster)  # the code location is loaded before anything is timed
        lone_days = [(FIRST - dt.timedelta(days=10 + i)).isoformat() for i in range(3)]
        lone = [_backfill(dagster, [d], 600) for d in lone_days]
        year = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(args.days)]
        total = _backfill(dagster, year, 60 * 60 * 6)
        with dg.DagsterInstance.get() as instance:
            lone_runs = _runs(instance, set(lone_days))
            year_runs = _runs(instance, set(year))
            others = Counter(r.dagster_run.job_name for r in instance.get_run_records()
                             if r.dagster_run.tags.get("dagster/partition") is None)
    finally:
        if dagster is not None:
            dagster.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    def durations(records: list) -> list[float]:
        return [r.end_time - r.start_time for r in records if r.end_time and r.start_time]

    assert len(year_runs) == args.days, f"{len(year_runs)} runs for {args.days} days"
    lone_wall = statistics.median(lone)
    # A lone backfill's wall time is mostly the backfill daemon's polling, so the fair floor of
    # one partition is a lone run from creation to end; inside the backfill a partition holds a
    # run slot for wall time x runs in parallel / days.
    parallel = most_in_parallel(year_runs)
    lone_e2e = statistics.median(r.end_time - r.create_timestamp.timestamp() for r in lone_runs)
    lat_lone, lat_year = queue_latencies(lone_runs), queue_latencies(year_runs)
    rows = [
        Row("backfill: wall time per partition", total / args.days, lone_wall, "s",
            "one partition backfilled alone", ""),
        Row(f"backfill: slot time per partition ({parallel} in parallel)",
            total * parallel / args.days, lone_e2e, "s", "a lone run, creation to end",
            "<= 1.1x"),
        Row("backfill: median run duration", statistics.median(durations(year_runs)),
            statistics.median(durations(lone_runs)), "s", "lone runs' duration", ""),
        Row("daemon queue latency, median", statistics.median(lat_year),
            statistics.median(lat_lone), "s", "lone runs' queue latency", ""),
        Row("daemon queue latency, 90th percentile",
            statistics.quantiles(lat_year, n=10)[-1], statistics.median(lat_lone), "s",
            "lone runs' queue latency", ""),
    ]
    print_table(f"{args.days}-day backfill of param_data on PostgreSQL through the daemon, "
                f"{len(devices)} device(s), run queue of 3", rows)
    print(f"whole backfill: {total:.0f} s for {args.days} partitions")
    # what else held run slots meanwhile (the sensors start the always-on timeline logger)
    print("other runs on the instance: "
          + (", ".join(f"{job} x{n}" for job, n in sorted(others.items())) or "none"))


if __name__ == "__main__":
    main()
