"""history, tx show, submit and verify: the journal."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import click

from wonledger import BadInput, JournalEntry, StorageError, format_amount
from wonledger_cli.context import Context, json_option, pass_context
from wonledger_cli.render import (
    emit_json,
    entry_details,
    error_line,
    money,
    open_input,
    progress_bar,
    released_json,
    show_tx,
    stderr_is_terminal,
    tx_json,
)

if TYPE_CHECKING:
    from wonledger import VerifyReport


@click.command()
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--from", "since", metavar="DATE", help="From this day (YYYY-MM-DD, UTC) or time (ISO 8601) on.")
@click.option("--to", "until", metavar="DATE", help="Up to and including this day (YYYY-MM-DD, UTC), or before this time (ISO 8601).")
@click.option("--limit", type=click.IntRange(1), help="Only the newest N transactions (of the period).")
@json_option
@pass_context
def history(ctx: Context, account_id: str, since: str | None, until: str | None, limit: int | None) -> None:
    """The transactions that touched ACCOUNT, oldest first.

    Read and printed a page at a time, so a history of millions of entries
    starts at once and needs little memory. A transaction undone later shows
    as "reversed", with the reversal's id.

    \b
    Examples:
      wonledger history alice:dKRW.hanriver
      wonledger history alice:dKRW.hanriver --from 2026-01-01 --to 2026-03-31
      wonledger history alice:dKRW.hanriver --limit 20 --json
    """
    ledger = ctx.ledger()
    account = ledger.names.account(account_id)
    entries = ledger.history(account.id, _time_bound(since, "--from", end=False), _time_bound(until, "--to", end=True), limit)
    if ctx.json:
        click.echo(json.dumps({"account": account.id})[:-1] + ', "transactions": [', nl=False)
        first = True
        for page in _pages(entries):
            reversed_by = ledger.payments.reversals_of(e.tx.id for e in page)
            released = ledger.holds.released_by_each(page)
            for e in page:
                details: dict[str, object] = {"reversed_by": reversed_by[e.tx.id]} if e.tx.id in reversed_by else {}
                if e.tx.id in released:
                    details["released"] = released_json(released[e.tx.id])
                click.echo(("" if first else ", ") + json.dumps(tx_json(e, details=details), ensure_ascii=False), nl=False)
                first = False
        click.echo("]}")
        return
    asset = ledger.registry.asset(account.asset)
    click.echo(f"{account.id}: balance {money(account.balance, asset)}, available {money(account.available, asset)}")
    # fixed widths: the rows are printed as they are read, before the widest is known
    line = "{:>8}  {:<20}  {:<24}  {:<8}  {:<8}  {:>20}  {:<30}  {}"
    click.echo(line.format("seq", "at (UTC)", "id", "kind", "status", f"amount ({asset.code})", "counterparty", "memo / note").rstrip())
    shown = 0
    for page in _pages(entries):
        reversed_by = ledger.payments.reversals_of(e.tx.id for e in page)
        released = ledger.holds.released_by_each(page)
        for e in page:
            status, note = e.status, e.tx.memo
            if e.tx.id in reversed_by:
                status, note = "reversed", f"reversed by {reversed_by[e.tx.id]}" + (f"; {note}" if note else "")
            back = sum(leg.amount for leg in released.get(e.tx.id, ()) if leg.debit == account.id)
            if back:
                note = f"released {format_amount(back, asset.exponent)}" + (f"; {note}" if note else "")
            at = e.at[:19] + "Z"
            legs = [leg for leg in e.tx.legs if account.id in (leg.debit, leg.credit)]
            for leg in legs:
                outgoing = leg.debit == account.id
                amount = format_amount(-leg.amount if outgoing else leg.amount, asset.exponent)
                if e.tx.kind == "hold":
                    amount = f"({amount} held)"  # a hold moves nothing itself; its post does
                click.echo(line.format(f"{e.seq:,}", at, e.tx.id, e.tx.kind, status, amount, leg.credit if outgoing else leg.debit, note).rstrip())
            if not legs:
                click.echo(line.format(f"{e.seq:,}", at, e.tx.id, e.tx.kind, status, "", e.tx.ref or "", note).rstrip())
            shown += 1
    if shown == 0:
        click.echo("  (no transactions" + (" in that period)" if since or until else ")"))


def _pages(entries: Iterator[JournalEntry], size: int = 500) -> Iterator[list[JournalEntry]]:
    page: list[JournalEntry] = []
    for e in entries:
        page.append(e)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def _time_bound(text: str | None, option: str, end: bool) -> str | None:
    """A --from/--to value as the journal's commit times are written (ISO 8601 UTC, microseconds, Z)."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise BadInput(f"{option} {text!r} is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@click.group()
