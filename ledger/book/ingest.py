"""Batch ingest of signed transactions from JSON lines.

Reads lines as they come (bounded memory) and hands them to the book in
chunks: the book's workers parse each chunk's lines and check their
signatures on every core while the book decides on and writes an earlier
chunk, one database transaction per chunk, not one per line. A bad line is
reported by its number and the good ones still post; because ids are
idempotency keys, running the same file again after a crash posts exactly
what had not landed.
"""

from __future__ import annotations

import gc
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from wonledger.book.writer import Book, Prepared
from wonledger.domain.errors import LedgerError

#: Non-blank lines per chunk: one database transaction each.
CHUNK = 1000
#: Chunks handed to the workers ahead of the one being written: enough that the workers never wait
#: for the writer nor the writer for them; at most this many plus one are held in memory.
AHEAD = 2
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

    @property
    def ok(self) -> bool:
        return not self.rejected

    def to_json(self) -> dict[str, object]:
        return {"posted": self.posted, "duplicates": self.duplicates, "rejected": [r.to_json() for r in self.rejected]}


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
    input's size.
    """
    result = IngestResult()
    waiting: deque[tuple[list[int], Prepared, int]] = deque()

    def apply(numbers: list[int], prepared: Prepared, consumed: int) -> None:
        outcomes = book.submit_prepared(prepared)
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
            for numbers, raw, consumed in _chunks(lines, chunk):
                waiting.append((numbers, book.prepare_lines(raw), consumed))
                if len(waiting) > AHEAD:
                    apply(*waiting.popleft())
            while waiting:
                apply(*waiting.popleft())
    except KeyboardInterrupt:
        result.rejected.sort(key=lambda r: r.line)
        raise IngestInterrupted(result) from None
    result.rejected.sort(key=lambda r: r.line)
    return result


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


def _chunks(lines: Iterable[bytes | str], size: int) -> Iterator[tuple[list[int], list[bytes | str], int]]:
    """Non-blank lines in chunks of ``size``, as read: (line numbers, lines, bytes read)."""
    numbers: list[int] = []
    batch: list[bytes | str] = []
    consumed = 0
    for number, line in enumerate(lines, 1):
        consumed += len(line)
        if not line.strip():
            continue
        batch.append(line)
        numbers.append(number)
        if len(batch) >= size:
            yield numbers, batch, consumed
            numbers, batch, consumed = [], [], 0
    if batch or consumed:
        yield numbers, batch, consumed
