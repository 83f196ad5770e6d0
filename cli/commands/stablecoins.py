"""issuer register, mint, redeem and report supply: stablecoins, fully reserved."""

from __future__ import annotations

import click

from wonledger import TypedAmount
from wonledger_cli.commands.payments import report_receipt
from wonledger_cli.context import Context, json_option, pass_context
from wonledger_cli.render import amounts, emit_json, table


@click.group()
@json_option
def issuer() -> None:
    """The registry of stablecoin issuers: register one, or list them.

    \b
    Examples:
      wonledger issuer list
      wonledger issuer register kpay --asset KPAY --currency KRW
    """


@issuer.command("list", short_help="Registered issuers, their coins and when registered.")
@json_option
@pass_context
def issuer_list(ctx: Context) -> None:
    """Every registered stablecoin issuer: the coin, the issuer and when it was registered.

    \b
    Examples:
      wonledger issuer list
    """
    rows = ctx.ledger().registry.issuer_registrations()
    if ctx.json:
        emit_json({"issuers": [{"asset": a, "issuer": i, "registered_at": at} for a, i, at in rows]})
        return
    table([(a, i, at[:19] + "Z") for a, i, at in rows], ("asset", "issuer", "registered (UTC)"))


@issuer.command("register", short_help="Register a stablecoin issuer (banks first).")
@click.argument("participant_id", metavar="ID")
@click.option("--asset", "code", required=True, help="The stablecoin's code, e.g. KRWS.")
@click.option("--currency", required=True, help="Its ISO currency, e.g. KRW.")
@click.option("--by", "by", help="The regulator who registers it (default: the authority of ID's jurisdiction).")
@json_option
@pass_context
def issuer_register(ctx: Context, participant_id: str, code: str, currency: str, by: str | None) -> None:
    """Register ID as issuer of a stablecoin, signed by ID and its regulator (phase 1 in Korea: banks and bank-led consortia only).

    \b
    Examples:
      wonledger issuer register namsan --asset NAMS --currency KRW
      wonledger issuer register kpay --asset KPAY --currency KRW     # refused: a nonbank
    """
    asset = ctx.ledger().registry.register_issuer(participant_id, code, currency, by=by)
    if ctx.json:
        emit_json({"issuer": participant_id, "asset": asset.code, "currency": asset.currency, "exponent": asset.exponent})
        return
    click.echo(f"registered {participant_id} as issuer of {asset.code} ({asset.currency}, exponent {asset.exponent})")


@click.command()
@click.argument("code", metavar="ASSET")
@click.argument("amount")
@click.option("--to", "holder", required=True, help="Who pays and receives the stablecoin (signs with the issuer).")
@click.option("--pay-with", "pay_with", required=True, help="The deposit token paid into the reserve at par.")
@click.option("--id", "tx_id", help="Your id for this mint (idempotent).")
@json_option
@pass_context
def mint(ctx: Context, code: str, amount: str, holder: str, pay_with: str, tx_id: str | None) -> None:
    """Mint AMOUNT of stablecoin ASSET to a holder who pays deposit tokens into the reserve.

    \b
    Examples:
      wonledger mint KRWS 1,000,000 --to alice --pay-with dKRW.hanriver
      wonledger mint HKDS 500 --to kowloon-supply --pay-with dHKD.harbour
    """
    typed = TypedAmount.parse(amount)
    ledger = ctx.ledger()
    report_receipt(ctx, ledger, ledger.stablecoins.mint(code, typed, holder, pay_with, tx_id=tx_id))


@click.command()
@click.argument("code", metavar="ASSET")
@click.argument("amount")
@click.option("--from", "holder", required=True, help="Who returns the stablecoin (signs with the issuer).")
@click.option("--to-asset", "to_asset", required=True, help="The deposit token paid out of the reserve at par.")
@click.option("--id", "tx_id", help="Your id for this redemption (idempotent).")
@json_option
@pass_context
def redeem(ctx: Context, code: str, amount: str, holder: str, to_asset: str, tx_id: str | None) -> None:
    """Redeem AMOUNT of stablecoin ASSET for deposit tokens from the reserve, at par.

    \b
    Examples:
      wonledger redeem KRWS 400000 --from alice --to-asset dKRW.hanriver
    """
    typed = TypedAmount.parse(amount)
    ledger = ctx.ledger()
    report_receipt(ctx, ledger, ledger.stablecoins.redeem(code, typed, holder, to_asset, tx_id=tx_id))


@click.group()
@json_option
def report() -> None:
    """Reports over the whole ledger (`--json` may come before or after the report's name).

    \b
    Examples:
      wonledger report supply
      wonledger report --json flows
      wonledger report rejections --code OUTFLOW_LIMIT
    """


@report.command("supply", short_help="Each stablecoin's supply beside its reserve.")
@json_option
@pass_context
def report_supply(ctx: Context) -> None:
    """Each stablecoin's supply beside the reserve that backs it.

    \b
    Examples:
      wonledger report supply
      wonledger report supply --json
    """
    ledger = ctx.ledger()
    rows = ledger.stablecoins.supply()
    if ctx.json:
        emit_json({"assets": rows})
        return
    exponents = {a.code: a.exponent for a in ledger.registry.assets()}
    supply = amounts([(r["supply"], exponents[r["asset"]]) for r in rows])
    reserve = amounts([(r["reserve"], exponents[r["asset"]]) for r in rows])
    table(
        [(r["asset"], r["issuer"], s, v, ", ".join(r["reserve_assets"]), r["ratio"] or "-") for r, s, v in zip(rows, supply, reserve, strict=True)],
        ("asset", "issuer", "supply", "reserve", "held in", "ratio"),
        right=(2, 3, 5),
    )
