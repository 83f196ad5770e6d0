"""Batch ingest of signed transactions from JSON lines.

Reads lines as they come (bounded memory), parses each, and submits them to
the book in chunks: one database transaction per chunk, not one per line.
A bad line is reported by its number and the good ones still post; because
ids are idempotency keys, running the same file again after a crash posts
exactly what had not landed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ledger.book import Book
from ledger.errors import LedgerError
from ledger.model import SignedTx
from ledger.wire import parse_line

CHUNK = 1000


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


def ingest(
    book: Book,
    lines: Iterable[bytes | str],
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Submit every non-blank line; ``progress`` is told how many bytes each chunk consumed."""
    result = IngestResult()
    pending: list[tuple[int, SignedTx]] = []
    consumed = 0

    def flush() -> None:
        nonlocal consumed
        if pending:
            outcomes = book.submit_many([signed for _, signed in pending])
            for (number, _), outcome in zip(pending, outcomes, strict=True):
                if isinstance(outcome, LedgerError):
                    result.rejected.append(Rejection(number, outcome.code, outcome.message))
                elif outcome.duplicate:
                    result.duplicates += 1
                else:
                    result.posted += 1
            pending.clear()
        if progress and consumed:
            progress(consumed)
            consumed = 0

    for number, line in enumerate(lines, 1):
        consumed += len(line)
        if not line.strip():
            continue
        try:
            pending.append((number, parse_line(line)))
        except LedgerError as exc:
            result.rejected.append(Rejection(number, exc.code, exc.message))
        except RecursionError:
            result.rejected.append(Rejection(number, "BAD_INPUT", "JSON nested too deeply"))
        if len(pending) >= chunk:
            flush()
    flush()
    result.rejected.sort(key=lambda r: r.line)
    return result
