"""`ledger.holds`: holds finished (posted, voided) and looked into (pending, expiry, what a post, void or expiry released).

A hold is made by a transfer or swap with a timeout (``ledger.payments``);
a hold past its timeout reads as released, and the next write voids it.

Conditional holds are made, fulfilled and rejected here too: one leg of a
payment across two ledgers, locked by a SHA-256 condition until an absolute
deadline (docs/wire-format.md, "Conditional holds").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wonledger.domain.errors import BadInput, KeyUnavailable
from wonledger.domain.model import EXPIRE, FULFIL, POST, REJECT, VOID, ConditionalHold, JournalEntry, Leg, QuoteTerms, Receipt, Travel, Tx
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

    # -- conditional holds ------------------------------------------------------------------
    def make_conditional(
        self,
        source: str,
        destination: str,
        amount: int | TypedAmount,
        *,
        condition: bytes,
        deadline: str,
        partner_ledger: str,
        partner_hold: str,
        quote: QuoteTerms | None = None,
        travel: Travel | None = None,
        tx_id: str | None = None,
        memo: str = "",
    ) -> Receipt:
        """Hold ``amount`` from ``source`` for ``destination`` until the preimage of ``condition`` (32 bytes of SHA-256) or ``deadline``.

        ``deadline`` is an absolute commit time (``2026-11-22T09:30:00.000000Z``);
        the hold pairs with ``partner_hold`` on the ledger ``partner_ledger``. A
        hold that is not domestic carries ``travel`` naming its party on the
        partner ledger (a :class:`Party` with ``ledger`` and ``public_key``).
        Signed by ``source``'s owner; one read, one write.
        """
        from wonledger.domain.model import Partner
        from wonledger.flows import conditional_hold_tx

        ledger = self._ledger

        def build(names: Lookups) -> tuple[Tx, list[str], None]:
            debit, credit, minor = names.pair(source, destination, amount)
            tx = conditional_hold_tx(
                ledger.id, debit.id, credit.id, debit.asset, minor, condition=condition, deadline=deadline,
                partner=Partner(partner_ledger, partner_hold), quote=quote, travel=travel, tx_id=tx_id, memo=memo,
            )
            return tx, [debit.owner], None

        return ledger._submit_built(build)

    def fulfil(self, hold_id: str, preimage: bytes, *, tx_id: str | None = None, by: str | None = None) -> Receipt:
        """Fulfil conditional hold ``hold_id`` with its 32-byte ``preimage``: all of it moves.

        The preimage is the authority, so anyone registered may relay it: signed by
        ``by``, else by the hold's creditors, else its debtors, whose keys are here.
        """
        from wonledger.flows import fulfil_tx

        ledger = self._ledger

        def build(names: Lookups) -> tuple[Tx, frozenset[str], None]:
            legs = names.hold_legs(hold_id)
            for leg in legs:
                names.asset(leg.asset)  # known when the receipt is shown
            signer = frozenset([by]) if by is not None else self._relayer(names, legs)
            return fulfil_tx(ledger.id, hold_id, legs, preimage, tx_id=tx_id), signer, None

        return ledger._submit_built(build)

    def reject(self, hold_id: str, *, tx_id: str | None = None) -> Receipt:
        """Reject conditional hold ``hold_id`` before its deadline, signed by all its creditors: all of it is released."""
        from wonledger.flows import reject_tx

        ledger = self._ledger

        def build(names: Lookups) -> tuple[Tx, frozenset[str], None]:
            legs = names.hold_legs(hold_id)
            for leg in legs:
                names.asset(leg.asset)  # known when the receipt shows what was released
            creditors = frozenset(names.uow.registry.accounts({leg.credit for leg in legs})[leg.credit].owner for leg in legs)
            missing = sorted(p for p in creditors if not ledger._keys.has(p))
            if missing:
                raise KeyUnavailable(f"rejecting hold {hold_id} needs the keys of its creditors ({', '.join(sorted(creditors))}) in {ledger._keys.directory}")
            return reject_tx(ledger.id, hold_id, tx_id=tx_id), creditors, None

        return ledger._submit_built(build)

    def conditional(self, hold_id: str) -> ConditionalHold | None:
        """Conditional hold ``hold_id`` as its entries say it stands (None: no conditional hold of that id)."""
        found = self._conditionals(None, [hold_id])
        return found[0] if found else None

    def conditionals(self, account: str | None = None) -> list[ConditionalHold]:
        """Every conditional hold (with a leg on ``account``, when given), oldest first."""
        if account is None:
            return self._conditionals(None, None)
        named = account
        return self._conditionals(self._ledger._read(lambda names: names.account(named)).id, None)

    def _conditionals(self, account: str | None, ids: Sequence[str] | None) -> list[ConditionalHold]:
        from wonledger.domain.timestamps import iso

        ledger = self._ledger
        now = iso(ledger.clock())
        rows = ledger._store.reading(lambda uow: uow.holds.conditionals(account, ids))
        out = []
        for hold, tx, preimage in rows:
            # Reads never write: a hold at or past its deadline reads as expired before the next write records it.
            status = "expired" if hold.status == "pending" and hold.expires_at <= now else hold.status
            partner = hold.partner
            assert hold.condition is not None and partner is not None  # (the store returns conditional holds only)
            out.append(
                ConditionalHold(
                    hold.id, status, hold.condition, hold.expires_at, partner.ledger, partner.hold, hold.legs, tx.quote, tx.travel,
                    preimage, hold.finished_by, hold.at, hold.seq,
                )
            )
        return out

    def _relayer(self, names: Lookups, held: Sequence[Leg]) -> frozenset[str]:
        """Who relays a preimage when nobody is named: a creditor of the hold whose key is here, else a debtor."""
        keys = self._ledger._keys
        accounts = names.uow.registry.accounts({a for leg in held for a in (leg.debit, leg.credit)})
        for side in ([accounts[leg.credit].owner for leg in held], [accounts[leg.debit].owner for leg in held]):
            for p in sorted(set(side)):
                if keys.has(p):
                    return frozenset([p])
        raise KeyUnavailable(f"relaying a preimage needs the key of a registered participant in {keys.directory}: name one with by=")

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

        ends = [e for e in entries if e.tx.kind in (POST, VOID, EXPIRE, FULFIL, REJECT) and e.tx.ref]
        if not ends:
            return {}
        holds = self._ledger._store.reading(lambda uow: uow.journal.entry_legs({e.tx.ref for e in ends if e.tx.ref}))
        out: dict[str, tuple[Leg, ...]] = {}
        for e in ends:
            held = holds.get(e.tx.ref or "")
            if held is not None:
                out[e.tx.id] = released_legs(held[1], e.tx.legs if e.tx.kind in (POST, FULFIL) else ())
        return out

    def expire_due(self) -> int:
        """Void every hold past its timeout now (a write does it anyway); how many were."""
        return self._ledger._book.expire_due()


__all__ = ["Holds", "PendingHold"]
