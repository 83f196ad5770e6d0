"""deposit, withdraw and pay: tokenized deposits at home."""

from __future__ import annotations

import click

from wonledger import TypedAmount
from wonledger_cli.commands.payments import report_receipt
from wonledger_cli.context import Context, json_option, pass_context


@click.command()
@click.argument("owner")
@click.argument("amount")
@click.option("--bank", required=True, help="The bank that tokenizes the deposit (it signs).")
@click.option("--id", "tx_id", help="Your id for this deposit (idempotent).")
@click.option("--memo", default="", help="Free text kept with the transaction.")
@json_option
@pass_context
def deposit(ctx: Context, owner: str, amount: str, bank: str, tx_id: str | None, memo: str) -> None:
    """BANK tokenizes AMOUNT of OWNER's ordinary deposit into its deposit token.

    \b
    Examples:
      wonledger deposit alice 100000 --bank namsan
      wonledger deposit alice 200,000,000 --bank hanriver --id dep-1
    """
    typed = TypedAmount.parse(amount)
    ledger = ctx.ledger()
    report_receipt(ctx, ledger, ledger.payments.deposit(owner, typed, bank, tx_id=tx_id, memo=memo))


@click.command()
@click.argument("owner")
@click.argument("amount")
@click.option("--bank", required=True, help="The bank whose token is turned back into a deposit.")
@click.option("--id", "tx_id", help="Your id for this withdrawal (idempotent).")
@click.option("--memo", default="", help="Free text kept with the transaction.")
@json_option
@pass_context
def withdraw(ctx: Context, owner: str, amount: str, bank: str, tx_id: str | None, memo: str) -> None:
    """OWNER turns AMOUNT of BANK's deposit token back into an ordinary deposit (OWNER signs).

    \b
    Examples:
      wonledger withdraw alice 100000 --bank namsan
    """
    typed = TypedAmount.parse(amount)
    ledger = ctx.ledger()
    report_receipt(ctx, ledger, ledger.payments.withdraw(owner, typed, bank, tx_id=tx_id, memo=memo))


@click.command()
@click.argument("payer", metavar="FROM")
@click.argument("payee", metavar="TO")
@click.argument("amount")
@click.option("--id", "tx_id", help="Your id for this payment (idempotent).")
@click.option("--memo", default="", help="Free text kept with the transaction.")
@json_option
@pass_context
def pay(ctx: Context, payer: str, payee: str, amount: str, tx_id: str | None, memo: str) -> None:
    """Pay AMOUNT from resident FROM to resident TO in deposit tokens.

    Across banks it is one atomic transaction: FROM's token is burned at FROM's
    bank, the banks settle in wKRW, TO's bank issues its token to TO.

    \b
    Examples:
      wonledger pay alice seoul-exports 1,500,000 --memo "invoice 9"
    """
    typed = TypedAmount.parse(amount)
    ledger = ctx.ledger()
    report_receipt(ctx, ledger, ledger.payments.pay(payer, payee, typed, tx_id=tx_id, memo=memo))
