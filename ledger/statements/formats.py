"""The statement formats, as one table, and the one door that reads a statement file of any of them.

:data:`FORMATS` is every format wonledger knows: its name (as ``statement
--format`` and the reports name it), what it is, how to tell it from a
file's first bytes, the module that reads it, and whether that module also
writes it. ``statement --format`` offers :func:`writable` names, and
:func:`read_statements` picks a file's reader from the same table.

**Adding a format** takes one new module under ``wonledger.statements`` and
one row here. The module imports the statement values of
:mod:`wonledger.statements.statement` (never this door) and defines
``read(stream, choose) -> Iterator[StatementReader]`` (see
:data:`~wonledger.statements.statement.Choose`) and, if the row says it
writes, ``write(out, header, entries, exponent, created_at) -> int`` (the
count of entries written). The modules are imported when a file of their
format is read or written, not with the table: offering the choices costs
no XML or MT940 parser.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, TextIO, cast

from wonledger.domain.errors import BadInput, BadStatement
from wonledger.statements.statement import Choose, CountingReader, StatementEntry, StatementHeader, StatementReader

#: What precedes a file's content and says nothing of its format: a UTF-8 byte order mark, blanks.
_LEADING = b"\xef\xbb\xbf \t\r\n"
#: How much of a file detection looks at (a bank's header lines before an MT940's first field are short).
HEAD_BYTES = 2048


class StatementWriter(Protocol):
    def __call__(self, out: TextIO, header: StatementHeader, entries: Iterable[StatementEntry], exponent: int, created_at: str) -> int: ...


#: A format's ``read``: the door hands it the file as a raw stream (a :class:`CountingReader`).
StatementFileReader = Callable[[io.RawIOBase, Choose], Iterator[StatementReader]]


@dataclass(frozen=True, slots=True)
class StatementFormat:
    """One format: ``detects(head)`` sees a file's first bytes with any BOM and leading blanks removed."""

    name: str
    title: str
    module: str  # under wonledger.statements: defines read() and, when ``writes``, write()
    detects: Callable[[bytes], bool]
    writes: bool = False

    def _module(self):
        return importlib.import_module(f"wonledger.statements.{self.module}")

    def reader(self) -> StatementFileReader:
        return self._module().read

    def writer(self) -> StatementWriter:
        if not self.writes:
            raise BadInput(f"wonledger reads {self.title} but does not write it")
        return self._module().write


def _is_xml(head: bytes) -> bool:
    return head.startswith(b"<")


def _is_swift(head: bytes) -> bool:
    """A SWIFT envelope, or an MT940's first field on one of the first lines (after a bank's header lines, or ``@@``)."""
    if head.startswith(b"record,"):  # wonledger's CSV: its first column; a memo in it may hold anything
        return False
    lines = head.replace(b"@@", b"\n").splitlines()
    return any(line.startswith((b"{1:", b"{4:", b":20:", b":940:")) for line in lines[:12])


def _anything(head: bytes) -> bool:
    return True


#: Every format, in the order detection tries them (the last takes whatever the others do not).
FORMATS: tuple[StatementFormat, ...] = (
    StatementFormat("camt053", "ISO 20022 camt.052/053/054 XML", "camt053", _is_xml, writes=True),
    StatementFormat("mt940", "SWIFT MT940", "mt940file", _is_swift),
    StatementFormat("csv", "CSV", "csvfile", _anything, writes=True),
)


def writable() -> tuple[str, ...]:
    """The names of the formats a statement can be written in, in table order."""
    return tuple(f.name for f in FORMATS if f.writes)


def format_named(name: str) -> StatementFormat:
    """The format called ``name``; BAD_INPUT if none is."""
    for f in FORMATS:
        if f.name == name:
            return f
    raise BadInput(f"format {name!r} is not one of {', '.join(f.name for f in FORMATS)}")


def writable_format(name: str) -> StatementFormat:
    """The format called ``name`` that statements are written in; BAD_INPUT if there is none."""
    names = writable()
    if name not in names:
        raise BadInput(f"format {name!r} is not one of {', '.join(names)}")
    return format_named(name)


def detect_format(head: bytes) -> StatementFormat:
    """The format of a file whose first bytes are ``head``."""
    start = head.lstrip(_LEADING)
    return next(f for f in FORMATS if f.detects(start))


def read_statements(stream: BinaryIO, choose: Choose, progress: Callable[[int], None] | None = None) -> Iterator[StatementReader]:
    """Every statement of a file that ``choose`` takes, in whichever format of :data:`FORMATS` it is (told by content).

    ``progress(n)`` is told of every ``n`` bytes read.
    """
    if not hasattr(stream, "peek"):
        # a BytesIO, say: it has the readinto a buffer needs, which typing's BinaryIO does not declare
        stream = io.BufferedReader(cast(io.RawIOBase, stream))
    head = stream.peek(HEAD_BYTES)[:HEAD_BYTES]
    if not head.lstrip(_LEADING):
        raise BadStatement("the statement file is empty")
    return detect_format(head).reader()(CountingReader(stream, progress), choose)


def read_statement(stream: BinaryIO, exponent: int, progress: Callable[[int], None] | None = None) -> StatementReader:
    """The first statement of a file, its amounts in ``exponent`` (for files of one statement)."""
    for reader in read_statements(stream, lambda header: exponent, progress):
        return reader
    raise BadStatement("the file holds no statement")
