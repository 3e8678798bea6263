"""The timeline logger: what the Timeline Generator laid out in every supercycle, kept durably.

`logger` (the timeline logger proper) runs the once-per-supercycle loop against any
`TimingSource`, `store` keeps the records in their own DuckDB file, `day` summarises a local day
(recorded vs expected supercycles, gaps, timeline changes). No Dagster here;
`gmpsai_assets.defs.timeline` wraps it in a job and sensors.
"""
