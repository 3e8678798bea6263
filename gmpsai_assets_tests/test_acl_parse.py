"""ACL reply parsing: every reply shape, and every way a reply can be wrong, is accounted for."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import polars as pl
import pytest

from gmpsai_assets.acnet.acl_parse import (
    EventLogParser,
    GatewayErrorText,
    LoggerReplyParser,
    MalformedReply,
    TruncatedReply,
    parse_event_reply,
    parse_logger_reply,
    parse_read_reply,
    parse_timeline_table,
)
from gmpsai_assets.acnet.datalogger import BadRequest, DataLoggerUnavailable, DeviceNotLogged
from gmpsai_assets.acnet.tclk import NOMINAL_TICK_S, TimelineEntry, known_events
from gmpsai_assets.sim.acl_server import format_timeline_table
from gmpsai_assets.sim.simulator import SimulatedBooster

WRAP = (b"<html><head><title>ACL output</title></head>\n<body>\n<pre>\n",
        b"</pre>\n</body></html>\n")
EVENT_HEADER = b"Event log\nStart\nStop\nTimes are local\nDate Time SC\n"


def _data(n: int = 1000) -> tuple[np.ndarray, np.ndarray, bytes]:
    rng = np.random.default_rng(1)
    t = np.round((1.7e9 + np.arange(n) / 15.0) * 1000) / 1000
    v = rng.normal(100, 5, n)
    v[::7] = np.round(v[::7])  # some integral values, written without decimals
    text = pl.DataFrame({"t": t, "v": v}).write_csv(include_header=False, separator=" ")
    return t, v, text.encode()


def _ok(body: bytes) -> dict[str, np.ndarray]:
    reply = parse_logger_reply(body)
    reply.check("test")
    return reply.columns


def test_plain_reply_round_trips_exactly() -> None:
    t, v, body = _data()
    cols = _ok(body)
    assert np.array_equal(cols["utc_seconds"], t) and np.array_equal(cols["value"], v)


def test_html_wrapped_reply_gives_the_same_data() -> None:
    t, v, body = _data()
    cols = _ok(WRAP[0] + body + WRAP[1])
    assert np.array_equal(cols["utc_seconds"], t) and np.array_equal(cols["value"], v)
    cols = _ok(WRAP[0] + body + b"<br></pre></body></html>")  # markup alone is no line
    assert np.array_equal(cols["value"], v)


@pytest.mark.parametrize("rows", [1, 10])  # a first (and only) line cut short, too
@pytest.mark.parametrize(
    "wrap", [(b"", b""), WRAP, (WRAP[0], b"</pre></body></html>"), (b"<pre>", b"</pre>")],
    ids=["plain", "html", "html-tight", "pre-only"],
)
def test_a_reply_cut_inside_its_last_line_is_truncated_in_every_wrapping(
    rows: int, wrap: tuple[bytes, bytes]
) -> None:
    """A closing tag right after a cut value (10.00000603 -> 1.0) does not complete the line."""
    body = _data(rows)[2] if rows > 1 else b"1700000000.0 10.00000603\n"
    cut = body.rstrip(b"\n")[:-5]  # still looks like "<seconds> <number>"
    with pytest.raises(TruncatedReply, match="truncated inside its last line"):
        parse_logger_reply(wrap[0] + cut + wrap[1]).check("test")


@pytest.mark.parametrize("piece", [1, 7, 4096])
def test_streaming_in_pieces_equals_parsing_whole(piece: int) -> None:
    t, v, body = _data(60 if piece == 1 else 3000)  # byte at a time: keep it quick
    body = WRAP[0] + body + WRAP[1]
    p = LoggerReplyParser(batch_bytes=1000)  # many batches, batch edges inside lines
    for i in range(0, len(body), piece):
        p.feed(body[i:i + piece])
    reply = p.finish()
    reply.check("test")
    whole = parse_logger_reply(body)
    assert np.array_equal(reply.columns["utc_seconds"], t)
    assert np.array_equal(whole.columns["utc_seconds"], t)
    assert np.array_equal(reply.columns["value"], v) and np.array_equal(whole.columns["value"], v)


def test_whitespace_variants_parse_through_the_slow_path() -> None:
    cols = _ok(b"1700000000.1   5\n\t1700000000.2 6 \n1700000000.3\t-7e-3\r\n\n")
    assert cols["utc_seconds"].tolist() == [1700000000.1, 1700000000.2, 1700000000.3]
    assert cols["value"].tolist() == [5.0, 6.0, -0.007]


@pytest.mark.parametrize(
    "body", [b"No values\n", b"No values", b"<html><body>No values</body></html>"]
)
def test_no_values_is_an_empty_reply(body: bytes) -> None:
    reply = parse_logger_reply(body)
    reply.check("test")
    assert reply.rows == 0 and reply.empty_marker


def test_truncated_last_line_is_an_error_not_a_short_number() -> None:
    _, _, body = _data(10)
    cut = body.rstrip(b"\n")[:-5]  # "1700000000.6 103.12" still looks like a number
    with pytest.raises(TruncatedReply, match="truncated inside its last line"):
        parse_logger_reply(cut).check("test")


def test_garbage_lines_are_counted_and_quoted() -> None:
    _, _, body = _data(100)
    lines = body.split(b"\n")
    lines[3:3] = [b"%ACL-W-GARBLED here", b"1700000000.5 abc"]
    lines.insert(50, b"<b>oops</b>")
    reply = parse_logger_reply(b"\n".join(lines))
    assert reply.rows == 100 and reply.rejects == 3
    with pytest.raises(MalformedReply, match=r"3 malformed line\(s\).*GARBLED"):
        reply.check("test")


def test_many_garbage_lines_are_all_counted() -> None:
    _, _, body = _data(10)
    reply = parse_logger_reply(body + b"junk\n" * 500)
    assert reply.rejects == 500 and len(reply.examples) == 3


def test_a_reply_without_line_ends_is_malformed_not_buffered_forever() -> None:
    _, _, body = _data(10)
    p = LoggerReplyParser(batch_bytes=1000)
    p.feed(body)
    for _ in range(50):
        p.feed(b"x" * 999)
    with pytest.raises(MalformedReply, match="endless line"):
        p.finish().check("test")


def test_data_after_the_closing_tag_is_not_dropped_silently() -> None:
    _, _, body = _data(10)
    with pytest.raises(MalformedReply, match="after the end"):
        parse_logger_reply(WRAP[0] + body + b"</pre>1700000001.0 5</body></html>").check("t")


@pytest.mark.parametrize("batch_bytes", [1000, 1 << 24])  # the tag inside a middle batch, or one
@pytest.mark.parametrize("after", [b"\n", b"<br>\n"])  # data after it on lines of their own
def test_data_lines_after_an_end_tag_inside_the_reply_are_tail_not_data(
    batch_bytes: int, after: bytes
) -> None:
    """The end tag is looked for only where it belongs and in a batch that did not parse:
    one in the middle of a reply still ends the body, and what follows is never data."""
    _, _, body = _data(300)
    middle = body.index(b"\n", len(body) // 2) + 1
    reply_bytes = WRAP[0] + body[:middle] + b"</pre>" + after + body[middle:] + WRAP[1]
    p = LoggerReplyParser(batch_bytes=batch_bytes)
    for i in range(0, len(reply_bytes), 97):
        p.feed(reply_bytes[i:i + 97])
    reply = p.finish()
    assert reply.rows == body[:middle].count(b"\n")
    with pytest.raises(MalformedReply, match="after the end"):
        reply.check("test")


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (b"<pre>No values</pre>", None),
        (b"<pre>Device not logged</pre>", DeviceNotLogged),
        (b"<pre>No values\njunk</pre>", MalformedReply),
        (b"<pre>\n1 2\n3 4</pre>5 6", TruncatedReply),
        (b"<pre>\n1 2\n</pre>5 6", MalformedReply),
    ],
)
def test_an_end_tag_split_between_reads_ends_a_last_line_without_a_line_end(
    reply: bytes, outcome: type[Exception] | None
) -> None:
    split = reply.index(b"</pre>") + 2
    p = LoggerReplyParser()
    p.feed(reply[:split])
    p.feed(reply[split:])
    result = p.finish()
    if outcome is None:
        result.check("test")
        assert result.empty_marker and result.rows == 0
    else:
        with pytest.raises(outcome):
            result.check("test")


def test_an_end_tag_in_an_event_log_header_ends_the_reply() -> None:
    body = b"<pre>\n" + EVENT_HEADER + b"</pre>\n10-MAR-2026 00:00:00.016 0.016\n</html>\n"
    reply = parse_event_reply(body)
    assert reply.rows == 0 and reply.header_lines == 5
    with pytest.raises(MalformedReply, match="after the end"):
        reply.check("test")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (b"logger_get: B:FOO is not logged on node MLrn\n", DeviceNotLogged),
        (b"<html><body>Invalid device name 'B;X'</body></html>", BadRequest),
        (b"DPM server timeout, try again later\n", GatewayErrorText),
        (b"", GatewayErrorText),
    ],
)
def test_gateway_text_becomes_a_typed_error(text: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_logger_reply(text).check("test")
    assert issubclass(GatewayErrorText, DataLoggerUnavailable)  # retried, then reported


def test_no_values_beside_data_is_malformed() -> None:
    _, _, body = _data(5)
    with pytest.raises(MalformedReply, match="marker beside 5 rows"):
        parse_logger_reply(body + b"No values\n").check("test")


def test_event_log_reply_keeps_local_wall_clock_times() -> None:
    body = EVENT_HEADER + (
        b"01-NOV-2026 01:59:59.950 12.5\n"
        b"01-NOV-2026 01:00:00.017 12.567\n"  # the clock stepped back: second pass
    )
    reply = parse_event_reply(body)
    reply.check("test")
    assert reply.columns["local"].astype("datetime64[ms]").astype(str).tolist() == [
        "2026-11-01T01:59:59.950", "2026-11-01T01:00:00.017"]
    assert reply.columns["sc_seconds"].tolist() == [12.5, 12.567]


@pytest.mark.parametrize(
    "body", [EVENT_HEADER + b"No occurrences of event\n", b"No occurrences of event\n"]
)
def test_event_log_without_occurrences(body: bytes) -> None:
    reply = parse_event_reply(body)
    reply.check("test")
    assert reply.rows == 0


@pytest.mark.parametrize("header", [0, 1, 5, 6, 7])
@pytest.mark.parametrize("wrap", [(b"", b""), WRAP], ids=["plain", "html"])
def test_event_log_data_lines_are_told_by_their_form(
    header: int, wrap: tuple[bytes, bytes]
) -> None:
    """However many header lines come first, every occurrence is kept and the count noted
    (the old EventDataGrabber's skiprows=5 lost the first occurrence after a 6th line)."""
    head = b"".join(b"header line %d: Date Time SC\n" % i for i in range(header))
    data = b"10-MAR-2026 00:00:00.016 0.016\n10-MAR-2026 00:00:00.083 0.083\n"
    p = EventLogParser(batch_bytes=40)  # the header spread over several batches
    p.feed(wrap[0] + head + data + wrap[1])
    reply = p.finish()
    reply.check("test")
    assert reply.rows == 2 and reply.header_lines == header
    assert reply.columns["sc_seconds"].tolist() == [0.016, 0.083]


def test_event_log_text_after_the_data_is_malformed() -> None:
    body = EVENT_HEADER + b"10-MAR-2026 00:00:00.016 0.016\nDate Time SC\n"
    with pytest.raises(MalformedReply, match="1 malformed"):
        parse_event_reply(body).check("test")


def test_event_log_bad_time_is_counted() -> None:
    body = EVENT_HEADER + b"10-MAR-2026 00:00:00.016 0.016\n10-MAR-2026 25:61:00.083 0.083\n"
    reply = parse_event_reply(body)
    assert reply.rows == 1 and reply.rejects == 1


def test_read_reply() -> None:
    assert parse_read_reply(b"60.066666\n", "r") == 60.066666
    assert parse_read_reply(b"<html><body><pre>\n12.5\n</pre></body></html>", "r") == 12.5
    with pytest.raises(DeviceNotLogged):
        parse_read_reply(b"read: no such device 'G:XYZ'\n", "r")


def test_timeline_table_round_trips() -> None:
    entries = [TimelineEntry(0, 0x00, 0.0), TimelineEntry(1, 0x11, 0.018),
               TimelineEntry(2, 0xE3, 0.204), TimelineEntry(3, 0xF1, 60.055)]
    text = format_timeline_table(entries, NOMINAL_TICK_S,
                                 {0: "Supercycle start", 0xF1: "Clear $0E"})
    assert parse_timeline_table(text.encode()) == entries
    assert parse_timeline_table((WRAP[0].decode() + text + WRAP[1].decode()).encode()) == entries


def test_timeline_table_reads_as_the_old_timeline_logger_read_it() -> None:
    """Our table through the old script's exact call: one header line skipped, column 3 the
    event (hex), column 10 the offset into the supercycle."""
    entries = SimulatedBooster().timeline()
    text = format_timeline_table(entries, NOMINAL_TICK_S, known_events())
    old = pd.read_fwf(io.StringIO(text), skiprows=1, header=None, usecols=[3, 10])
    assert [int(str(e), 16) for e in old[3]] == [e.event for e in entries]
    assert old[10].tolist() == [e.sc_time for e in entries]
    assert parse_timeline_table(text.encode()) == entries


REAL_LIKE = (
    "ROW TLG  TK EVT ST MD   DLY R M C     TIME  DESCRIPTION\n"
    "  0 BTLG  0  00 ON NM 0.000 N 1 0 0.000000  Beginning of super cycle\n"
    "  1 BTLG  0  $11 ON NM 18.0 Y 1 0 0.018000\n"
)


def test_timeline_rows_are_split_at_whitespace() -> None:
    assert parse_timeline_table(REAL_LIKE.encode()) == [TimelineEntry(0, 0x00, 0.0),
                                                        TimelineEntry(1, 0x11, 0.018)]


@pytest.mark.parametrize(
    ("row", "why"),
    [("  2 BTLG  1  0C ON NM 0.0 N 1 0.066667\n", "10 columns"),
     ("  2 BTLG  1  XY ON NM 0.0 N 1 0 0.066667\n", "not hex"),
     ("  2 BTLG  1  0C ON NM 0.0 N 1 0 soon\n", "no time")],
)
def test_a_timeline_row_that_cannot_be_read_fails_the_reply(row: str, why: str) -> None:
    with pytest.raises(MalformedReply, match="1 row"):
        parse_timeline_table((REAL_LIKE + row).encode())


def test_timeline_error_text() -> None:
    with pytest.raises(GatewayErrorText):
        parse_timeline_table(b"TLG service unavailable\n")


@pytest.mark.parametrize("bad", [b"nan", b"inf", b"-inf"])
def test_a_time_that_is_no_finite_number_is_a_malformed_line(bad: bytes) -> None:
    """Read fast as a float, such a time must still send the batch the line-by-line way."""
    _, _, body = _data(50)
    lines = body.splitlines(keepends=True)
    lines[20] = bad + b" 1.5\n"
    with pytest.raises(MalformedReply, match="1 malformed line"):
        parse_logger_reply(b"".join(lines)).check("test")


def test_huge_finite_times_whose_sum_overflows_are_kept_exactly() -> None:
    """The fast path's finiteness test sums the times; an overflowing sum only takes the
    line-by-line way, which keeps every (finite) row."""
    t = np.array([1.7e308, 1.7e308, 1.0])
    body = b"".join(b"%r %r\n" % (float(x), float(i)) for i, x in enumerate(t))
    cols = _ok(body)
    assert np.array_equal(cols["utc_seconds"], t) and cols["value"].tolist() == [0.0, 1.0, 2.0]
