"""Names the dead-code check (vulture, `make lint`) cannot see used: keep this list short and say
why each group is here. Anything else it reports is dead: remove it, do not list it."""

# ruff: noqa: B018, F821
_ = object

# Called by a framework, never by our code: http.server, aiosmtpd, gRPC (pacsys's DAQ service),
# Dagster resources' lifecycle, pytest hooks and module marks.
_.do_GET
_.do_POST
_.log_message
_.list_directory
_.handle_DATA
_.getDeviceInfo
_.capabilities
_.close_connection
_.setup_for_execution
_.teardown_after_execution
daemon_threads
protocol_version
server_version
pytest_configure
pytest_sessionfinish
_.exitstatus
exitstatus
pytestmark
_no_writes_into_the_checkout

# Called by the benchmarks' child processes, in the Python code they are given as text.
peak_rss_mb

# Fields of records that are written whole (Parquet rows, JSON documents, run metadata via
# dataclasses.asdict), or enum members chosen by a setting's text: read by the people and
# tools downstream, not by attribute access here.
value_changes
first_utc
last_utc
interval_mean
mtime_utc
distilled_utc
quarantined_utc
spread_ms
resets_unplaced
cycles_with_several_resets
cycles_without_reset
_.resets_unplaced
_.cycles_with_several_resets
_.cycles_without_reset
_.skipped_gap
_.skipped_missing
sc_time_s
last_start_utc
last_outcome
timeline_changed
last_error
_.last_error
GRPC
HTTP
start_date
timeline_sensor_s
alert_sensor_s

# Public measurements and ground truth that the tests and benchmarks read: retry counters of the
# clients, the simulator's outages, the fault-injecting link's count, whole-reply parsing.
_.retried
_.broken
_.outages
parse_logger_reply
parse_event_reply

# Writers of the old formats (files/legacy.py; the gzip filter of gmpsai-*/1 and /2), kept so
# that the readers of them are tested
# on files of the layout the old scripts wrote; docs/configuration.md's generator.
write_legacy_mldata
write_legacy_events
GZIP_COMPRESSION
configuration_table
