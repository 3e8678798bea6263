"""Parsing ACL web-gateway replies: streaming, vectorised, and loud about anything odd.

A device-day `logger_get` reply is tens of megabytes of `<utc seconds> <value>` lines, so replies
are fed in as they arrive and parsed in batches of complete lines with polars: first the fast
CSV reader, and only when a batch does not parse cleanly, a line-by-line regex pass that tells good
lines from bad ones. Nothing is dropped quietly:

- an HTML wrapper (`<html>...<pre>` ... `</pre>...`) is stripped, at the head and the tail only;
- `No values` / `No occurrences of event` are the only ways to say "empty";
- a reply with data and some lines that are not data is `MalformedReply` (counted, with examples);
- a reply that stops inside its last line is `TruncatedReply`, in every wrapping: data ends with
  a newline, and a closing HTML tag right after a data line without one does not end it;
- a reply with no data at all and some other text is the gateway's error message: `DeviceNotLogged`
  or `BadRequest` when the text says so, otherwise `GatewayErrorText`.

The `Acl*Error` types subclass `DataLoggerUnavailable`: the client retries them, then reports them.

This module also defines the `tlg_info/all_event_info` table layout (`TLG_COLUMNS`) and reads it:
the layout the old Timeline_Logger.py read from the real gateway, with column names of our own
(docs/gateway.md); the local gateway (sim/acl_server.py) writes the same one.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from gmpsai_assets.acnet.datalogger import (
    BadRequest,
    DataLoggerError,
    DataLoggerUnavailable,
    DeviceNotLogged,
)
from gmpsai_assets.acnet.tclk import (
    TimelineEntry,
    local_event_times,
    parse_event,
)

NO_VALUES = "No values"
NO_OCCURRENCES = "No occurrences of event"

BATCH_BYTES = 16 << 20  # parse in batches of about this many bytes of complete lines
HEAD_LIMIT = 64 << 10  # look this far for the start of an HTML-wrapped body
MAX_EXAMPLES = 3  # rejected lines quoted in an error message
MAX_TEXT_LINES = 20  # non-data lines kept to quote a gateway error text


class AclReplyError(DataLoggerUnavailable):
    """A reply that is not what the command promises (worth retrying, then worth reporting)."""


class MalformedReply(AclReplyError):
    """Lines that are not data, mixed into a data reply."""


class TruncatedReply(AclReplyError):
    """A reply that stopped in the middle of its last line."""


class GatewayErrorText(AclReplyError):
    """The gateway answered with text (an error message) instead of data."""


_NOT_LOGGED_RE = re.compile(r"not logged|no such device|dio_no_such|unknown device", re.I)
_BAD_REQUEST_RE = re.compile(r"syntax|invalid|illegal|bad (?:qualifier|argument|date|time)", re.I)


def classify_error_text(text: str) -> DataLoggerError:
    """The typed error for a gateway error message; unknown text is worth a retry."""
    text = " ".join(text.split())[:300]
    if _NOT_LOGGED_RE.search(text):
        return DeviceNotLogged(f"gateway: {text}")
    if _BAD_REQUEST_RE.search(text):
        return BadRequest(f"gateway: {text}")
    return GatewayErrorText(f"gateway answered with text instead of data: {text!r}")


# ---- HTML unwrapping -------------------------------------------------------------------------

_PRE_RE = re.compile(rb"<pre\b[^>]*>", re.I)
_BODY_RE = re.compile(rb"<body\b[^>]*>", re.I)
_LEADING_TAGS_RE = re.compile(rb"^\s*(?:<[^>]*>\s*)+")
_END_RE = re.compile(rb"</(?:pre|body|html)\b", re.I)
_TAG_RE = re.compile(r"<[^>]*>")


class _Unwrapper:
    """Turns a reply byte stream into its body: plain text passes, HTML loses its head. The end
    of an HTML body is found by the caller (`close`), which knows where to look for it."""

    def __init__(self) -> None:
        self.html = False
        self.closed = False  # an HTML end tag was seen: the body is known to be complete
        self._decided = False
        self._head = bytearray()
        self.tail = bytearray()  # what followed the end tag (must be markup only)

    def feed(self, data: bytes, final: bool = False) -> bytes:
        if not self._decided:
            self._head += data
            body = self._decide(final)
            if body is None:
                return b""
            data = body
        if self.closed:
            self._keep_tail(data)
            return b""
        return data

    def _decide(self, final: bool) -> bytes | None:
        """Once enough of the head is here: plain text, or where the HTML body starts."""
        head = bytes(self._head)
        stripped = head.lstrip()
        if not stripped and not final:
            return None
        if not stripped.startswith(b"<"):
            self._decided = True
            self._head = bytearray()
            return head
        m = _PRE_RE.search(head)
        if m is None and not final and len(head) < HEAD_LIMIT:
            return None  # a <pre> may still come
        m = m or _BODY_RE.search(head) or _LEADING_TAGS_RE.match(head)
        self._decided, self.html = True, True
        self._head = bytearray()
        return head[m.end():] if m else head

    def close(self, *after: bytes) -> None:
        """The body ended at an end tag the caller found; `after` is what followed it (before
        any tail an end tag found later in the reply had already taken)."""
        self.closed = True
        held, self.tail = bytes(self.tail), bytearray()
        for data in (*after, held):
            self._keep_tail(data)

    def _keep_tail(self, data: bytes) -> None:
        if len(self.tail) < HEAD_LIMIT:
            self.tail += data[: HEAD_LIMIT - len(self.tail)]

    def tail_text(self) -> str:
        """Text (not markup) after the end tag: data there would otherwise be lost."""
        text = _TAG_RE.sub("", bytes(self.tail).decode("utf-8", "replace"))
        return html.unescape(text).strip()


def _markup_tail(buf: bytes) -> int:
    """Where the trailing lines that hold a `<` begin (an HTML reply's end tag is there)."""
    end = len(buf)
    while end:
        start = buf.rfind(b"\n", 0, end - 1) + 1
        if buf.find(b"<", start, end) < 0:
            return end
        end = start
    return 0


def unwrap_text(body: bytes) -> str:
    """A whole small reply as plain text (HTML wrapper and tags removed, entities decoded)."""
    u = _Unwrapper()
    body = u.feed(body, final=True)
    if u.html:
        m = _END_RE.search(body)  # (what follows the end tag is dropped)
        text = body[: m.start() if m else len(body)].decode("utf-8", "replace")
        return html.unescape(_TAG_RE.sub("", text)).strip()
    return body.decode("utf-8", "replace").strip()


# ---- line tables ---------------------------------------------------------------------------


@dataclass
class TableReply:
    """What a data reply held: parsed columns plus an account of every other line."""

    columns: dict[str, np.ndarray]
    rows: int
    empty_marker: bool  # the reply said `No values` / `No occurrences of event`
    rejects: int  # non-blank lines that are neither data nor the empty marker
    examples: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # the first non-data lines, for messages
    truncated: str | None = None  # the partial last line, if the reply stopped inside it
    tail: str = ""  # text after the closing HTML tag
    header_lines: int = 0  # non-blank lines before the first data line (header by form)

    def check(self, what: str) -> None:
        """Raise the typed error this reply amounts to, if it is not a clean data reply."""
        if self.truncated is not None:
            raise TruncatedReply(
                f"{what}: reply truncated inside its last line {self.truncated[:60]!r} "
                f"after {self.rows} rows"
            )
        if self.tail:
            raise MalformedReply(f"{what}: text after the end of the reply: {self.tail[:80]!r}")
        if self.rows == 0 and not self.empty_marker:
            if not self.text:
                raise GatewayErrorText(f"{what}: empty reply (no data and no 'no data' message)")
            raise classify_error_text("\n".join(self.text))
        if self.rows and self.empty_marker:
            raise MalformedReply(f"{what}: an empty-reply marker beside {self.rows} rows")
        if self.rejects:
            raise MalformedReply(
                f"{what}: {self.rejects} malformed line(s) in reply "
                f"(first: {', '.join(repr(e[:60]) for e in self.examples)})"
            )


class _TableParser:
    """Streaming parser for line replies of a fixed number of whitespace-separated fields."""

    empty_text: str = ""
    header_by_form: bool = False  # lines before the first data-shaped line are a header
    names: tuple[str, ...] = ()
    line_re: re.Pattern[str] = re.compile(r"$^")

    def __init__(self, batch_bytes: int = BATCH_BYTES) -> None:
        self._unwrap = _Unwrapper()  # (its end tag is found per batch, below)
        self._pieces: list[bytes] = []  # body bytes not parsed yet (joined once per batch)
        self._started = False  # a body byte other than a line end was seen
        self._pending = 0
        self._batch_bytes = batch_bytes
        self._in_header = self.header_by_form
        self.header_lines = 0
        self._parts: dict[str, list[np.ndarray]] = {n: [] for n in self.names}
        self.rows = 0
        self.rejects = 0
        self.examples: list[str] = []
        self.text: list[str] = []
        self.empty_marker = False

    def feed(self, data: bytes) -> None:
        body = self._unwrap.feed(data)
        if body and not self._started:  # line ends before the first line (after `<pre>`) are
            body = body.lstrip(b"\r\n")  # stripped here, in a small piece, not in a batch
            self._started = bool(body)
        if body:
            self._pieces.append(body)
            self._pending += len(body)
        if self._pending >= self._batch_bytes:
            self._complete_lines()

    def _complete_lines(self) -> None:
        """Parse the complete lines held, copied once: the pieces up to the one with the last
        line end are joined, and only that piece is cut."""
        pieces = self._pieces
        i = len(pieces) - 1
        while i >= 0 and (cut := pieces[i].rfind(b"\n") + 1) == 0:
            i -= 1
        if i < 0:  # a batch without one line end: not a line reply, and no end to wait for
            joined = b"".join(pieces)
            self._pieces, self._pending = [], 0
            line = self._cut_at_end_tag(joined, anywhere=True)
            if line is not joined:  # the reply ended inside this line: `finish` judges it
                self._pieces, self._pending = [line], len(line)
                return
            self._reject(joined[:60].decode("utf-8", "replace"), "endless line: ")
            return
        last = pieces[i]
        rest = [last[cut:]] if cut < len(last) else []
        self._pieces = rest + pieces[i + 1:]
        self._pending = sum(len(p) for p in self._pieces)
        self._batch(b"".join([*pieces[:i], last if not rest else last[:cut]]))

    def finish(self) -> TableReply:
        self._pieces.append(self._unwrap.feed(b"", final=True))
        pieces = [p for p in self._pieces if p]
        self._pieces, self._pending = [], 0
        # An end tag where it belongs, in the last lines, is as a rule cut off the last two
        # pieces before they are joined with the others (no copy of the joined batch).
        last = self._cut_at_end_tag(b"".join(pieces[-2:]))
        joined = b"".join([*pieces[:-2], last]) if len(pieces) > 2 else last
        cut = joined.rfind(b"\n") + 1
        self._pieces = [joined[cut:]]
        if cut:
            self._batch(joined[:cut])  # (an end tag found in it makes the rest tail)
        rest, self._pieces = b"".join(self._pieces), []
        rest = self._cut_at_end_tag(rest, anywhere=True)  # one split over more pieces
        truncated = None
        text = self._clean(rest.decode("utf-8", "replace")) if rest.strip() else ""
        if text:  # (markup alone, such as a trailing `<br>`, is no line)
            if self.rows or self._is_data(text):
                # data stopped inside a line; a closing HTML tag after it does not complete it
                truncated = rest.decode("utf-8", "replace")
            else:
                self._batch(rest + b"\n")  # a message without a newline (`No values`, an error)
        columns = {  # one part (a reply of one batch) is taken as it is, not copied
            n: (p[0] if len(p) == 1 else np.concatenate(p)) if p else np.empty(0, self._dtype(n))
            for n, p in self._parts.items()
        }
        return TableReply(
            columns, self.rows, self.empty_marker, self.rejects, self.examples, self.text,
            truncated, self._unwrap.tail_text(), self.header_lines,
        )

    # ---- per batch ----------------------------------------------------------------------

    def _batch(self, batch: bytes) -> None:
        # An HTML end tag is looked for in the last lines (where it is) and in a header;
        # elsewhere only if the batch did not parse: `<` makes any data line fail the reader.
        batch = self._lines_before_end_tag(batch, anywhere=self._in_header)
        if self._in_header:
            batch = self._skip_header(batch)
        if not batch:
            return
        if batch[:1] in (b"\r", b"\n"):  # as after `<pre>`: nothing to account for
            batch = batch.lstrip(b"\r\n")  # (a copy: the first body piece is stripped in feed)
        if not batch:
            return
        parsed = self._fast(batch)  # tags (`<br>`) or anything odd: the line-by-line pass
        if parsed is None and self._unwrap.html:
            ended = self._lines_before_end_tag(batch, anywhere=True)
            if ended is not batch:
                batch = ended
                parsed = self._fast(batch) if batch else None
        if parsed is not None:
            self._keep(parsed)
            return
        if batch:
            self._robust(batch)

    def _cut_at_end_tag(self, buf: bytes, anywhere: bool = False) -> bytes:
        """`buf` up to an HTML end tag, if one is there; what follows it (and every byte held
        after `buf`) becomes the tail. Looked for in the trailing lines that hold a `<` unless
        `anywhere`: a scan of every byte is what this avoids. (An earlier end tag than one
        already found may still turn up: it ends the body there.)"""
        if not self._unwrap.html:
            return buf
        m = _END_RE.search(buf, 0 if anywhere else _markup_tail(buf))
        if m is None:
            return buf
        self._unwrap.close(buf[m.start():], *self._pieces)
        self._pieces, self._pending = [], 0
        return buf[: m.start()]

    def _lines_before_end_tag(self, batch: bytes, anywhere: bool) -> bytes:
        """A batch of whole lines cut at an end tag: the whole lines before it; a part line
        before the tag is held as the reply's last line (`finish` judges it)."""
        body = self._cut_at_end_tag(batch, anywhere)
        if body is batch:
            return batch
        cut = body.rfind(b"\n") + 1
        self._pieces, self._pending = [body[cut:]], len(body) - cut
        return body[:cut]

    def _skip_header(self, batch: bytes) -> bytes:
        """Count and keep the text of the lines before the first data-shaped line, however
        many there are: the number of header lines of a real reply is not known for sure."""
        while self._in_header and batch:
            line, nl, rest = batch.partition(b"\n")
            text = self._clean(line.decode("utf-8", "replace"))
            if self._is_data(text):
                self._in_header = False
                break
            batch = rest if nl else b""
            if not text:
                continue
            if text == self.empty_text:
                self.empty_marker = True
                self._in_header = False
            else:
                self.header_lines += 1
                self._note_text(text)
        return batch

    def _robust(self, batch: bytes) -> None:
        """Line by line (vectorised): keep what parses, count and quote what does not."""
        lines = pl.Series("line", batch.decode("utf-8", "replace").split("\n")[:-1])
        if self._unwrap.html:
            lines = lines.str.replace_all(r"<[^>]*>", "")
        lines = lines.str.strip_chars()
        lines = lines.filter(lines != "")
        if lines.is_empty():
            return
        fields = lines.str.extract_groups(self.line_re.pattern).struct.unnest()
        fields.columns = list(self.names)
        converted, ok = self._convert(fields)
        if ok.all():
            self._keep(converted)
            return
        self._keep({k: v[ok] for k, v in converted.items()})
        bad = lines.filter(pl.Series(~ok))
        for text in bad.head(MAX_TEXT_LINES).to_list():
            text = html.unescape(text)
            if text == self.empty_text:
                self.empty_marker = True
            else:
                self._reject(text)
        self.rejects += max(0, bad.len() - MAX_TEXT_LINES)

    def _is_data(self, text: str) -> bool:
        """Does this one (cleaned) line have the form of a data line?"""
        m = self.line_re.match(text)
        if m is None:
            return False
        fields = pl.DataFrame([pl.Series(n, [g]) for n, g in zip(self.names, m.groups(),
                                                                  strict=True)])
        return bool(self._convert(fields)[1].all())

    def _reject(self, text: str, prefix: str = "") -> None:
        self.rejects += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(prefix + text)
        self._note_text(text)

    def _note_text(self, text: str) -> None:
        if len(self.text) < MAX_TEXT_LINES:
            self.text.append(text)

    def _keep(self, parsed: dict[str, np.ndarray | list[np.ndarray]]) -> None:
        """Keep a batch's columns: arrays, or lists of the arrays of a column's chunks (the
        reader's, joined once in `finish`)."""
        first = next(iter(parsed.values()))
        n = sum(map(len, first)) if isinstance(first, list) else len(first)
        if not n:
            return
        for k, v in parsed.items():
            if isinstance(v, list):
                self._parts[k].extend(v)
            else:
                self._parts[k].append(v)
        self.rows += n

    def _clean(self, text: str) -> str:
        if self._unwrap.html:
            text = html.unescape(_TAG_RE.sub("", text))
        return text.strip()

    # ---- per kind -----------------------------------------------------------------------

    def _fast(self, batch: bytes) -> dict[str, np.ndarray] | None:
        raise NotImplementedError

    def _convert(self, fields: pl.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Typed columns from the regex fields, and which lines gave valid rows."""
        raise NotImplementedError

    def _dtype(self, name: str) -> type:
        return np.float64


def _read_fields(batch: bytes, schema: dict[str, pl.DataType]) -> pl.DataFrame | None:
    """polars' CSV reader over a batch, or None unless every line gave every field."""
    try:
        df = pl.read_csv(  # (its chunks are kept as they are: `finish` joins them once)
            batch, has_header=False, separator=" ", schema=schema, quote_char=None,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError:
        return None
    if any(column.null_count() for column in df.iter_columns()):  # (kept by each column)
        return None  # missing fields, blank lines: let the line-by-line pass account for
        # every line (a reader that skipped blank lines would lose no data line either: the
        # line-by-line pass drops them too, so no count of lines is needed)
    return df


def _chunks(column: pl.Series) -> list[np.ndarray]:
    """A column's chunks as numpy arrays, uncopied (numbers without nulls)."""
    return [chunk.to_numpy() for chunk in column.get_chunks()]


class LoggerReplyParser(_TableParser):
    """`logger_get/date_format='utc_seconds'`: `<utc seconds> <value>` per line."""

    empty_text = NO_VALUES
    names = ("utc_seconds", "value")
    line_re = re.compile(r"^(\S+)\s+(\S+)$")

    def _fast(self, batch: bytes) -> dict[str, np.ndarray] | None:
        df = _read_fields(batch, {"utc_seconds": pl.Float64, "value": pl.Float64})
        if df is None:
            return None
        t, v = (_chunks(df[n]) for n in self.names)
        # A NaN or infinite time makes its chunk's sum one (a sum too large for a float64 only
        # sends a good batch the slow way): one pass, no array of flags.
        with np.errstate(over="ignore"):
            if not all(math.isfinite(np.add.reduce(c)) for c in t):
                return None
        return {"utc_seconds": t, "value": v}

    def _convert(self, fields: pl.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
        df = fields.select(pl.all().cast(pl.Float64, strict=False))
        # a value may be NaN (logged as such); a timestamp may not, and nothing may be missing
        ok = df.select(
            pl.col("utc_seconds").is_finite().fill_null(False) & pl.col("value").is_not_null()
        ).to_series().to_numpy()
        return {n: df[n].to_numpy().astype(np.float64) for n in self.names}, ok


class EventLogParser(_TableParser):
    """`event_log`: header lines, then `<DD-MON-YYYY> <HH:MM:SS.fff> <seconds into supercycle>`.

    Data lines are told by their form, never by a count of header lines: every non-blank line
    before the first data line is header (counted in `TableReply.header_lines`), and any line
    after it that is not data is a malformed line.

    Times stay local wall-clock (naive datetime64[ms]); turning them into UTC needs the whole
    sequence, because the repeated hour at the end of DST is only told apart by order.
    """

    empty_text = NO_OCCURRENCES
    header_by_form = True
    names = ("local", "sc_seconds")
    line_re = re.compile(r"^(\d{1,2}-[A-Za-z]{3}-\d{4}\s+\d{1,2}:\d{2}:\d{2}(?:\.\d+)?)\s+(\S+)$")

    def _fast(self, batch: bytes) -> dict[str, np.ndarray] | None:
        df = _read_fields(batch, {"date": pl.String, "time": pl.String, "sc": pl.Float64})
        if df is None:
            return None
        stamp = df.select(pl.concat_str(["date", "time"], separator=" ")).to_series()
        local = local_event_times(stamp, strict=False)
        if local.null_count():
            return None
        return {"local": local.to_numpy(), "sc_seconds": df["sc"].to_numpy()}

    def _convert(self, fields: pl.DataFrame) -> tuple[dict[str, np.ndarray], np.ndarray]:
        local = local_event_times(fields["local"].str.replace_all(r"\s+", " "), strict=False)
        sc = fields["sc_seconds"].cast(pl.Float64, strict=False)
        ok = (local.is_not_null() & sc.is_finite().fill_null(False)).to_numpy()
        return {"local": local.to_numpy(), "sc_seconds": sc.to_numpy().astype(np.float64)}, ok

    def _dtype(self, name: str) -> type:
        return np.dtype("datetime64[ms]") if name == "local" else np.float64


def parse_logger_reply(body: bytes) -> TableReply:
    """A whole `logger_get` reply at once (tests and small replies)."""
    p = LoggerReplyParser()
    p.feed(body)
    return p.finish()


def parse_event_reply(body: bytes) -> TableReply:
    """A whole `event_log` reply at once (tests and small replies)."""
    p = EventLogParser()
    p.feed(body)
    return p.finish()


def parse_read_reply(body: bytes, what: str) -> float:
    """`read/no_name/no_units`: one number and nothing else."""
    text = unwrap_text(body)
    try:
        return float(text)
    except ValueError:
        pass
    if not text:
        raise GatewayErrorText(f"{what}: empty reply")
    raise classify_error_text(text)


# ---- the timeline table ----------------------------------------------------------------------

# `tlg_info/all_event_info`. What is known (from the old Timeline_Logger.py, which read the real
# gateway with `pandas.read_fwf(skiprows=1, header=None, usecols=[3, 10])`): one header line,
# then one fixed-width row per timeline entry with at least 11 columns, column 3 the event (hex)
# and column 10 its offset into the supercycle in seconds. Everything else below is our guess:
# the names and contents of the other columns, the header text, the trailing description, and
# whether the event is written `0C` or `$0C` (both are read). docs/gateway.md says the same.
TLG_COLUMNS = (  # (name, width, align); columns 3 and 10 are the known ones
    ("ENTRY", 5, ">"), ("TLG", 4, "<"), ("TICK", 4, ">"), ("EVENT", 5, ">"),
    ("STATE", 5, "<"), ("MODE", 4, "<"), ("DELAY_MS", 8, ">"), ("RESET", 5, "<"),
    ("MULT", 4, ">"), ("COUNT", 5, ">"), ("TIME_S", 10, ">"), ("DESCRIPTION", 11, "<"),
)
TLG_EVENT_COLUMN, TLG_TIME_COLUMN = 3, 10
TLG_MIN_COLUMNS = 11


def parse_timeline_table(body: bytes, what: str = "tlg_info") -> list[TimelineEntry]:
    """Entries of a `tlg_info/all_event_info` reply, in row order (the row is the entry's
    index). Rows are split at whitespace, not at character offsets: the columns up to 10 are
    single words in every row seen (ours), while widths are not known; a row with fewer than
    11 fields, or a column 3 or 10 that does not parse, fails the whole reply."""
    lines = [ln for ln in unwrap_text(body).splitlines() if ln.strip()]
    if len(lines) < 2:  # a table has its header line and at least one entry
        raise classify_error_text("\n".join(lines) or f"{what}: empty reply")
    entries, bad = [], []
    for index, line in enumerate(lines[1:]):
        fields = line.split()
        try:
            if len(fields) < TLG_MIN_COLUMNS:
                raise ValueError(f"{len(fields)} columns")
            event = parse_event(fields[TLG_EVENT_COLUMN])
            sc_time = float(fields[TLG_TIME_COLUMN])
            if not math.isfinite(sc_time) or sc_time < 0:
                raise ValueError(f"offset {sc_time}")
        except ValueError:
            bad.append(line)
            continue
        entries.append(TimelineEntry(index, event, sc_time))
    if bad and not entries:
        raise classify_error_text("\n".join(lines[:MAX_TEXT_LINES]))
    if bad:
        raise MalformedReply(
            f"{what}: {len(bad)} row(s) without an event in column 3 and a time in column 10 "
            f"(first: {bad[0].strip()[:80]!r})"
        )
    return entries
