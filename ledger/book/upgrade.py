"""Upgrading a ledger whose registry was kept outside the journal (schema 0003 and before).

Such a ledger's participants, keys, assets, issuers and accounts were written
straight into their tables, signed by nobody. On the first write after the
upgrade, the book appends one ``genesis`` entry (id ``_genesis``) that
freezes that registry as it stood: its snapshot is in the entry's body, so the
hash chain (and every checkpoint signed after it) covers it from then on.
``verify`` starts its replay from that snapshot and says so; entries before
it are checked against the frozen registry, entries after it against the
registry the journal builds. What the snapshot holds cannot be proven to
anyone by a signature of its registrars: that is what `verify` reports. It
must be a registry signed entries under today's rules could have made
(:mod:`wonledger.rulebook.genesis`): otherwise the book refuses to freeze it
and the upgrade stops, naming what could not have been made.

A ledger made before schema 0005 also gets its control tables rebuilt from
its journal by today's controls (:func:`rebuild_controls`).
"""

from __future__ import annotations

import json

from wonledger.book.replay import GENESIS_ID, Replay
from wonledger.domain.errors import IntegrityProblem, LedgerError
from wonledger.domain.model import GENESIS, Account, ControlTables, KeyRecord, Participant, Tx
from wonledger.domain.money import Asset
from wonledger.domain.signing import b64url
from wonledger.store import UNSIGNED_META


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


def freeze_registry(book) -> bool:
    """Write the genesis entry of a ledger upgraded from schema 0003 or earlier, if it still needs one (checked in the write)."""

    def genesis(uow) -> Tx | None:
        if uow.records.meta(UNSIGNED_META) is None:
            return None
        registry = uow.registry
        tx = genesis_tx(book.ledger_id, registry.participants(), registry.key_history(), registry.assets(), registry.issuers(), registry.all_accounts())
        uow.records.delete_meta(UNSIGNED_META)
        return tx

    try:
        return book.freeze_registry(genesis) is not None
    except IntegrityProblem as exc:
        raise IntegrityProblem(
            f"this ledger was made before schema 0004 and cannot be upgraded: {exc.message}. Its schema is up to date, but nothing "
            "was frozen into its journal: correct the registry (or restore the ledger from a backup) and open it again"
        ) from None


def rebuild_controls(book) -> None:
    """Rebuild the control tables of a ledger an older wonledger made, from its journal, by today's controls.

    The replay is verify's own (the same rulebook, from the genesis entry's
    registry, judging what verify judges): entries up to the genesis were
    accepted under the rules of their day and are measured, not judged;
    every later entry is held to the controls, and one they refuse adds no
    row (verify names it). Where the controls start to judge is derived from
    the journal by every replay, so nothing of it is kept beside the
    journal. The rows are written through the book's record path, behind
    its writers.
    """
    replay = Replay(book.store)
    replay.seed()  # an unreadable frozen registry is verify's to report
    for entry, _legs in book.store.stream_journal():
        if entry.signed is None:
            continue  # verify reports it
        replay.state.enforce_controls = entry.seq > replay.judged_after
        try:
            effect = replay.decide(entry, replay.claimed_signers(entry.signed, entry.at))
        except (ValueError, KeyError, TypeError, LedgerError):
            continue  # verify reports it
        replay.apply(entry, effect)
    record = replay.controls.record
    rows = record.tables() if record is not None else ControlTables()
    book.record(lambda uow: uow.controls.replace_control_rows(rows))
