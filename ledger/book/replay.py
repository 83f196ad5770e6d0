"""The journal replayed through the rulebook into a state held in memory.

One replay for everything that rebuilds what the journal proves: ``verify``
(which checks every entry on the way and compares every table with the
state) and the rebuild of the control tables after an upgrade. Both read the
entries the store decodes, start from the registry a ``genesis`` entry froze
(a ledger upgraded from a registry kept outside the journal), and decide each
entry with the same rulebook the book writes with (:meth:`Rulebook.from_policy`).
"""

from __future__ import annotations

import json
from typing import Any

from wonledger.domain.errors import BadInput, LedgerError
from wonledger.domain.model import REVERSAL, Account, KeyRecord, Participant, SignedTx, StoredTx
from wonledger.domain.money import Asset
from wonledger.domain.signing import unb64url
from wonledger.rulebook.controls import ControlState
from wonledger.rulebook.rules import Effect, LedgerState, Rulebook, signature_keys
from wonledger.store import Store

#: The id of the entry that froze a registry kept outside the journal (see ``wonledger.book.upgrade``).
GENESIS_ID = "_genesis"


class Replay:
    """A replay of ``store``'s journal: the rulebook, the state it builds, and the genesis entry it starts from.

    The controls' rows are recorded as they are applied (``state.controls.record``).
    With ``enforce_controls`` False the capital-flow controls measure and judge
    nothing; ``judged_after`` is the seq after which verify holds entries to them
    (kept in meta by a rebuild: entries before it were accepted by an older wonledger).
    """

    def __init__(self, store: Store, enforce_controls: bool = True) -> None:
        self.store = store
        self.rules = Rulebook.from_policy()
        self.state = LedgerState(store.ledger_id, keep_originals=False, enforce_controls=enforce_controls)
        judged_after, quotes, genesis = store.reading(
            lambda uow: (uow.records.meta("controls_from_seq"), uow.records.all_quotes(), uow.journal.entry(GENESIS_ID, strict=True))
        )
        self.judged_after = int(judged_after or 0)
        #: the state's controls (``state.controls``), which a replay always has
        self.controls = self.state.controls = ControlState(record=True, quotes=quotes, policy=self.rules.flow_policy)
        #: the entry that froze the registry the replay starts from, if this ledger has one
        self.genesis: StoredTx | None = genesis[0] if genesis is not None else None

    def seed(self) -> str | None:
        """Start from the genesis entry's registry, if there is one; what is wrong with it, else None."""
        if self.genesis is None:
            return None
        try:
            if self.genesis.signed is None:
                raise ValueError(self.genesis.problem)
            seed_from_snapshot(self.state, json.loads(self.genesis.tx.snapshot or "null"))
        except (ValueError, KeyError, TypeError, LedgerError) as exc:
            return str(exc)
        return None

    def claimed_signers(self, signed: SignedTx, at: str) -> dict[str, bytes]:
        """Each signer with the key the replayed registry gives it at ``at``, as the signatures claim (none checked here)."""
        return {name: key for name, key, _ in signature_keys(signed, lambda p: self.state.public_key_at(p, at)) if key is not None}

    def decide(self, entry: StoredTx, signers: dict[str, bytes]) -> Effect:
        """What the rulebook makes of ``entry`` at its commit time, signed by ``signers``; raises its refusal."""
        tx = entry.tx
        ref = tx.ref
        if tx.kind == REVERSAL and ref and ref not in self.state.originals:
            self.state.originals.update(self.store.reading(lambda uow: uow.journal.entry_legs([ref])))
        return self.rules.decide(self.state, tx, signers, entry.at, system=entry.id.startswith("_"))

    def apply(self, entry: StoredTx, effect: Effect) -> None:
        """Keep what an accepted entry did."""
        self.state.apply(effect, entry.tx, entry.seq, entry.at)
        self.state.originals.clear()


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
