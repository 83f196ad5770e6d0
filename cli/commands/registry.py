"""init, info, participant, account and balance: the ledger and who is in it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from wonledger import Account
from wonledger_cli.context import Context, json_option, pass_context
from wonledger_cli.render import account_json, amounts, count, emit_json, table

if TYPE_CHECKING:
    from wonledger import Ledger


@click.command()
@click.option(
    "--world",
    type=click.Choice(["default", "empty", "kr", "hk"]),
    default="default",
    show_default=True,
    help="What to load: the default world, nothing, or the Korean or Hong Kong operator's world (two ledgers, docs/crossledger.md).",
)
@json_option
@pass_context
def init(ctx: Context, world: str) -> None:
    """Create the schema, load the world and make its keys.

    \b
    Examples:
      wonledger init
      wonledger init --world empty
      wonledger --db sqlite:///kr.db --keys kr-keys init --world kr
      wonledger --db postgresql+psycopg://user@host/dbname init
    """
    from wonledger import Ledger
    from wonledger_cli.waiting import terminal_reporter

    ledger = Ledger.create(ctx.db, ctx.keys, world=world, wait_db=ctx.wait_db, on_wait=terminal_reporter())
    ctx._ledger = ledger
    facts = ledger.info()
    if ctx.json:
        emit_json(_info_json(facts))
        return
    click.echo(f"Created ledger {facts.ledger} in {facts.db}")
    funding = len(ledger.reports.funding_ids())
    click.echo(
        f"  world {world}: {count(len(ledger.registry.participants()), 'participant')}, {count(facts.accounts, 'account')}, "
        f"{count(facts.transactions, 'journal entry', 'journal entries')}: {count(facts.transactions - funding, 'signed registry entry', 'signed registry entries')}, "
        f"{count(funding, 'funding transaction')}"
    )
    click.echo(f"  keys in {ctx.keys}/ (private: keep them out of version control)")


@click.command()
@json_option
@pass_context
def info(ctx: Context) -> None:
    """Ledger id, database, schema version, counts and the operator's public key.

    The ledger id is what signed transactions name in their "ledger" field;
    the operator key is the one to pin when checking proofs offline.

    \b
    Examples:
      wonledger info
      wonledger --json info
    """
    ledger = ctx.ledger()
    facts = ledger.info()
    if ctx.json:
        emit_json(_info_json(facts))
        return
    operator = facts.operator_key
    click.echo(f"ledger        {facts.ledger}")
    click.echo(f"db            {facts.db}")
    click.echo(f"schema        {facts.schema}")
    click.echo(f"transactions  {facts.transactions:,}")
    click.echo(f"accounts      {facts.accounts:,}")
    click.echo(f"operator key  {operator or '(none yet: made by the first checkpoint)'}")


def _info_json(facts) -> dict[str, object]:
    # The operator key comes last: it was added after the other fields, whose order programs may rely on.
    return {
        "ledger": facts.ledger, "db": facts.db, "schema": facts.schema, "transactions": facts.transactions, "accounts": facts.accounts,
        "operator_key": facts.operator_key,
    }


@click.group()
@json_option
def participant() -> None:
    """The registry of participants.

    \b
    Examples:
      wonledger participant list
      wonledger participant show alice
    """


def _participant_json(p) -> dict[str, object]:
    from wonledger import b64url

    return {"id": p.id, "kind": p.kind, "jurisdiction": p.jurisdiction, "resident": p.resident, "registrar": p.registrar, "public_key": b64url(p.public_key)}


@participant.command("list")
@json_option
@pass_context
def participant_list(ctx: Context) -> None:
    """Every participant.

    \b
    Examples:
      wonledger participant list
      wonledger --json participant list
    """
    people = ctx.ledger().registry.participants()
    if ctx.json:
        emit_json({"participants": [_participant_json(p) for p in people]})
        return
    table([(p.id, p.kind, p.jurisdiction, "resident" if p.resident else "non-resident") for p in people], ("id", "kind", "jurisdiction", "residency"))


@participant.command("show")
@click.argument("participant_id", metavar="ID")
@json_option
@pass_context
def participant_show(ctx: Context, participant_id: str) -> None:
    """One participant and its accounts.

    \b
    Examples:
      wonledger participant show alice
    """
    ledger = ctx.ledger()
    p = ledger.registry.participant(participant_id)
    accounts = ledger.registry.accounts(owner=p.id)
    if ctx.json:
        emit_json({**_participant_json(p), "accounts": [a.id for a in accounts]})
        return
    vouched = "itself (its jurisdiction's authority)" if p.registrar == p.id else (p.registrar or "nobody: frozen at an upgrade (see verify)")
    click.echo(f"{p.id}: {p.kind}, {p.jurisdiction}, {'resident' if p.resident else 'non-resident'}; registrar: {vouched}")
    for a in accounts:
        click.echo(f"  {a.id}")


@participant.command("add", short_help="Register a participant; its registrar signs.")
@click.argument("participant_id", metavar="ID")
@click.option("--kind", required=True, help="bank, individual, corporate, ...")
@click.option("--jurisdiction", required=True, help="Two-letter country code, e.g. KR or HK.")
@click.option("--resident/--non-resident", default=True, show_default=True, help="Resident of the jurisdiction?")
@click.option("--by", "by", help="Who vouches and signs: its regulator for an institution (the default), a bank of its jurisdiction for a customer.")
@json_option
@pass_context
def participant_add(ctx: Context, participant_id: str, kind: str, jurisdiction: str, resident: bool, by: str | None) -> None:
    """Register a participant by a signed entry of whoever vouches for it; its key is made here if it has none.

    Institutions are registered by their jurisdiction's regulator (fsc, hkma,
    occ in the default world); individuals and corporates by a bank of their
    jurisdiction, which vouches for who they are and where they live (KYC).
    Without --by a customer is registered by the first bank of its
    jurisdiction (alphabetically) whose key is in the key directory.

    \b
    Examples:
      wonledger participant add busan-fish --kind corporate --jurisdiction KR --by namsan
      wonledger participant add hkbank --kind bank --jurisdiction HK
    """
    p = ctx.ledger().registry.add_participant(participant_id, kind, jurisdiction.upper(), resident, by=by)
    if ctx.json:
        emit_json(_participant_json(p))
        return
    click.echo(f"added {p.id} ({p.kind}, {p.jurisdiction}), registered by {p.registrar}; key in {ctx.keys}/{p.id}.pem")


@click.group()
@json_option
def account() -> None:
    """Open and list accounts.

    \b
    Examples:
      wonledger account open busan-fish dKRW.namsan
      wonledger account list --owner peakfx
    """


@account.command("open")
@click.argument("owner")
@click.argument("asset")
@click.option("--label", default="", help="Tells apart several accounts of one owner in one asset.")
@json_option
@pass_context
def account_open(ctx: Context, owner: str, asset: str, label: str) -> None:
    """Open OWNER's account in ASSET.

    \b
    Examples:
      wonledger account open busan-fish dKRW.namsan
      wonledger account open kstable dKRW.namsan --label reserve
    """
    a = ctx.ledger().registry.open_account(owner, asset, label)
    if ctx.json:
        emit_json(account_json(a))
        return
    click.echo(f"opened {a.id}")


@account.command("list", short_help="Accounts with their balances.")
@click.option("--owner", help="Only this owner's accounts.")
@click.option("--asset", help="Only accounts in this asset.")
@json_option
@pass_context
def account_list(ctx: Context, owner: str | None, asset: str | None) -> None:
    """Every account (or an owner's, or an asset's), with its balance.

    \b
    Examples:
      wonledger account list --owner peakfx
      wonledger account list --asset KRWS
    """
    ledger = ctx.ledger()
    if owner is not None:
        ledger.registry.participant(owner)  # a mistyped owner is an error with a suggestion, not an empty list
    if asset is not None:
        ledger.registry.asset(asset)
    accounts = ledger.registry.accounts(owner=owner, asset=asset)
    if ctx.json:
        emit_json({"accounts": [account_json(a) for a in accounts]})
        return
    _balance_table(accounts, _exponents(ledger, accounts), flags=True)


@click.command()
@click.argument("names", nargs=-1, metavar="[ACCOUNT|OWNER]...")
@json_option
@pass_context
def balance(ctx: Context, names: tuple[str, ...]) -> None:
    """Balances of accounts (an owner's name shows all of its accounts).

    Amounts are in major units, one column per figure, with the asset in a
    column of its own; "held" is blank when nothing is held.

    \b
    Examples:
      wonledger balance alice
      wonledger balance alice:dKRW.hanriver kstable:dKRW.hanriver:reserve
      wonledger --json balance alice
    """
    from wonledger import read_balances

    # A plain SQLite ledger is read through sqlite3 alone (no SQLAlchemy: most of the start-up); anything else,
    # and every error, through the ledger as usual.
    quick = read_balances(ctx.db, names)
    if quick is None:
        ledger = ctx.ledger()
        accounts = ledger.balances(names)
        exponents = _exponents(ledger, accounts)
    else:
        accounts, exponents = quick
    if ctx.json:
        emit_json({"accounts": [account_json(a) for a in accounts]})
        return
    _balance_table(accounts, exponents)


def _exponents(ledger: Ledger, accounts: list[Account]) -> dict[str, int]:
    return {code: ledger.registry.asset(code).exponent for code in {a.asset for a in accounts}}


def _balance_table(accounts: list[Account], exponents: dict[str, int], flags: bool = False) -> None:
    columns = [
        amounts([(a.balance, exponents[a.asset]) for a in accounts]),
        amounts([(a.available, exponents[a.asset]) for a in accounts]),
        amounts([(a.debits_pending, exponents[a.asset]) if a.debits_pending else None for a in accounts]),
    ]
    rows = [
        (a.id, a.asset, bal, avail, held, *((",".join(sorted(a.flags)),) if flags else ()))
        for a, bal, avail, held in zip(accounts, *columns, strict=True)
    ]
    table(rows, ("account", "asset", "balance", "available", "held", *(("flags",) if flags else ())), right=(2, 3, 4))
