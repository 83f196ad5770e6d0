"""history, tx show, submit and verify: the journal."""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack

import click

from cli.context import Context, json_option, pass_context
from cli.render import emit_json, error_line, money, progress_bar, show_tx, stderr_is_terminal, table, tx_json, input_size
from ledger import BadInput


@click.command()
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--limit", type=click.IntRange(1), help="Only the newest N transactions.")
@json_option
@pass_context
def history(ctx: Context, account_id: str, limit: int | None) -> None:
    """The transactions that touched ACCOUNT, oldest first."""
    ledger = ctx.ledger()
    account = ledger.resolve_account(account_id)
    entries = ledger.history(account.id, limit)
    if ctx.json:
        emit_json({"account": account.id, "transactions": [tx_json(e) for e in entries]})
        return
    asset = ledger.asset(account.asset)
    rows = []
    for e in entries:
        for leg in e.tx.legs:
            if account.id not in (leg.debit, leg.credit):
                continue
            outgoing = leg.debit == account.id
            amount = money(-leg.amount if outgoing else leg.amount, asset)
            if e.tx.kind == "hold":
                amount = f"({amount} held)"  # a hold moves nothing itself; its post does
            rows.append((str(e.seq), e.at[:19] + "Z", e.tx.id, e.tx.kind, e.status, amount, leg.credit if outgoing else leg.debit, e.tx.memo))
        if not e.tx.legs:
            rows.append((str(e.seq), e.at[:19] + "Z", e.tx.id, e.tx.kind, e.status, "", e.tx.ref or "", e.tx.memo))
    click.echo(f"{account.id}: balance {money(account.balance, asset)}, available {money(account.available, asset)}")
    table(rows, ("seq", "at", "id", "kind", "status", "amount", "counterparty", "memo"), right=(0, 5))


@click.group()
def tx() -> None:
    """Look up transactions."""


@tx.command("show")
@click.argument("tx_id", metavar="ID")
@json_option
@pass_context
def tx_show(ctx: Context, tx_id: str) -> None:
    """One transaction as the journal holds it."""
    ledger = ctx.ledger()
    entry = ledger.transaction(tx_id)
    if ctx.json:
        emit_json(tx_json(entry))
        return
    show_tx(entry, {a.code: a for a in ledger.assets()})


@click.command()
@click.argument("source", metavar="FILE|-")
@json_option
@pass_context
@click.pass_context
def submit(click_ctx: click.Context, ctx: Context, source: str) -> None:
    """Ingest signed transactions, one JSON object per line (idempotent; safe to rerun)."""
    with ExitStack() as stack:
        if source == "-":
            stream = sys.stdin.buffer
            size = input_size(stream)
        else:
            try:
                stream = stack.enter_context(open(source, "rb"))
            except FileNotFoundError:
                raise BadInput(f"no file {source}") from None
            except IsADirectoryError:
                raise BadInput(f"{source} is a directory") from None
            except OSError as exc:
                raise BadInput(f"cannot read {source}: {exc.strerror}") from None
            except ValueError:  # a name the operating system cannot hold (a NUL byte)
                raise BadInput(f"{source[:40]!r} is not a file name") from None
            size = os.fstat(stream.fileno()).st_size
        ledger = ctx.ledger()
        result = ledger.ingest(stream, progress=progress_bar(stack, "submitting", size))
    for r in result.rejected:
        error_line(r.code, f"line {r.line}: {r.message}", as_json=False)
    if ctx.json:
        emit_json(result.to_json())
    else:
        click.echo(f"posted {result.posted}, duplicates {result.duplicates}, rejected {len(result.rejected)}")
    click_ctx.exit(0 if result.ok else 1)


@click.command()
@json_option
@pass_context
@click.pass_context
def verify(click_ctx: click.Context, ctx: Context) -> None:
    """Check the hash chain, signatures, zero-sum and every account's counters."""
    ledger = ctx.ledger()
    with ExitStack() as stack:
        progress = None
        if stderr_is_terminal():
            total = ledger.info().transactions
            bar = stack.enter_context(click.progressbar(length=total, label="verifying", file=sys.stderr))
            progress = bar.update
        report = ledger.verify(progress)
    if ctx.json:
        emit_json(report.to_json())
    elif report.ok:
        click.echo(f"ok: {report.transactions} transactions; hash chain, signatures, authorization, zero-sum, counters, reserves and checkpoints all hold")
    else:
        for p in report.problems:
            click.echo(f"problem: {p.kind}: {'tx ' + p.tx + ': ' if p.tx else ''}{p.detail}")
        click.echo(f"{len(report.problems)} problem(s) in {report.transactions} transactions")
    click_ctx.exit(0 if report.ok else 3)
