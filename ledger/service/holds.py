"""`ledger.holds`: holds finished (posted, voided) and looked into (pending, expiry, what a post, void or expiry released).

A hold is made by a transfer or swap with a timeout (``ledger.payments``);
a hold past its timeout reads as released, and the next write voids it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wonledger.domain.errors import BadInput, KeyUnavailable
from wonledger.domain.model import EXPIRE, POST, VOID, JournalEntry, Leg, Receipt, Tx
from wonledger.domain.money import TypedAmount

if TYPE_CHECKING:
    from wonledger.service.facade import Ledger
    from wonledger.service.names import Lookups


@dataclass(frozen=True, slots=True)
class PendingHold:
    """A hold still pending: its legs and when it expires (ISO 8601 UTC)."""

    id: str
    seq: int
    expires_at: str
    legs: tuple[Leg, ...]


class Holds:
    """Posting and voiding holds, and what is pending (``ledger.holds``)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def post(self, hold_id: str, amount: int | TypedAmount | None = None, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """Post a pending hold, fully or (one-leg holds) partly; the rest is released."""
        from wonledger.flows import post_tx

        ledger = self._ledger  # its id is read inside the build: the read checks the schema once, in its transaction

        def build(names: Lookups) -> tuple[Tx, frozenset[str], None]:
            legs = names.hold_legs(hold_id)
            for leg in legs:
                names.asset(leg.asset)  # known when the receipt is shown
            minor: int | None
            if isinstance(amount, TypedAmount):
                if len(legs) != 1:
                    raise BadInput(f"hold {hold_id} has {len(legs)} legs; post it whole")
                minor = names.minor(amount, names.asset(legs[0].asset))
            else:
                minor = amount
            return post_tx(ledger.id, hold_id, legs, minor, tx_id=tx_id, memo=memo), self._finishers(names, legs), None

        return self._ledger._submit_built(build)

    def void(self, hold_id: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """Void a pending hold: release all of it."""
        from wonledger.flows import void_tx

        ledger = self._ledger  # its id is read inside the build: the read checks the schema once, in its transaction

        def build(names: Lookups) -> tuple[Tx, frozenset[str], None]:
            legs = names.hold_legs(hold_id)
            for leg in legs:
                names.asset(leg.asset)  # known when the receipt shows what was released
            return void_tx(ledger.id, hold_id, tx_id=tx_id, memo=memo), self._finishers(names, legs), None

        return self._ledger._submit_built(build)

    def _finishers(self, names: Lookups, held: Sequence[Leg]) -> frozenset[str]:
        """Who signs a post or void: the hold's debtors when their keys are here, else its creditors."""
        keys = self._ledger._keys
        accounts = names.uow.registry.accounts({a for leg in held for a in (leg.debit, leg.credit)})
        debtors = frozenset(accounts[leg.debit].owner for leg in held)
        creditors = frozenset(accounts[leg.credit].owner for leg in held)
        for side in (debtors, creditors):
            if all(keys.has(p) for p in side):
                return side
        raise KeyUnavailable(
            f"finishing a hold needs the keys of {', '.join(sorted(debtors))} or of "
            f"{', '.join(sorted(creditors))} in {keys.directory}"
        )

    def pending(self, account: str | None = None) -> list[PendingHold]:
        """Holds still pending (on ``account``, when given), soonest expiry first."""
        ledger = self._ledger
        ledger._book.expire_due()  # a hold past its timeout is not pending
        if account is not None:
            ledger._read(lambda names: names.account(account))
        rows = ledger._store.reading(lambda uow: uow.holds.pending_holds(account))
        return [PendingHold(h.id, h.seq, h.expires_at, h.legs) for h in rows]

    def expiry(self, hold_id: str) -> str | None:
        """When hold ``hold_id`` expires (or expired), None when it is no hold."""
        found = self._ledger._store.reading(lambda uow: uow.holds.holds([hold_id])).get(hold_id)
        return found.expires_at if found is not None else None

    def released_by(self, end: JournalEntry) -> tuple[Leg, ...]:
        """What the post, void or expiry ``end`` gave back of its hold, leg by leg (empty for any other entry)."""
        return self.released_by_each([end]).get(end.tx.id, ())

    def released_by_each(self, entries: Sequence[JournalEntry]) -> dict[str, tuple[Leg, ...]]:
        """For each post, void or expiry among ``entries``, what it gave back of its hold (one read for them all).

        The very computation the rulebook's effect makes when the entry is
        decided (:func:`wonledger.domain.model.released_legs`): leg by leg, in
        the hold's order, so a fee leg and the main leg between the same two
        accounts stay apart.
        """
        from wonledger.domain.model import released_legs

        ends = [e for e in entries if e.tx.kind in (POST, VOID, EXPIRE) and e.tx.ref]
        if not ends:
            return {}
        holds = self._ledger._store.reading(lambda uow: uow.journal.entry_legs({e.tx.ref for e in ends if e.tx.ref}))
        out: dict[str, tuple[Leg, ...]] = {}
        for e in ends:
            held = holds.get(e.tx.ref or "")
            if held is not None:
                out[e.tx.id] = released_legs(held[1], e.tx.legs if e.tx.kind == POST else ())
        return out

    def expire_due(self) -> int:
        """Void every hold past its timeout now (a write does it anyway); how many were."""
        return self._ledger._book.expire_due()


__all__ = ["Holds", "PendingHold"]
