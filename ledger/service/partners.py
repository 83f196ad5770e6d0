"""`ledger.partners`: the other ledgers this one settles with, known only by reference.

A payment across two ledgers (docs/crossledger.md) names the party on the
other ledger by reference: that ledger's id, the party's id and its public key
there. Each operator hands the other a *card*: its ledger id, its operator key
and its participants with their current public keys, signed by its operator
key over the card's RFC 8785 bytes. ``add`` keeps a card whose signature holds
under the operator key it carries (or the one the caller pins) in ``meta``, as
``partner:<ledger id>``: a record no rule reads. The card is checked again
wherever it is read, so an edit to the stored row is refused, not believed
(docs/trust.md); what binds a payment is the reference inside the signed hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wonledger.domain.errors import BadInput, BadSignature, UnknownParticipant
from wonledger.domain.model import Participant
from wonledger.domain.signing import b64url, canonical_bytes, public_key_from_bytes, signature_holds, unb64url
from wonledger.store import OPERATOR_META

if TYPE_CHECKING:
    from wonledger.service.facade import Ledger
    from wonledger.store import UnitOfWork

CARD_TYPE = "wonledger-partner-card/1"
#: The meta key a partner's card is kept under is this followed by its ledger id.
PARTNER_META = "partner:"


@dataclass(frozen=True, slots=True)
class PartnerCard:
    """Another ledger as its operator describes it: id, operator key, participants (id → kind, jurisdiction, key)."""

    ledger: str
    operator_key: str
    participants: tuple[tuple[str, str, str, str], ...]  # (id, kind, jurisdiction, public key base64url)
    signature: str

    def body(self) -> dict[str, object]:
        return {
            "type": CARD_TYPE,
            "ledger": self.ledger,
            "operator_key": self.operator_key,
            "participants": [{"id": p, "kind": k, "jurisdiction": j, "public_key": key} for p, k, j, key in self.participants],
        }

    def to_json(self) -> dict[str, object]:
        return {**self.body(), "signature": self.signature}

    def holds(self, operator_key: str | None = None) -> bool:
        """Whether the card is signed by its operator key (and that key is ``operator_key``, when one is pinned)."""
        if operator_key is not None and operator_key != self.operator_key:
            return False
        try:
            return signature_holds(public_key_from_bytes(unb64url(self.operator_key)), canonical_bytes(self.body()), self.signature)
        except (ValueError, BadInput, BadSignature):
            return False

    def reference(self, participant: str) -> dict[str, str]:
        """``participant`` of this ledger by reference: ledger id, participant id, kind, jurisdiction, public key."""
        for pid, kind, jurisdiction, key in self.participants:
            if pid == participant:
                return {"ledger": self.ledger, "id": pid, "kind": kind, "jurisdiction": jurisdiction, "public_key": key}
        raise UnknownParticipant(f"ledger {self.ledger}'s card names no participant {participant}")


def parse_card(data: Any) -> PartnerCard:
    """A card as ``partner card --json`` writes it; BAD_INPUT if it is not one."""
    try:
        if data.get("type") != CARD_TYPE:
            raise BadInput(f"not a partner card (type {data.get('type')!r}, expected {CARD_TYPE})")
        people = tuple(
            (str(p["id"]), str(p["kind"]), str(p["jurisdiction"]), str(p["public_key"])) for p in data["participants"]
        )
        return PartnerCard(str(data["ledger"]), str(data["operator_key"]), people, str(data["signature"]))
    except (AttributeError, KeyError, TypeError) as exc:
        raise BadInput(f"not a partner card: {exc}") from None


class Partners:
    """This ledger's card, and the cards of its partners (``ledger.partners``)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def card(self) -> PartnerCard:
        """This ledger's card, signed now by its operator key (made if the ledger has none yet)."""
        from wonledger.audit import operations as audit

        ledger = self._ledger
        key = audit.ensure_operator_key(ledger._audit_session())
        people: list[Participant] = ledger.registry.participants()
        operator = ledger._store.reading(lambda uow: uow.records.meta(OPERATOR_META))
        if operator is None:
            raise BadInput("this ledger has no operator key yet", hint="checkpoint")
        unsigned = PartnerCard(
            ledger.id, operator, tuple((p.id, p.kind, p.jurisdiction, b64url(p.public_key)) for p in people), ""
        )
        signature = b64url(key.sign(canonical_bytes(unsigned.body())))
        return PartnerCard(unsigned.ledger, unsigned.operator_key, unsigned.participants, signature)

    def add(self, card: PartnerCard, operator_key: str | None = None) -> PartnerCard:
        """Keep ``card`` as a partner's, if its signature holds (under ``operator_key``, when pinned); a newer card replaces it."""
        if card.ledger == self._ledger.id:
            raise BadInput(f"{card.ledger} is this ledger's own card; add the other ledger's")
        if not card.holds(operator_key):
            pinned = f" {operator_key}" if operator_key else " it carries"
            raise BadSignature(f"ledger {card.ledger}'s card is not signed by the operator key{pinned}")
        text = json.dumps(card.to_json(), sort_keys=True)

        def keep(uow: UnitOfWork) -> None:
            uow.records.delete_meta(PARTNER_META + card.ledger)  # a newer card (a key rotated there) replaces the old
            uow.records.set_meta(PARTNER_META + card.ledger, text)

        self._ledger._book.record(keep)
        return card

    def get(self, ledger_id: str) -> PartnerCard:
        """The card of partner ledger ``ledger_id``; BAD_INPUT if none is kept, BAD_SIGNATURE if the kept one was altered."""
        found = self._ledger._store.reading(lambda uow: _stored(uow, ledger_id))
        if found is None:
            raise BadInput(f"this ledger knows no partner ledger {ledger_id}", hint="partner")
        return found

    def all(self) -> list[PartnerCard]:
        """Every partner's card, by ledger id."""

        def read(uow: UnitOfWork) -> list[PartnerCard]:
            ids = [k[len(PARTNER_META):] for k in uow.records.meta_keys(PARTNER_META)]
            return [card for i in sorted(ids) if (card := _stored(uow, i)) is not None]

        return self._ledger._store.reading(read)


def _stored(uow: UnitOfWork, ledger_id: str) -> PartnerCard | None:
    text = uow.records.meta(PARTNER_META + ledger_id)
    if text is None:
        return None
    card = parse_card(json.loads(text))
    if card.ledger != ledger_id or not card.holds():
        raise BadSignature(f"the stored card of partner ledger {ledger_id} is not as its operator signed it; add it again")
    return card


__all__ = ["CARD_TYPE", "PartnerCard", "Partners", "parse_card"]
