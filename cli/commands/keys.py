"""keys rotate, keys revoke, keys list: a participant's signing keys over time."""

from __future__ import annotations

import base64

import click

from cli.context import Context, json_option, pass_context
from cli.render import emit_json, table
from ledger import KeyChange, KeyRecord


@click.group()
@json_option
def keys() -> None:
    """Rotate or revoke a participant's signing key; list the keys it has had.

    \b
    Examples:
      wonledger keys list alice
      wonledger keys rotate alice
      wonledger keys revoke alice
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
    _show_change(ctx, ctx.ledger().rotate_key(participant_id), "rotated")


@keys.command("revoke", short_help="Retire a lost key now; issue a new one.")
@click.argument("participant_id", metavar="ID")
@json_option
@pass_context
def keys_revoke(ctx: Context, participant_id: str) -> None:
    """Retire ID's key now (lost or exposed) and issue ID a new one; no old key needed.

    \b
    Examples:
      wonledger keys revoke alice
    """
    _show_change(ctx, ctx.ledger().revoke_key(participant_id), "revoked")


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
    history = ctx.ledger().key_history(participant_id)
    if ctx.json:
        emit_json({"participant": participant_id, "keys": [_record_json(k) for k in history]})
        return
    rows = [(_public(k.public_key), _since(k.valid_from), k.retired_at or "", k.reason or "current") for k in history]
    table(rows, ("public key", "valid from", "retired at", "status"))


def _since(valid_from: str) -> str:
    # A participant's first key is stored as valid from the epoch: it signs from the participant's registration on.
    return "since registration" if valid_from.startswith("1970-01-01T00:00:00") else valid_from
