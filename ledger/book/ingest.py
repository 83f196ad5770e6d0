"""Batch ingest of signed transactions from JSON lines.

Reads lines as they come (bounded memory) and hands them to the book in
chunks: the book's workers parse each chunk's lines and check their
signatures on every core while the book decides on and writes an earlier
chunk, one database transaction per chunk, not one per line. A bad line is
reported by its number and the good ones still post; because ids are
idempotency keys, running the same file again after a crash posts exactly
what had not landed.

A database that goes away for a while (a failover) is waited out by the
store, chunk by chunk: the chunk whose transaction failed runs again once a
server takes it, and the batch goes on from there. When the store gives up
(or the disk is full, or the database fails otherwise), the error says how
far the batch got: lines posted, duplicates and refused before it, and how
many lines from which line on were not tried.
"""

from __future__ import annotations

import gc
import os
import stat
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from wonledger.book.writer import Book, Prepared
from wonledger.domain.errors import LedgerError, StorageError

#: Non-blank lines per chunk: one database transaction each.
CHUNK = 1000
#: Chunks handed to the workers ahead of the one being written, when the input is a regular file:
#: enough that the workers never wait for the writer nor the writer for them; at most this many plus
#: one are held in memory.
AHEAD = 2
#: The same for input that may pause (a pipe, a terminal, any iterable): a chunk is written as soon
#: as the next one has been read, so that a producer that stops writing (and keeps its end open)
#: never leaves more than one whole chunk read and uncommitted. Reading further ahead would hold a
#: finished chunk back until input that may never come.
AHEAD_OF_PAUSING_INPUT = 1
#: Allocations between young-generation collections while a batch is ingested (Python's default is 700).
#: A chunk's parsed lines, state and rows are tens of thousands of objects that live until it is
#: written, so at the default the collector runs hundreds of times per batch, walks them and frees
#: nothing: about a tenth of submit's time in the main process. Cycles are still collected.
GC_YOUNG_THRESHOLD = 50_000


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    code: str
    message: str

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "code": self.code, "message": self.message}


@dataclass(slots=True)
class IngestResult:
    posted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    #: when the batch stopped on a database failure: the non-blank lines not tried, from ``resume_line`` on
    not_tried: int = 0
    resume_line: int | None = None

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.not_tried

    def to_json(self) -> dict[str, object]:
        done: dict[str, object] = {"posted": self.posted, "duplicates": self.duplicates, "rejected": [r.to_json() for r in self.rejected]}
        if self.resume_line is not None:
            done.update(not_tried=self.not_tried, resume_line=self.resume_line)
        return done


class IngestInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped an ingest; ``result`` counts what had committed before it.

    The chunk in flight was rolled back whole, so running the same batch again
    posts exactly the rest (what had landed comes back as duplicates).
    """

    def __init__(self, result: IngestResult) -> None:
        super().__init__(f"interrupted after {result.posted} posted")
        self.result = result


def ingest(
    book: Book,
    lines: Iterable[bytes | str],
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Submit every non-blank line; ``progress`` is told how many bytes each chunk consumed.

    A pipeline: while the book applies one chunk (in the database), the next
    ones are being parsed and their signatures checked by its workers on the
    other cores. At most ``AHEAD + 1`` chunks are held in memory, whatever the
    input's size; input that may pause (a pipe) is read only one chunk ahead,
    so what was sent before a pause commits without waiting for more.
    """
    result = IngestResult()
    ahead = AHEAD if _is_regular_file(lines) else AHEAD_OF_PAUSING_INPUT
    source = _CountedLines(lines)
    waiting: deque[tuple[list[int], Prepared, int]] = deque()
    uncommitted: list[int] = []  # the first line of each chunk read and not yet committed, oldest first

    def apply(numbers: list[int], prepared: Prepared, consumed: int) -> None:
        outcomes = book.submit_prepared(prepared)
        uncommitted.pop(0)
        for number, outcome in zip(numbers, outcomes, strict=True):
            if isinstance(outcome, LedgerError):
                result.rejected.append(Rejection(number, outcome.code, outcome.message))
            elif outcome.duplicate:
                result.duplicates += 1
            else:
                result.posted += 1
        if progress and consumed:
            progress(consumed)

    try:
        with _fewer_collections():
            for first, numbers, raw, consumed in _chunks(source, chunk):
                uncommitted.append(first)
                waiting.append((numbers, book.prepare_lines(raw), consumed))
                if len(waiting) > ahead:
                    apply(*waiting.popleft())
            while waiting:
                apply(*waiting.popleft())
    except KeyboardInterrupt:
        result.rejected.sort(key=lambda r: r.line)
        raise IngestInterrupted(result) from None
    except StorageError as exc:
        raise _stopped(exc, result, uncommitted[0] if uncommitted else source.read + 1, source) from None
    result.rejected.sort(key=lambda r: r.line)
    return result


