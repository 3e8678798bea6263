"""Alerts: what is wrong now, told once, to people who are not looking.

The Dagster layer (defs/alerts.py) looks at the instance on every tick of `alert_sensor` and
hands this package two things: the problems it sees now (`Problem`: a run that failed after its
retries, an ERROR check that failed, an overdue day, the timeline logger down) and which open
incidents have been put right (`Recovery`). `incidents.step` turns those into incidents, keyed by
kind, subject and day, and into messages: one when an incident opens and one when it recovers,
never one per tick. `delivery` sends the messages through apprise and keeps whatever could not
be delivered for the next tick. The whole state (`State`) is small JSON that the sensor keeps as
its cursor, so it survives a daemon restart.

Nothing here imports Dagster.
"""
