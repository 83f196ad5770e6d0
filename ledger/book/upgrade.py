"""Upgrading a ledger whose registry was kept outside the journal (schema 0003 and before).

Such a ledger's participants, keys, assets, issuers and accounts were written
straight into their tables, signed by nobody. On the first write after the
upgrade, the book appends one ``genesis`` entry (id ``_genesis``) that
freezes that registry as it stood: its snapshot is in the entry's body, so the
hash chain (and every checkpoint signed after it) covers it from then on.
``verify`` starts its replay from that snapshot and says so; entries before
it are checked against the frozen registry, entries after it against the
registry the journal builds. What the snapshot holds cannot be proven to
anyone by a signature of its registrars: that is what `verify` reports.
"""

from __future__ import annotations

import json
from typing import Any

from wonledger.domain.errors import BadInput
from wonledger.domain.model import GENESIS, Account, KeyRecord, Participant, Tx
from wonledger.domain.money import Asset
from wonledger.rulebook.rules import LedgerState
from wonledger.domain.signing import b64url, unb64url
from wonledger.store import UNSIGNED_META

GENESIS_ID = "_genesis"


def genesis_tx(ledger_id: str, participants: list[Participant], keys: list[KeyRecord], assets: list[Asset], issuers: dict[str, str], accounts: list[Account]) -> Tx:
    snapshot = {
        "participants": [
            {"id": p.id, "kind": p.kind, "jurisdiction": p.jurisdiction, "resident": p.resident, "registrar": p.registrar}
            for p in sorted(participants, key=lambda p: p.id)
        ],
        "keys": [
            {"participant": k.participant, "public_key": b64url(k.public_key), "valid_from": k.valid_from,
             **({"retired_at": k.retired_at, "reason": k.reason} if k.retired_at else {})}
            for k in sorted(keys, key=lambda k: (k.participant, k.valid_from))
        ],
        "assets": [
            {"code": a.code, "currency": a.currency, "kind": a.kind, "exponent": a.exponent, "issuer": a.issuer}
            for a in sorted(assets, key=lambda a: a.code)
        ],
        "issuers": [{"asset": code, "issuer": who} for code, who in sorted(issuers.items())],
        "accounts": [
            {"id": a.id, "owner": a.owner, "asset": a.asset, "flags": sorted(a.flags), "label": a.label}
            for a in sorted(accounts, key=lambda a: a.id)
        ],
    }
    return Tx(
        ledger=ledger_id,
        id=GENESIS_ID,
        kind=GENESIS,
        legs=(),
        memo="registry kept outside the journal before schema 0004, frozen at the upgrade",
        snapshot=json.dumps(snapshot, sort_keys=True, separators=(",", ":")),
    )


def seed_from_snapshot(state: LedgerState, snapshot: dict[str, Any]) -> None:
    """Start a replay from the registry a genesis entry froze."""
    if not isinstance(snapshot, dict):
        raise BadInput("the snapshot is not an object")
    keys: dict[str, list[KeyRecord]] = {}
    for k in snapshot["keys"]:
        keys.setdefault(k["participant"], []).append(
            KeyRecord(k["participant"], unb64url(k["public_key"]), k["valid_from"], k.get("retired_at"), k.get("reason"))
        )
    for history in keys.values():
        history.sort(key=lambda r: r.valid_from)
    state.keys.update(keys)
    for p in snapshot["participants"]:
        current = keys.get(p["id"], [])
        key = current[-1].public_key if current else b""
        state.participants[p["id"]] = Participant(p["id"], p["kind"], p["jurisdiction"], bool(p["resident"]), key, p.get("registrar", ""))
    for a in snapshot["assets"]:
        state.assets[a["code"]] = Asset(a["code"], a["currency"], a["kind"], int(a["exponent"]), a["issuer"])
    for i in snapshot["issuers"]:
        state.issuers[i["asset"]] = i["issuer"]
    for a in snapshot["accounts"]:
        state.add_account(Account(a["id"], a["owner"], a["asset"], frozenset(a["flags"]), a["label"]))


def freeze_registry(book) -> bool:  # type: ignore[no-untyped-def]
    """Write the genesis entry of a ledger upgraded from schema 0003 or earlier, if it still needs one (checked in the write)."""

    def genesis(uow) -> Tx | None:  # type: ignore[no-untyped-def]
        if uow.meta(UNSIGNED_META) is None:
            return None
        tx = genesis_tx(book.ledger_id, uow.participants(), uow.key_history(), uow.assets(), uow.issuers(), uow.all_accounts())
        uow.delete_meta(UNSIGNED_META)
        return tx

    return book.freeze_registry(genesis) is not None
