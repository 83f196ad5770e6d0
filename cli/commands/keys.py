"""keys new, keys rotate, keys revoke, keys list: a participant's signing keys over time.

A key is made by its owner (``keys new`` on the owner's machine writes the
private key, 0600, and prints only the public key); a rotation is signed
with the old and the new key; a revocation is signed by whoever registered
the participant and installs the public key the participant made.
"""

from __future__ import annotations

import base64

import click

from wonledger import KeyChange, KeyRecord, make_participant_key, parse_public_key
from wonledger_cli.context import Context, json_option, pass_context
from wonledger_cli.render import emit_json, table


@click.group()
@json_option
def keys() -> None:
    """Make, rotate or revoke a participant's signing key; list the keys it has had.

    \b
    Examples:
      wonledger keys list alice
      wonledger keys rotate alice
      wonledger --keys ~/my-keys keys new dave
      wonledger keys revoke dave --public-key KEY
    """


def _public(raw: bytes) -> str:
    """A public key as the registry shows it: base64url, no padding (private keys are never shown)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _record_json(k: KeyRecord) -> dict[str, object]:
    return {"public_key": _public(k.public_key), "valid_from": k.valid_from, "retired_at": k.retired_at, "reason": k.reason}


def _show_change(ctx: Context, change: KeyChange, verb: str) -> None:
    if ctx.json:
        emit_json({"participant": change.participant, "retired": _record_json(change.retired), "current": _record_json(change.current)})
        return
    click.echo(f"{verb} {change.participant}'s key at {change.retired.retired_at}")
    click.echo(f"  retired  {_public(change.retired.public_key)}  (signs nothing from then on; earlier entries still verify)")
    click.echo(f"  current  {_public(change.current.public_key)}  (private key in {ctx.keys}/{change.participant}.pem)")


@keys.command("new", short_help="Make a key pair here; print its public key.")
@click.argument("participant_id", metavar="ID")
@json_option
@pass_context
def keys_new(ctx: Context, participant_id: str) -> None:
    """Make ID's key pair in the key directory and print its public key (the private key never leaves the file).

    Give the public key to whoever registers you, or, if your key was lost
    or exposed, to your registrar for `keys revoke ID --public-key KEY`.

    \b
    Examples:
      wonledger --keys ~/my-keys keys new dave
      wonledger --keys ~/my-keys --json keys new dave
    """
    public = make_participant_key(ctx.keys, participant_id)
    if ctx.json:
        emit_json({"participant": participant_id, "public_key": _public(public)})
        return
    click.echo(f"made {participant_id}'s key in {ctx.keys}/{participant_id}.pem (0600)")
    click.echo(f"public key  {_public(public)}")


@keys.command("rotate", short_help="Replace a key with a new one (needs the old).")
@click.argument("participant_id", metavar="ID")
@json_option
@pass_context
def keys_rotate(ctx: Context, participant_id: str) -> None:
    """Replace ID's key with a new one; needs ID's current key in the key directory.

    \b
    Examples:
      wonledger keys rotate alice
    """
    _show_change(ctx, ctx.ledger().registry.rotate_key(participant_id), "rotated")


@keys.command("revoke", short_help="Registrar installs a participant's new key.")
@click.argument("participant_id", metavar="ID")
@click.option("--public-key", "public_key", required=True, help="The new public key ID made itself (`wonledger keys new ID` prints it).")
@click.option("--by", "by", help="The registrar who signs (default: whoever registered ID).")
@json_option
@pass_context
def keys_revoke(ctx: Context, participant_id: str, public_key: str, by: str | None) -> None:
    """Retire ID's key now (lost or exposed) and install the public key ID made; signed by ID's registrar.

    \b
    Examples:
      wonledger keys revoke dave --public-key tZzq3E-U1O3Wp3GXweSfAVoNw6IQc18al5Y-IBIB3nI
      wonledger keys revoke dave --public-key KEY --by namsan
    """
    change = ctx.ledger().registry.revoke_key(participant_id, parse_public_key(public_key), by)
    if ctx.json:
        _show_change(ctx, change, "revoked")
        return
    click.echo(f"revoked {change.participant}'s key at {change.retired.retired_at} (signed by its registrar)")
    click.echo(f"  retired  {_public(change.retired.public_key)}  (signs nothing from then on; earlier entries still verify)")
    click.echo(f"  current  {_public(change.current.public_key)}  (its private key is {change.participant}'s own)")


@keys.command("list", short_help="Every key ID has had, and when it could sign.")
@click.argument("participant_id", metavar="ID")
@json_option
@pass_context
def keys_list(ctx: Context, participant_id: str) -> None:
    """Every key ID has had, and when each could sign.

    \b
    Examples:
      wonledger keys list alice
      wonledger --json keys list alice
    """
    history = ctx.ledger().registry.key_history(participant_id)
    if ctx.json:
        emit_json({"participant": participant_id, "keys": [_record_json(k) for k in history]})
        return
    rows = [(_public(k.public_key), _since(k.valid_from), k.retired_at or "", k.reason or "current") for k in history]
    table(rows, ("public key", "valid from", "retired at", "status"))


def _since(valid_from: str) -> str:
    # A participant's first key is stored as valid from the epoch: it signs from the participant's registration on.
    return "since registration" if valid_from.startswith("1970-01-01T00:00:00") else valid_from
