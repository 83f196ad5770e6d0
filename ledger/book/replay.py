"""The journal replayed through the rulebook into a state held in memory.

One replay for everything that rebuilds what the journal proves: ``verify``
(which checks every entry on the way and compares every table with the
state) and the rebuild of the control tables after an upgrade. Both read the
entries the store decodes and decide each entry with the same rulebook the
book writes with (:meth:`Rulebook.from_policy`), from nothing but the
journal: the only registry a replay starts from is the one a ``genesis``
entry froze (a ledger upgraded from a registry kept outside the journal),
and only where an upgrade puts one (before any signed registry entry, see
:mod:`wonledger.rulebook.genesis`); the capital-flow controls judge every
entry after that genesis, or every entry of a ledger that has none.
"""

from __future__ import annotations

from wonledger.domain.errors import BadInput, LedgerError
from wonledger.domain.model import REVERSAL, SignedTx, StoredTx
from wonledger.rulebook.controls import ControlState
from wonledger.rulebook.genesis import GENESIS_ID, FrozenRegistry, read_snapshot
from wonledger.rulebook.rules import Effect, LedgerState, Rulebook, signature_keys
from wonledger.store import Store

__all__ = ["GENESIS_ID", "Replay", "seed_from_snapshot"]


class Replay:
    """A replay of ``store``'s journal: the rulebook, the state it builds, and the genesis entry it starts from.

    The controls' rows are recorded as they are applied (``state.controls.record``).
    ``judged_after`` is the seq after which the capital-flow controls judge
    entries: that of the genesis entry a replay starts from (entries up to it
    were accepted by an older wonledger, and are measured, not judged), else
    0. It is derived from the journal, never read from anywhere else.
    """

    def __init__(self, store: Store, enforce_controls: bool = True) -> None:
        self.store = store
        self.rules = Rulebook.from_policy()
        self.state = LedgerState(store.ledger_id, keep_originals=False, enforce_controls=enforce_controls)

        def read(uow) -> tuple[tuple[StoredTx, tuple, str] | None, tuple[int, str] | None]:
            genesis = uow.journal.entry(GENESIS_ID, strict=True)
            before = uow.journal.first_registry_entry(genesis[0].seq) if genesis is not None else None
            return genesis, before

        genesis, before = store.reading(read)
        #: the state's controls (``state.controls``), which a replay always has
        self.controls = self.state.controls = ControlState(record=True, policy=self.rules.flow_policy)
        #: the entry that froze the registry the replay starts from, if this ledger has one where an upgrade puts it
        self.genesis: StoredTx | None = genesis[0] if genesis is not None and before is None else None
        self.judged_after = self.genesis.seq if self.genesis is not None else 0

    def seed(self) -> str | None:
        """Start from the genesis entry's registry, if there is one; what is wrong with it, else None.

        What the registry holds is checked when the replay reaches the genesis
        entry (the rulebook decides it like any other); a registry that cannot
        be read at all seeds nothing.
        """
        if self.genesis is None:
            return None
        try:
            if self.genesis.signed is None:
                raise BadInput(self.genesis.problem)
            seed_from_snapshot(self.state, read_snapshot(self.genesis.tx.snapshot))
        except LedgerError as exc:
            return exc.message
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


def seed_from_snapshot(state: LedgerState, frozen: FrozenRegistry) -> None:
    """Start a replay from the registry a genesis entry froze."""
    state.keys.update(frozen.keys)
    state.participants.update(frozen.participants)
    state.assets.update(frozen.assets)
    state.issuers.update(frozen.issuers)
    for account in frozen.accounts.values():
        state.add_account(account)
