"""init, info, participant, account and balance: the ledger and who is in it."""

from __future__ import annotations

import click

from cli.context import Context, json_option, pass_context
from cli.render import account_json, emit_json, money, table
from ledger import Account, Ledger, UnknownAccount


@click.command()
@click.option("--world", type=click.Choice(["default", "empty"]), default="default", show_default=True, help="What to load.")
@json_option
@pass_context
def init(ctx: Context, world: str) -> None:
    """Create the schema, load the world and make its keys."""
    ledger = Ledger.create(ctx.db, ctx.keys, world=world)
    ctx._ledger = ledger
    facts = ledger.info()
    if ctx.json:
        emit_json(_info_json(facts))
        return
    click.echo(f"Created ledger {facts.ledger} in {facts.db}")
    funding = sum(1 for _ in ledger.funding_ids())
    click.echo(
        f"  world {world}: {len(ledger.participants())} participants, {facts.accounts} accounts, "
        f"{facts.transactions} journal entries: {facts.transactions - funding} signed registry entries, {funding} funding transactions"
    )
    click.echo(f"  keys in {ctx.keys}/ (private: keep them out of version control)")


@click.command()
@json_option
@pass_context
def info(ctx: Context) -> None:
    """Ledger id, database, schema version and counts."""
    ledger = ctx.ledger()
    facts = ledger.info()
    if ctx.json:
        emit_json(_info_json(facts))
        return
    click.echo(f"ledger        {facts.ledger}")
    click.echo(f"db            {facts.db}")
    click.echo(f"schema        {facts.schema}")
    click.echo(f"transactions  {facts.transactions}")
    click.echo(f"accounts      {facts.accounts}")
    click.echo(f"operator key  {ledger.operator_key() or '(none yet: made at the first checkpoint)'}")


def _info_json(facts) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {"ledger": facts.ledger, "db": facts.db, "schema": facts.schema, "transactions": facts.transactions, "accounts": facts.accounts}


@click.group()
def participant() -> None:
    """The registry of participants."""


def _participant_json(p) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from ledger.signing import b64url

    return {"id": p.id, "kind": p.kind, "jurisdiction": p.jurisdiction, "resident": p.resident, "registrar": p.registrar, "public_key": b64url(p.public_key)}


@participant.command("list")
@json_option
@pass_context
def participant_list(ctx: Context) -> None:
    """Every participant."""
    people = ctx.ledger().participants()
    if ctx.json:
        emit_json({"participants": [_participant_json(p) for p in people]})
        return
    table([(p.id, p.kind, p.jurisdiction, "resident" if p.resident else "non-resident") for p in people], ("id", "kind", "jurisdiction", "residency"))


@participant.command("show")
@click.argument("participant_id", metavar="ID")
@json_option
@pass_context
def participant_show(ctx: Context, participant_id: str) -> None:
    """One participant and its accounts."""
    ledger = ctx.ledger()
    p = ledger.participant(participant_id)
    accounts = ledger.accounts(owner=p.id)
    if ctx.json:
        emit_json({**_participant_json(p), "accounts": [a.id for a in accounts]})
        return
    click.echo(f"{p.id}: {p.kind}, {p.jurisdiction}, {'resident' if p.resident else 'non-resident'}")
    for a in accounts:
        click.echo(f"  {a.id}")


@participant.command("add")
@click.argument("participant_id", metavar="ID")
@click.option("--kind", required=True, help="bank, individual, corporate, ...")
@click.option("--jurisdiction", required=True, help="Two-letter country code, e.g. KR or HK.")
@click.option("--resident/--non-resident", default=True, show_default=True, help="Resident of the jurisdiction?")
@click.option("--by", "by", help="Who vouches and signs: its regulator for an institution (the default), a bank of its jurisdiction for a customer.")
@json_option
@pass_context
def participant_add(ctx: Context, participant_id: str, kind: str, jurisdiction: str, resident: bool, by: str | None) -> None:
    """Register a participant by a signed entry of whoever vouches for it; its key is made here if it has none.

    \b
    Institutions are registered by their jurisdiction's regulator (fsc, hkma,
    occ in the default world); individuals and corporates by a bank of their
    jurisdiction, which vouches for who they are and where they live (KYC).
    Without --by a customer is registered by the first bank of its
    jurisdiction whose key is in the key directory.
    """
    p = ctx.ledger().add_participant(participant_id, kind, jurisdiction.upper(), resident, by=by)
    if ctx.json:
        emit_json(_participant_json(p))
        return
    click.echo(f"added {p.id} ({p.kind}, {p.jurisdiction}), registered by {p.registrar}; key in {ctx.keys}/{p.id}.pem")


@click.group()
def account() -> None:
    """Open and list accounts."""


@account.command("open")
@click.argument("owner")
@click.argument("asset")
@click.option("--label", default="", help="Tells apart several accounts of one owner in one asset.")
@json_option
@pass_context
def account_open(ctx: Context, owner: str, asset: str, label: str) -> None:
    """Open OWNER's account in ASSET."""
    a = ctx.ledger().open_account(owner, asset, label)
    if ctx.json:
        emit_json(account_json(a))
        return
    click.echo(f"opened {a.id}")


@account.command("list")
@click.option("--owner", help="Only this owner's accounts.")
@click.option("--asset", help="Only accounts in this asset.")
@json_option
@pass_context
def account_list(ctx: Context, owner: str | None, asset: str | None) -> None:
    """Every account (or an owner's, or an asset's)."""
    accounts = ctx.ledger().accounts(owner=owner, asset=asset)
    if ctx.json:
        emit_json({"accounts": [account_json(a) for a in accounts]})
        return
    table([(a.id, a.owner, a.asset, ",".join(sorted(a.flags))) for a in accounts], ("id", "owner", "asset", "flags"))


@click.command()
@click.argument("names", nargs=-1, metavar="[ACCOUNT|OWNER]...")
@json_option
@pass_context
def balance(ctx: Context, names: tuple[str, ...]) -> None:
    """Balances of accounts (an owner's name shows all of its accounts)."""
    ledger = ctx.ledger()
    accounts: list[Account] = []
    for name in names or (None,):
        if name is None:
            accounts = ledger.accounts()
        elif ":" in name:
            accounts.append(ledger.account(name))
        else:
            owned = ledger.accounts(owner=name)
            if not owned:
                ledger.participant(name)
                raise UnknownAccount(f"{name} has no accounts")
            accounts.extend(owned)
    if ctx.json:
        emit_json({"accounts": [account_json(a) for a in accounts]})
        return
    assets = {a.code: a for a in ledger.assets()}
    rows = []
    for a in accounts:
        asset = assets[a.asset]
        rows.append((a.id, money(a.balance, asset), money(a.available, asset), money(a.debits_pending, asset) if a.debits_pending else ""))
    table(rows, ("account", "balance", "available", "held"), right=(1, 2, 3))
