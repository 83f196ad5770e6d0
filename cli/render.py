"""Printing: tables for people, the JSON shapes of DESIGN section 6 for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import click

from ledger import Account, Asset, JournalEntry, Receipt, format_amount


def emit_json(obj: object) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=None))


def money(minor: int, asset: Asset) -> str:
    return f"{format_amount(minor, asset.exponent)} {asset.code}"


def table(rows: Sequence[Sequence[str]], headers: Sequence[str], right: Sequence[int] = ()) -> None:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

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
        "memo": entry.tx.memo,
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
    click.echo(f"{entry.status:<8} {entry.tx.id}  {entry.tx.kind}  seq {entry.seq}  {entry.at}{note}")
    if entry.tx.ref:
        click.echo(f"  ref:    {entry.tx.ref}")
    for leg in entry.tx.legs:
        click.echo(f"  {money(leg.amount, assets[leg.asset])}  {leg.debit} -> {leg.credit}")
    if entry.tx.timeout_s is not None:
        click.echo(f"  hold:   {entry.tx.timeout_s} s")
    if entry.tx.quote is not None:
        q = entry.tx.quote
        click.echo(f"  quote:  {q.id} at {q.rate}, firm until {q.expires_at}")
    if entry.tx.travel is not None:
        o, b = entry.tx.travel.originator, entry.tx.travel.beneficiary
        click.echo(f"  travel: {o.id} ({o.kind}, {o.jurisdiction}) -> {b.id} ({b.kind}, {b.jurisdiction})")
    if entry.tx.memo:
        click.echo(f"  memo:   {entry.tx.memo}")
    if entry.signatures:
        click.echo(f"  signed: {', '.join(s.signer for s in entry.signatures)}")
    click.echo(f"  hash:   {entry.hash}")


def error_line(code: str, message: str, as_json: bool) -> None:
    # One line, whatever the message holds.
    flat = " ".join(str(message).split())
    if as_json:
        emit_json({"error": {"code": code, "message": flat}})
    click.echo(f"error: {code}: {flat}", err=True)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
