"""Files written by a run belong to the run (files/drafts.py): the Dagster layer's part.

An asset that writes wraps its core call in `owned_by_this_run(context)`: its drafts name the run
id in their leases, and the drafts it starts remove those of any run that has ended. Housekeeping
asks the same question (`run_has_ended`) of every draft it finds.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import dagster as dg

from gmpsai_assets.files.drafts import owned_by_run


def run_has_ended(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Has run `run_id` ended (SUCCESS, FAILURE or CANCELED)? A run this instance does not know
    (deleted by housekeeping, or another instance's) is not known to have ended: its drafts are
    left to their lease."""
    run = instance.get_run_by_id(run_id)
    return run is not None and run.is_finished


@contextmanager
def owned_by_this_run(context: dg.AssetExecutionContext | dg.OpExecutionContext
                      ) -> Iterator[None]:
    """Files leased inside this block belong to the context's run (files/drafts.owned_by_run)."""
    with owned_by_run(context.run.run_id, partial(run_has_ended, context.instance)):
        yield