def _is_regular_file(lines: object) -> bool:
    """Whether ``lines`` is an open regular file, which never pauses (stdin redirected from a file is one)."""
    fileno = getattr(lines, "fileno", None)
    if fileno is None:
        return False
    try:
        return stat.S_ISREG(os.fstat(fileno()).st_mode)
    except (OSError, ValueError):
        return False


class _CountedLines:
    """The batch's lines, counted as they are read (``read``: lines, ``filled``: non-blank ones), so a stop can say what was left."""

    def __init__(self, lines: Iterable[bytes | str]) -> None:
        self._lines = iter(lines)
        self.read = 0
        self.filled = 0

    def __iter__(self) -> Iterator[bytes | str]:
        for line in self._lines:
            self.read += 1
            if line.strip():
                self.filled += 1
            yield line

    def count_rest(self) -> None:
        for _ in self:
            pass


def _stopped(exc: StorageError, result: IngestResult, resume_line: int, source: _CountedLines) -> StorageError:
    """``exc`` again, saying how far the batch got; its ``result`` counts the lines from ``resume_line`` on as not tried.

    Lines from there on that were refused before the database was asked (a
    malformed line in the chunk read ahead) are counted as not tried: the
    run that posts the rest reports them.
    """
    result.rejected = sorted((r for r in result.rejected if r.line < resume_line), key=lambda r: r.line)
    source.count_rest()
    result.not_tried = source.filled - result.posted - result.duplicates - len(result.rejected)
    result.resume_line = resume_line
    left = f"{result.not_tried:,} line(s) from line {resume_line:,} on were not tried" if result.not_tried else "every line was tried"
    stopped = type(exc)(
        f"{exc.message}. The batch stopped: {result.posted:,} line(s) had posted, {result.duplicates:,} were duplicates "
        f"and {len(result.rejected):,} were refused before it; {left}",
        hint="resubmit",
    )
    stopped.result = result
    return stopped


#: Batches being ingested in this process (on any thread) and the thresholds from before the first.
_batches = 0
_thresholds_before: tuple[int, int, int] = gc.get_threshold()
_batches_lock = threading.Lock()


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """The collector's young generation at :data:`GC_YOUNG_THRESHOLD` while any batch runs, then as it was.

    The thresholds are the whole process's: counted, so that batches ingested
    on several threads at once restore them only when the last one ends.
    """
    global _batches, _thresholds_before
    with _batches_lock:
        if _batches == 0:
            _thresholds_before = gc.get_threshold()
            young, middle, old = _thresholds_before
            gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), middle, old)
        _batches += 1
    try:
        yield
    finally:
        with _batches_lock:
            _batches -= 1
            if _batches == 0:
                gc.set_threshold(*_thresholds_before)


def _chunks(lines: Iterable[bytes | str], size: int) -> Iterator[tuple[int, list[int], list[bytes | str], int]]:
    """Non-blank lines in chunks of ``size``, as read: (first line read, line numbers, lines, bytes read)."""
    numbers: list[int] = []
    batch: list[bytes | str] = []
    consumed = 0
    first = 1
    for number, line in enumerate(lines, 1):
        consumed += len(line)
        if not line.strip():
            continue
        batch.append(line)
        numbers.append(number)
        if len(batch) >= size:
            yield first, numbers, batch, consumed
            numbers, batch, consumed, first = [], [], 0, number + 1
    if batch or consumed:
        yield first, numbers, batch, consumed
