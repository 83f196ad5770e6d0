"""transfer, post, void and reverse: moving money between accounts."""

from __future__ import annotations

import click

from wonledger import Ledger, Receipt, TypedAmount
from wonledger_cli.context import Context, json_option, pass_context
from wonledger_cli.render import emit_json, entry_details, show_tx, tx_json


def report_receipt(ctx: Context, ledger: Ledger, receipt: Receipt) -> None:
    """Show what was written: from the receipt when it carries the entry (no read), else as the journal holds it."""
    entry = receipt.entry if receipt.entry is not None else ledger.transaction(receipt.id)
    details = entry_details(ledger, entry, receipt)
    if ctx.json:
        emit_json(tx_json(entry, receipt, details))
    else:
        shown = (*entry.tx.legs, *receipt.released)
        show_tx(entry, {leg.asset: ledger.registry.asset(leg.asset) for leg in shown}, receipt, details)


@click.command()
@click.argument("source", metavar="FROM")
@click.argument("destination", metavar="TO")
@click.argument("amount")
@click.option("--id", "tx_id", help="Your id for this transfer; resubmitting it is safe (idempotent).")
@click.option("--memo", default="", help="Free text kept with the transaction.")
@click.option("--hold", is_flag=True, help="Reserve the amount now; `post` or `void` it later.")
@click.option("--timeout", type=click.IntRange(1, 366 * 24 * 3600), metavar="S", help="Seconds a hold waits before it is voided [default: 3600].")
@json_option
@pass_context
def transfer(ctx: Context, source: str, destination: str, amount: str, tx_id: str | None, memo: str, hold: bool, timeout: int | None) -> None:
    """Move AMOUNT (major units, e.g. 1000 or '12.50 HKDS') from FROM to TO.

    FROM and TO are account ids (owner:asset) or owners with one account in the asset.

    \b
    Examples:
      wonledger transfer alice:dKRW.hanriver seoul-exports:dKRW.hanriver 1000 --id inv-7
      wonledger transfer alice hanriver 1000      # owners with one account in the asset
      wonledger transfer alice:dKRW.hanriver hanriver:dKRW.hanriver 50000 --hold --timeout 600 --id hold-1
    """
    if timeout is not None and not hold:
        raise click.UsageError("--timeout goes with --hold")
    typed = TypedAmount.parse(amount)
    ledger = ctx.ledger()
    receipt = ledger.payments.transfer(source, destination, typed, tx_id=tx_id, memo=memo, hold_timeout_s=(timeout or 3600) if hold else None)
    report_receipt(ctx, ledger, receipt)


@click.command()
@click.argument("hold_id", metavar="ID")
@click.argument("amount", required=False)
@click.option("--id", "tx_id", help="Your id for the post (idempotent).")
@json_option
@pass_context
def post(ctx: Context, hold_id: str, amount: str | None, tx_id: str | None) -> None:
    """Post hold ID: all of it, or AMOUNT of it (the rest is released).

    \b
    Examples:
      wonledger post hold-1            # all of it
      wonledger post hold-1 30000      # part; the rest is released
    """
    typed = TypedAmount.parse(amount) if amount is not None else None
    ledger = ctx.ledger()
    report_receipt(ctx, ledger, ledger.holds.post(hold_id, typed, tx_id=tx_id))


@click.command()
@click.argument("hold_id", metavar="ID")
@click.option("--id", "tx_id", help="Your id for the void (idempotent).")
@json_option
@pass_context
def void(ctx: Context, hold_id: str, tx_id: str | None) -> None:
    """Void hold ID: release all of it.

    \b
    Examples:
      wonledger void hold-2
    """
    ledger = ctx.ledger()
    report_receipt(ctx, ledger, ledger.holds.void(hold_id, tx_id=tx_id))


@click.command()
@click.argument("original_id", metavar="ID")
@click.option("--id", "tx_id", help="Your id for the reversal (idempotent).")
@click.option("--memo", default="", help="Why it is undone.")
@json_option
@pass_context
def reverse(ctx: Context, original_id: str, tx_id: str | None, memo: str) -> None:
    """Undo transaction ID with a new one that moves its legs back (signed by its creditors).

    \b
    Examples:
      wonledger reverse inv-7
      wonledger reverse inv-7 --memo "sent twice"
    """
    ledger = ctx.ledger()
    report_receipt(ctx, ledger, ledger.payments.reverse(original_id, tx_id=tx_id, memo=memo))