@json_option
def tx() -> None:
    """Look up transactions.

    \b
    Examples:
      wonledger tx show inv-7
    """


@tx.command("show", short_help="One transaction as the journal holds it.")
@click.argument("tx_id", metavar="ID")
@json_option
@pass_context
def tx_show(ctx: Context, tx_id: str) -> None:
    """One transaction as the journal holds it, with what happened to it since.

    A reversed transaction says which transaction reversed it; a hold says
    when it expires; a partial post says what it released.

    \b
    Examples:
      wonledger tx show inv-7
      wonledger tx show inv-7 --json
    """
    ledger = ctx.ledger()
    entry = ledger.transaction(tx_id)
    details = entry_details(ledger, entry)
    if ctx.json:
        emit_json(tx_json(entry, details=details))
        return
    show_tx(entry, {a.code: a for a in ledger.registry.assets()}, details=details)


@click.command()
@click.argument("source", metavar="FILE|-")
@json_option
@pass_context
def submit(ctx: Context, source: str) -> int:
    """Ingest signed transactions, one JSON object per line (idempotent; safe to rerun).

    \b
    Examples:
      wonledger submit batch.jsonl
      wonledger submit - < batch.jsonl
      wonledger --json submit batch.jsonl
    """
    with ExitStack() as stack:
        stream, size = open_input(stack, source)
        ledger = ctx.ledger()
        try:
            result = ledger.ingest(stream, progress=progress_bar(stack, "submitting", size))
        except StorageError as stopped:
            # The database gave out: say which lines were refused before it; the error says how far the batch got.
            for r in getattr(stopped.result, "rejected", ()):
                error_line(r.code, f"line {r.line}: {r.message}", as_json=False)
            raise
    for r in result.rejected:
        error_line(r.code, f"line {r.line}: {r.message}", as_json=False)
    if ctx.json:
        emit_json(result.to_json())
    else:
        click.echo(f"posted {result.posted:,}, duplicates {result.duplicates:,}, rejected {len(result.rejected):,}")
    # Lines the rules refused are refusals (exit 1), not an integrity problem: the one exit a command chooses itself.
    return 0 if result.ok else 1


@click.command()
@click.option("--operator-key", metavar="KEY", help="The operator's public key you trust (base64url, or a file holding it): stored checkpoints must be signed by it.")
@click.option("--checkpoint", "checkpoint_path", metavar="FILE", help="A checkpoint saved earlier (checkpoint --out): the journal must extend it.")
@json_option
@pass_context
def verify(ctx: Context, operator_key: str | None, checkpoint_path: str | None) -> VerifyReport:
    """Replay the journal through the rulebook and compare every stored table with it, anchored to what you trust.

    \b
    Examples:
      wonledger verify
      wonledger verify --checkpoint cp-1.json
      wonledger verify --operator-key KEY     # KEY: the operator key 'wonledger info' prints
      wonledger --json verify
    """
    from wonledger import Anchor
    from wonledger_cli.commands.audit import checkpoint_option, operator_key_option  # here: submit, history and tx show never load the auditors

    pinned, trusted = operator_key_option(operator_key), checkpoint_option(checkpoint_path)
    anchor = Anchor(pinned, trusted) if pinned or trusted else None
    ledger = ctx.ledger()
    with ExitStack() as stack:
        progress = None
        if stderr_is_terminal():
            total = ledger.info().transactions
            bar = stack.enter_context(click.progressbar(length=total, label="verifying", file=sys.stderr))
            progress = bar.update
        report = ledger.verify(progress, anchor)
    if ctx.json:
        emit_json(report.to_json())
    elif report.ok:
        for note in report.notes:
            click.echo(f"note: {note}")
        click.echo(
            f"ok: {report.transactions:,} transactions; hash chain, signatures, authorization, every rule replayed, "
            "registry, accounts, holds, zero-sum, reserves and checkpoints all hold"
        )
        if anchor is not None:
            what = f"checkpoint {trusted.seq} you gave" if trusted else "operator key you gave"
            click.echo(f"  anchored: the journal extends what the {what} vouches for")
    else:
        for note in report.notes:
            click.echo(f"note: {note}")
        for p in report.problems:
            click.echo(f"problem: {p.kind}: {'tx ' + p.tx + ': ' if p.tx else ''}{p.detail}")
        click.echo(f"{len(report.problems):,} problem(s) in {report.transactions:,} transactions")
    if not ctx.json:
        click.echo(f"  not checked: {'; '.join(report.unchecked)} (docs/trust.md)")
    return report
