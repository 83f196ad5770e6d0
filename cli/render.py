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

import json
import sys
from collections.abc import Sequence

import click

from ledger import Account, Asset, JournalEntry, Receipt, format_amount


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
    # These characters can only stand inside JSON strings, where \uXXXX means the same character.
    click.echo(json.dumps(obj, ensure_ascii=False, indent=None).translate(_JSON_UNSAFE))


def echo(line: str) -> None:
    """One line for a person, made safe (see :func:`safe`)."""
    click.echo(safe(line))


def money(minor: int, asset: Asset) -> str:
    return f"{format_amount(minor, asset.exponent)} {asset.code}"


def table(rows: Sequence[Sequence[str]], headers: Sequence[str], right: Sequence[int] = ()) -> None:
    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

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


def tx_json(entry: JournalEntry, receipt: Receipt | None = None) -> dict[str, object]:
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
    if receipt is not None:
        out["duplicate"] = receipt.duplicate
    return out


def show_tx(entry: JournalEntry, assets: dict[str, Asset], receipt: Receipt | None = None) -> None:
    note = "  (already in the journal: nothing new was posted)" if receipt is not None and receipt.duplicate else ""
    echo(f"{entry.status:<8} {entry.tx.id}  {entry.tx.kind}  seq {entry.seq}  {entry.at}{note}")
    if entry.tx.ref:
        echo(f"  ref:    {entry.tx.ref}")
    for leg in entry.tx.legs:
        echo(f"  {money(leg.amount, assets[leg.asset])}  {leg.debit} -> {leg.credit}")
    if entry.tx.timeout_s is not None:
        echo(f"  hold:   {entry.tx.timeout_s} s")
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


def error_line(code: str, message: str, as_json: bool) -> None:
    # One line, whatever the message holds.
    flat = safe(" ".join(str(message).split()))
    if len(flat) > 2000:  # a message quoting hostile input stays readable
        flat = flat[:2000] + "... (cut)"
    if as_json:
        emit_json({"error": {"code": code, "message": flat}})
    click.echo(f"error: {code}: {flat}", err=True)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
