"""transfer, post, void, fulfil, reject and reverse: moving money between accounts."""

from __future__ import annotations

import re

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
@click.option("--condition", metavar="HEX", help="A conditional hold: the SHA-256 (64 hex digits) its preimage must hash to.")
@click.option("--deadline", metavar="TIME", help="A conditional hold's deadline, UTC, e.g. 2026-11-22T09:30:00.000000Z.")
@click.option("--partner", metavar="LEDGER:HOLD", help="A conditional hold's partner hold on the other ledger.")
@json_option
@pass_context
def transfer(
    ctx: Context, source: str, destination: str, amount: str, tx_id: str | None, memo: str, hold: bool, timeout: int | None,
    condition: str | None, deadline: str | None, partner: str | None,
) -> None:
    """Move AMOUNT (major units, e.g. 1000 or '12.50 HKDS') from FROM to TO.

    FROM and TO are account ids (owner:asset) or owners with one account in the asset.

    \b
    Examples:
      wonledger transfer alice:dKRW.hanriver seoul-exports:dKRW.hanriver 1000 --id inv-7
      wonledger transfer alice hanriver 1000      # owners with one account in the asset
      wonledger transfer alice:dKRW.hanriver hanriver:dKRW.hanriver 50000 --hold --timeout 600 --id hold-1
      wonledger transfer alice hanriver 1000 --hold --condition <sha256> --deadline 2026-11-22T09:30:00.000000Z --partner wl-9b1c07e2a4d3:x-7
    """
    terms = [name for name, value in (("--condition", condition), ("--deadline", deadline), ("--partner", partner)) if value is not None]
    if terms:
        if not hold or len(terms) != 3 or timeout is not None:
            raise click.UsageError("a conditional hold takes --hold with all of --condition, --deadline and --partner (and no --timeout)")
        if not re.fullmatch(r"[0-9a-fA-F]{64}", condition or ""):
            raise click.BadParameter("the SHA-256 of the preimage, 64 hex digits", param_hint="--condition")
        partner_ledger, _, partner_hold = (partner or "").partition(":")
        if not partner_ledger or not partner_hold:
            raise click.BadParameter("LEDGER:HOLD, the other ledger's id and the partner hold's id", param_hint="--partner")
    if timeout is not None and not hold:
        raise click.UsageError("--timeout goes with --hold")
    typed = TypedAmount.parse(amount)
    ledger = ctx.ledger()
    if terms:
        receipt = ledger.holds.make_conditional(
            source, destination, typed, condition=bytes.fromhex(condition or ""), deadline=deadline or "",
            partner_ledger=partner_ledger, partner_hold=partner_hold, tx_id=tx_id, memo=memo,
        )
    else:
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
@click.argument("hold_id", metavar="ID")
@click.argument("preimage", metavar="PREIMAGE")
@click.option("--id", "tx_id", help="Your id for the fulfil (idempotent).")
@click.option("--by", "relayer", metavar="PARTICIPANT", help="Who signs it (anyone registered may relay a preimage) [default: a creditor, else a debtor, of the hold].")
@json_option
@pass_context
def fulfil(ctx: Context, hold_id: str, preimage: str, tx_id: str | None, relayer: str | None) -> None:
    """Fulfil conditional hold ID with PREIMAGE (32 bytes as 64 hex digits): all of it moves.

    \b
    Examples:
      wonledger fulfil x-7 5f1c...e2a9
      wonledger fulfil x-7 5f1c...e2a9 --by peakfx
    """
    if not re.fullmatch(r"[0-9a-fA-F]{64}", preimage):
        raise click.BadParameter("the preimage is 32 bytes written as 64 hex digits", param_hint="PREIMAGE")
    ledger = ctx.ledger()
    report_receipt(ctx, ledger, ledger.holds.fulfil(hold_id, bytes.fromhex(preimage), tx_id=tx_id, by=relayer))


@click.command()
@click.argument("hold_id", metavar="ID")
@click.option("--id", "tx_id", help="Your id for the reject (idempotent).")
@json_option
@pass_context
def reject(ctx: Context, hold_id: str, tx_id: str | None) -> None:
    """Reject conditional hold ID before its deadline, signed by all its creditors: release all of it.

    \b
    Examples:
      wonledger reject x-7
    """
    ledger = ctx.ledger()
    report_receipt(ctx, ledger, ledger.holds.reject(hold_id, tx_id=tx_id))


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
