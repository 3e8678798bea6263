import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pytest

from gmpsai_assets.acnet.datalogger import DataLoggerUnavailable
from gmpsai_assets.cli import main
from gmpsai_assets.sim.simulator import SimulatedBooster
from gmpsai_assets.window import day_window


@pytest.fixture
def home(tmp_path, monkeypatch, data_dir):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "dagster.yaml", home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    plist = tmp_path / "list.txt"
    plist.write_text("MLrn B:IMINER\n")
    monkeypatch.setenv("GMPSAI_PARAM_LIST", str(plist))
    monkeypatch.setenv("GMPSAI_MAX_EVENT", "0c")  # events $00..$0C keep each day quick
    return home


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _runs(home) -> list[str]:
    with dg.DagsterInstance.from_config(str(home)) as inst:
        return sorted(r.tags.get("dagster/partition", "") for r in inst.get_runs())


def test_backfill_skips_complete_days_unless_refetch(home, capsys, data_dir):
    code, out, _ = _cli(capsys, "backfill", "--from", "2026-02-01", "--to", "2026-02-02")
    assert code == 0, out
    assert "2 day(s), 0 already complete, 2 to run" in out
    assert _runs(home) == ["2026-02-01", "2026-02-02"]
    assert len(list((data_dir / "params").glob("*.h5"))) == 2  # (and their declarations)

    code, out, _ = _cli(capsys, "backfill", "--from", "2026-02-01", "--to", "2026-02-03")
    assert code == 0 and "3 day(s), 2 already complete, 1 to run" in out
    assert "[1/1] 2026-02-03: ok" in out
    assert _runs(home) == ["2026-02-01", "2026-02-02", "2026-02-03"]

    code, out, _ = _cli(capsys, "backfill", "--from", "2026-02-02", "--to", "2026-02-03",
                        "--dryrun", "--refetch")
    assert code == 0 and out.splitlines()[1:] == ["2026-02-02", "2026-02-03"]
    assert len(_runs(home)) == 3  # a dry run runs nothing

    code, out, _ = _cli(capsys, "backfill", "--from", "2026-02-03", "--to", "2026-02-03",
                        "--refetch")
    assert code == 0 and len(_runs(home)) == 4
    assert len(list((data_dir / "params").glob("*.h5"))) == 3  # the re-run replaced its file


def _schedule_tick(home: Path, name: str, at: dt.datetime) -> dg.RunRequest | str:
    """The schedule's tick at `at` (local time) on the instance: its one request, or why not."""
    from gmpsai_assets.definitions import defs
    from gmpsai_assets.window import FERMILAB_TZ

    with dg.DagsterInstance.from_config(str(home)) as inst, dg.build_schedule_context(
            instance=inst, repository_def=defs.get_repository_def(),
            scheduled_execution_time=at.replace(tzinfo=FERMILAB_TZ)) as context:
        data = defs.resolve_schedule_def(name).evaluate_tick(context)
    return data.run_requests[0] if data.run_requests else data.skip_message


def test_one_failed_day_does_not_stop_the_range_and_the_schedules_fetch_only_it(
        home, capsys, monkeypatch):
    bad = day_window(dt.date(2026, 2, 2))
    real_fetch = SimulatedBooster.fetch

    def fetch(self, device, window):
        if window.start < bad.end and window.end > bad.start:
            raise DataLoggerUnavailable("gateway down")
        return real_fetch(self, device, window)

    monkeypatch.setattr(SimulatedBooster, "fetch", fetch)
    code, out, err = _cli(capsys, "backfill", "--from", "2026-02-01", "--to", "2026-02-03")
    assert code == 1
    assert "[1/3] 2026-02-01: ok" in out and "[3/3] 2026-02-03: ok" in out
    assert "[2/3] 2026-02-02: FAILED" in out and "gateway down" in out
    assert "1 day(s) failed or incomplete: 2026-02-02" in err
    code, out, _ = _cli(capsys, "backfill", "--from", "2026-02-01", "--to", "2026-02-03",
                        "--dryrun")
    assert "2 already complete, 1 to run" in out and out.splitlines()[-1] == "2026-02-02"

    # The schedules skip a day the backfill made complete, naming it, and fetch the failed one.
    for name, hour, minute in (("param_data_schedule", 1, 0), ("event_data_schedule", 2, 1)):
        skipped = _schedule_tick(home, name, dt.datetime(2026, 2, 2, hour, minute))
        assert isinstance(skipped, str) and skipped.startswith("2026-02-01 is complete"), skipped
        assert "--refetch" in skipped
        request = _schedule_tick(home, name, dt.datetime(2026, 2, 3, hour, minute))
        assert isinstance(request, dg.RunRequest) and request.partition_key == "2026-02-02"


@pytest.mark.parametrize(("argv", "message"), [
    (["--from", "2026-02-03", "--to", "2026-02-01"], "is before --from"),
    (["--from", "2026-02-30", "--to", "2026-03-01"], "not a date"),
    (["--from", "2000-01-01", "--to", "2026-03-01"], "split the range"),
    (["--from", "2019-12-31", "--to", "2020-01-01"], "is not a daily partition"),
    (["--from", "2099-12-30", "--to", "2100-01-01", "--dryrun"], "is not a daily partition"),
])
def test_bad_ranges(home, capsys, argv, message):
    code, _, err = _cli(capsys, "backfill", *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
