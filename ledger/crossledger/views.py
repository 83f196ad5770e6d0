"""Conditional holds as the pair check sees them: read back from journal entries, wherever the entries came from.

The pair check reads each side the same way whether it comes from a live
ledger (its node hands over the entries) or from an offline bundle (the
entries inside inclusion proofs): a hold entry that carries a condition, and
the fulfil, reject or expiry that ended it. What a hold's status is follows
from those entries alone (:func:`side_from_entries`), so a bundle's reader
believes nothing the operator did not sign into its journal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from wonledger.service.facade import Ledger

#: The kinds that end a conditional hold, by the status they leave it in.
ENDS = {"fulfil": "fulfilled", "reject": "rejected", "expire": "expired"}


@dataclass(frozen=True, slots=True)
class HoldView:
    """One conditional hold and how it ended (if it has)."""

    id: str
    at: str
    condition: str
    deadline: str
    partner_ledger: str
    partner_hold: str
    legs: tuple[tuple[str, str, str, int], ...]  # (debit, credit, asset, amount)
    quote: dict[str, Any] | None
    travel: dict[str, Any] | None
    status: str = "pending"
    preimage: str | None = None
    ended_at: str | None = None
    ended_by: str | None = None

    def amount(self) -> tuple[str, int]:
        """The asset held and the amount, summed over the legs (one asset per hold)."""
        assets = {leg[2] for leg in self.legs}
        return (next(iter(assets)) if len(assets) == 1 else "+".join(sorted(assets))), sum(leg[3] for leg in self.legs)


@dataclass(slots=True)
class SideView:
    """One ledger's conditional holds linked to the other ledger."""

    ledger: str
    holds: dict[str, HoldView] = field(default_factory=dict)
    #: asset code → exponent, for the amounts under the quote
    exponents: dict[str, int] = field(default_factory=dict)
    #: participant → every public key (base64url) it has had here, for the parties the holds name here; None: not known
    keys: dict[str, list[str]] | None = None
    problems: list[str] = field(default_factory=list)


def conditional_json(hold: Any) -> dict[str, Any]:
    """A :class:`ConditionalHold` as the node answers it."""
    return {
        "id": hold.id,
        "status": hold.status,
        "condition": hold.condition,
        "deadline": hold.deadline,
        "partner_ledger": hold.partner_ledger,
        "partner_hold": hold.partner_hold,
        "legs": [[leg.debit, leg.credit, leg.asset, leg.amount] for leg in hold.legs],
        "preimage": hold.preimage,
        "finished_by": hold.finished_by,
    }


def entry_json(entry: Any) -> dict[str, Any]:
    return {"seq": entry.seq, "at": entry.at, "tx": entry.tx.to_wire()}


def linked_entries(ledger: Ledger, partner: str) -> dict[str, Any]:
    """The entries of ``ledger``'s conditional holds whose partner is ledger ``partner``, and of their ends, oldest first."""
    ledger.holds.expire_due()  # a hold past its deadline is recorded as expired before it is shown
    entries = []
    exponents: dict[str, int] = {}
    for hold in ledger.holds.conditionals():
        if hold.partner_ledger != partner:
            continue
        entries.append(entry_json(ledger.transaction(hold.id)))
        if hold.finished_by:
            entries.append(entry_json(ledger.transaction(hold.finished_by)))
        for leg in hold.legs:
            exponents[leg.asset] = 0
    for asset in ledger.registry.assets():
        if asset.code in exponents:
            exponents[asset.code] = asset.exponent
    entries.sort(key=lambda e: e["seq"])
    return {"ledger": ledger.id, "entries": entries, "exponents": exponents, "keys": _party_keys(ledger, entries)}


def _party_keys(ledger: Ledger, entries: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Every key each party of this ledger named in the holds' travel data has had here (the partner names it by one of them)."""
    from wonledger.domain.signing import b64url

    parties = {
        party["id"]
        for e in entries
        for party in ((e["tx"].get("travel") or {}).get("originator"), (e["tx"].get("travel") or {}).get("beneficiary"))
        if party and "ledger" not in party
    }
    return {pid: [b64url(k.public_key) for k in ledger.registry.key_history(pid)] for pid in sorted(parties)}


def side_from_entries(
    ledger: str, entries: list[dict[str, Any]], exponents: dict[str, int], partner: str, keys: dict[str, list[str]] | None = None
) -> SideView:
    """The conditional holds linked to ``partner`` among ``entries`` (oldest first), each ended as its end entry says."""
    side = SideView(ledger, exponents=dict(exponents), keys=keys)
    for entry in entries:
        tx = entry["tx"]
        if tx.get("ledger") != ledger:
            side.problems.append(f"entry {tx.get('id')} is signed for ledger {tx.get('ledger')}, not {ledger}")
            continue
        if tx.get("kind") == "hold" and "condition" in tx and tx.get("partner", {}).get("ledger") == partner:
            side.holds[tx["id"]] = HoldView(
                id=tx["id"],
                at=entry["at"],
                condition=tx["condition"]["sha256"],
                deadline=tx["deadline"],
                partner_ledger=tx["partner"]["ledger"],
                partner_hold=tx["partner"]["hold"],
                legs=tuple((leg["debit"], leg["credit"], leg["asset"], int(leg["amount"])) for leg in tx.get("legs", [])),
                quote=tx.get("quote"),
                travel=tx.get("travel"),
            )
    for entry in entries:
        tx = entry["tx"]
        status = ENDS.get(tx.get("kind", ""))
        held = side.holds.get(tx.get("ref", ""))
        if status is None or held is None:
            continue
        if held.status != "pending":
            side.problems.append(f"hold {held.id} is ended twice: by {held.ended_by} and by {tx['id']}")
            continue
        preimage = tx.get("preimage") if status == "fulfilled" else None
        if preimage is not None and hashlib.sha256(bytes.fromhex(preimage)).hexdigest() != held.condition:
            side.problems.append(f"{tx['id']} fulfils hold {held.id} with a preimage whose SHA-256 is not its condition")
        side.holds[held.id] = _ended(held, status, preimage, entry["at"], tx["id"])
    return side


def _ended(held: HoldView, status: str, preimage: str | None, at: str, by: str) -> HoldView:
    from dataclasses import replace

    return replace(held, status=status, preimage=preimage, ended_at=at, ended_by=by)


__all__ = ["ENDS", "HoldView", "SideView", "conditional_json", "linked_entries", "side_from_entries"]


