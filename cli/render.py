"""Printing: tables for people, the JSON shapes of the CLI contract for scripts.

Text from the journal (memos, ids, quote sources) is shown safely: the
ledger refuses control and bidi characters in new transactions, but a
journal written before that rule, or a message quoting hostile input, may
still hold them. :func:`safe` writes every character a terminal would act
on or that could make text read other than it is (C0 and C1 controls, DEL,
line and paragraph separators, bidi controls, other format characters) as
a visible escape; JSON output escapes the same characters as ``\\uXXXX``.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, BinaryIO

import click

if TYPE_CHECKING:  # the library is imported by the commands that use it, not by `--help`
    from wonledger import Account, Asset, JournalEntry, Ledger, Leg, Receipt


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def safe(text: str) -> str:
    """``text`` with every non-printable character (``str.isprintable``; a space stays) written as an escape."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


#: What JSON output must not carry raw (JSON itself escapes only the C0 controls, quote and backslash).
_JSON_UNSAFE = {c: f"\\u{c:04x}" for c in (*range(0x7F, 0xA0), 0x2028, 0x2029, 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def emit_json(obj: object) -> None:
    import json  # here, not at the top: `wonledger --help` need not load it

    # These characters can only stand inside JSON strings, where \uXXXX means the same character.
    click.echo(json.dumps(obj, ensure_ascii=False, indent=None).translate(_JSON_UNSAFE))


def emit_json_chunks(chunks: Iterator[str]) -> None:
    """One JSON document written as it is made (a report of a million breaks is never one string)."""
    for chunk in chunks:
        click.echo(chunk.translate(_JSON_UNSAFE), nl=False)
    click.echo()


def echo(line: str) -> None:
    """One line for a person, made safe (see :func:`safe`)."""
    click.echo(safe(line))


def money(minor: int, asset: Asset) -> str:
    from wonledger import format_amount

    return f"{format_amount(minor, asset.exponent)} {asset.code}"


def amounts(values: Sequence[tuple[int, int] | None]) -> list[str]:
    """A column of amounts ``(minor units, exponent)`` as text whose decimal points line up once right-aligned.

    Whole-unit amounts (KRW) get blanks where cents would be, so that in a
    column mixing KRW and HKD the units digits sit one above another. None is
    a blank cell (nothing held, say), never a zero.
    """
    from wonledger import format_amount

    widest = max((exponent + 1 if exponent else 0 for _, exponent in (v for v in values if v is not None)), default=0)
    out = []
    for value in values:
        if value is None:
            out.append("")
            continue
        minor, exponent = value
        out.append(format_amount(minor, exponent) + " " * (widest - (exponent + 1 if exponent else 0)))
    return out


def count(n: int, one: str, many: str | None = None) -> str:
    """``1 entry``, ``100,016 entries``: counts with thousands separators, like amounts."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def table(rows: Sequence[Sequence[str]], headers: Sequence[str], right: Sequence[int] = ()) -> None:
    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=False))).rstrip()

    rows = [[safe(str(c)) for c in r] for r in rows]
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    click.echo(line(headers))
    for r in rows:
        click.echo(line(r))


def account_json(a: Account) -> dict[str, object]:
    return {
        "id": a.id,
        "owner": a.owner,
        "asset": a.asset,
        "balance": a.balance,
        "available": a.available,
        "debits_posted": a.debits_posted,
        "credits_posted": a.credits_posted,
        "debits_pending": a.debits_pending,
        "credits_pending": a.credits_pending,
    }


def entry_details(ledger: Ledger, entry: JournalEntry, receipt: Receipt | None = None) -> dict[str, object]:
    """What the journal entry alone does not say: who reversed it, when a hold expires, what a partial post released.

    For an entry just written (``receipt`` carries it) nothing has reversed it
    yet and the receipt says when a hold expires, so nothing is read.
    """
    out: dict[str, object] = {}
    fresh = receipt is not None and receipt.entry is not None
    reversal = None if fresh else ledger.payments.reversals_of([entry.tx.id]).get(entry.tx.id)
    if reversal is not None:
        out["reversed_by"] = reversal
    if entry.tx.kind == "hold":
        expires = receipt.expires_at if fresh and receipt is not None else ledger.holds.expiry(entry.tx.id)
        if expires is not None:
            out["expires_at"] = expires
    if entry.tx.kind in ("post", "void", "expire", "reject") and entry.tx.ref:
        released = receipt.released if fresh and receipt is not None else ledger.holds.released_by(entry)
        out["released"] = released_json(released)
    return out


def released_json(released: Sequence[Leg]) -> list[dict[str, object]]:
    """What the end of a hold gave back, leg by leg, as ``tx show``, receipts and ``history`` print it in JSON."""
    return [{"account": leg.debit, "asset": leg.asset, "amount": leg.amount} for leg in released]


def tx_json(entry: JournalEntry, receipt: Receipt | None = None, details: dict[str, object] | None = None) -> dict[str, object]:
    out: dict[str, object] = {
        "id": entry.tx.id,
        "kind": entry.tx.kind,
        "status": entry.status,
        "seq": entry.seq,
        "hash": entry.hash,
        "memo": entry.tx.memo if entry.tx.memo is not None else "",
        "legs": [leg.to_wire() for leg in entry.tx.legs],
        "at": entry.at,
        "ref": entry.tx.ref,
        "timeout": entry.tx.timeout_s,
        "signers": [s.signer for s in entry.signatures],
    }
    if entry.tx.quote is not None:
        out["quote"] = entry.tx.quote.to_wire()
    if entry.tx.travel is not None:
        out["travel"] = entry.tx.travel.to_wire()
    if entry.tx.condition is not None:
        out["condition"] = {"sha256": entry.tx.condition}
        out["deadline"] = entry.tx.deadline
        out["partner"] = entry.tx.partner.to_wire() if entry.tx.partner is not None else None
    if entry.tx.preimage is not None:
        out["preimage"] = entry.tx.preimage
    if details:
        out.update(details)
    if receipt is not None:
        out["duplicate"] = receipt.duplicate
    return out


def shown_status(entry: JournalEntry, details: dict[str, object]) -> str:
    """The status as a person reads it: a posted transaction that was undone says so."""
    if "reversed_by" in details:
        return "reversed"
    return entry.status


def show_tx(entry: JournalEntry, assets: dict[str, Asset], receipt: Receipt | None = None, details: dict[str, object] | None = None) -> None:
    details = details or {}
    note = "  (already in the journal: nothing new was posted)" if receipt is not None and receipt.duplicate else ""
    echo(f"{shown_status(entry, details):<8} {entry.tx.id}  {entry.tx.kind}  seq {entry.seq:,}  {entry.at}{note}")
    if "reversed_by" in details:
        echo(f"  reversed by {details['reversed_by']} (its legs were moved back)")
    if entry.tx.ref:
        echo(f"  ref:    {entry.tx.ref}")
    for leg in entry.tx.legs:
        echo(f"  {money(leg.amount, assets[leg.asset])}  {leg.debit} -> {leg.credit}")
    if entry.tx.timeout_s is not None:
        expires = details.get("expires_at")
        echo(f"  hold:   {entry.tx.timeout_s:,} s" + (f", expires {expires}" if expires else ""))
    if entry.tx.condition is not None:
        partner = entry.tx.partner
        echo(f"  condition: sha256 {entry.tx.condition}, deadline {entry.tx.deadline}")
        if partner is not None:
            echo(f"  partner:   hold {partner.hold} on ledger {partner.ledger}")
    if entry.tx.preimage is not None:
        echo(f"  preimage: {entry.tx.preimage}")
    rest = " (the rest of the hold)" if entry.tx.kind == "post" else ""
    for r in details.get("released", ()):  # type: ignore[attr-defined]
        echo(f"  released: {money(r['amount'], assets[r['asset']])} back to {r['account']}{rest}")
    if entry.tx.quote is not None:
        q = entry.tx.quote
        echo(f"  quote:  {q.id} at {q.rate}, firm until {q.expires_at}")
    if entry.tx.travel is not None:
        o, b = entry.tx.travel.originator, entry.tx.travel.beneficiary
        echo(f"  travel: {o.id} ({o.kind}, {o.jurisdiction}) -> {b.id} ({b.kind}, {b.jurisdiction})")
    if entry.tx.memo:
        echo(f"  memo:   {entry.tx.memo}")
    if entry.signatures:
        echo(f"  signed: {', '.join(s.signer for s in entry.signatures)}")
    echo(f"  hash:   {entry.hash}")


def error_line(code: str, message: str, as_json: bool, done: dict[str, object] | None = None) -> None:
    """``error: CODE: message`` on stderr, one line whatever the message holds; with ``as_json`` also on stdout,
    beside ``done``: what a command had done when it stopped (a batch's counts)."""
    flat = safe(" ".join(str(message).split()))
    if len(flat) > 2000:  # a message quoting hostile input stays readable
        flat = flat[:2000] + "... (cut)"
    if as_json:
        emit_json({**(done or {}), "error": {"code": code, "message": flat}})
    click.echo(f"error: {code}: {flat}", err=True)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def progress_bar(stack: ExitStack, label: str, length: int | None) -> Callable[[int], None] | None:
    """An ``update(n)`` for a progress bar on stderr when a person watches it, else None.

    ``length`` is the bytes (or steps) expected; None when the input is a pipe,
    whose length nobody knows: then the bar pulses and counts what was read
    (click's bar needs an iterable to go without a length).
    """
    if not stderr_is_terminal():
        return None
    if length is not None:
        return stack.enter_context(click.progressbar(length=length, label=label, file=sys.stderr)).update
    read = [0]

    def unsized() -> Iterator[int]:
        yield from ()

    bar = stack.enter_context(
        click.progressbar(unsized(), label=label, file=sys.stderr, show_eta=False, item_show_func=lambda n: f"{n or 0:,} bytes read")
    )

    def update(n: int) -> None:
        read[0] += n
        bar.update(n, read[0])

    return update


def open_input(stack: ExitStack, path: str) -> tuple[BinaryIO, int | None]:
    """A file to read (``-``: stdin) and its size when known; a path that cannot be read is bad input."""
    from wonledger import BadInput  # here: `--help` imports no library

    if path == "-":
        return sys.stdin.buffer, input_size(sys.stdin.buffer)
    try:
        stream = stack.enter_context(open(path, "rb"))
    except FileNotFoundError:
        raise BadInput(f"no file {path}") from None
    except IsADirectoryError:
        raise BadInput(f"{path} is a directory") from None
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:  # a name the operating system cannot hold (a NUL byte)
        raise BadInput(f"{path[:40]!r} is not a file name") from None
    return stream, os.fstat(stream.fileno()).st_size


def input_size(stream: BinaryIO) -> int | None:
    """Bytes left in ``stream`` when it is a regular file (`< batch.jsonl`), None for a pipe or terminal."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    try:
        return max(info.st_size - stream.tell(), 0)
    except OSError:
        return info.st_size
