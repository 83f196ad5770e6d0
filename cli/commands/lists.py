"""asset list and hold list: what exists, and what is waiting to be posted or voided."""

from __future__ import annotations

import click

from wonledger_cli.context import Context, json_option, pass_context
from wonledger_cli.render import amounts, emit_json, table


@click.group()
@json_option
def asset() -> None:
    """The assets of this ledger.

    \b
    Examples:
      wonledger asset list
    """


@asset.command("list", short_help="Every asset, its kind, currency and issuer.")
@json_option
@pass_context
def asset_list(ctx: Context) -> None:
    """Every asset: code, kind, currency, exponent (decimal places) and issuer.

    \b
    Examples:
      wonledger asset list
      wonledger asset list --json
    """
    assets = ctx.ledger().registry.assets()
    if ctx.json:
        emit_json({"assets": [{"asset": a.code, "kind": a.kind, "currency": a.currency, "exponent": a.exponent, "issuer": a.issuer} for a in assets]})
        return
    table([(a.code, a.kind, a.currency, str(a.exponent), a.issuer) for a in assets], ("asset", "kind", "currency", "exponent", "issuer"), right=(3,))


@click.group()
@json_option
def hold() -> None:
    """Holds: amounts reserved by `transfer --hold` or `swap --hold`, waiting for `post` or `void`.

    \b
    Examples:
      wonledger hold list
      wonledger hold list --account alice:dKRW.hanriver
    """


@hold.command("list", short_help="Pending holds and when each expires.")
@click.option("--account", "account_id", metavar="ACCOUNT", help="Only holds with a leg on this account.")
@json_option
@pass_context
def hold_list(ctx: Context, account_id: str | None) -> None:
    """Holds still pending, soonest expiry first, with their legs.

    A hold not posted or voided by its expiry time is voided by the ledger.

    \b
    Examples:
      wonledger hold list
      wonledger hold list --account alice:dKRW.hanriver
    """
    ledger = ctx.ledger()
    if account_id is not None:
        account_id = ledger.names.account(account_id).id
    holds = ledger.holds.pending(account_id)
    if ctx.json:
        emit_json({"holds": [{"id": h.id, "seq": h.seq, "expires_at": h.expires_at, "legs": [leg.to_wire() for leg in h.legs]} for h in holds]})
        return
    if not holds:
        click.echo("no pending holds")
        return
    exponents = {a.code: a.exponent for a in ledger.registry.assets()}
    rows = [(h, leg) for h in holds for leg in h.legs]
    column = amounts([(leg.amount, exponents[leg.asset]) for _, leg in rows])
    table(
        [(h.id, h.expires_at[:19] + "Z", held, leg.asset, f"{leg.debit} -> {leg.credit}") for (h, leg), held in zip(rows, column, strict=True)],
        ("hold", "expires (UTC)", "amount", "asset", "from -> to"),
        right=(2,),
    )
