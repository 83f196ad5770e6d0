"""An offline bundle of one ledger's side of its payments with a partner: a signed checkpoint and inclusion proofs.

``wonledger bundle --partner LEDGER`` writes, for every conditional hold
linked to the partner ledger and every entry that ended one, the entry's
inclusion proof (:mod:`wonledger.audit.proofs`) against one checkpoint the
operator signs now. ``verify-pair`` reads two bundles with no database: each
proof is checked (signatures, hash chain link, Merkle path, the checkpoint's
signature, under the operator key pinned or else the bundle's own), and the
pair is checked on the entries the proofs carry, as from two live ledgers.

What a bundle cannot show is an entry left out of it: a hold's end that the
operator did not include reads as "pending". The pair check says so
(``not_checked``); a hold past its deadline reads as expired either way.
"""

from __future__ import annotations

from typing import Any

from wonledger.audit.proofs import verify_proof
from wonledger.crossledger.views import SideView, linked_entries, side_from_entries
from wonledger.domain.errors import BadStatement
from wonledger.service.facade import Ledger

BUNDLE_FORMAT = "wonledger-pair-bundle/1"


def make_bundle(ledger: Ledger, partner: str) -> dict[str, Any]:
    """``ledger``'s side of its payments with ``partner``: a fresh checkpoint and the linked entries' proofs."""
    found = linked_entries(ledger, partner)  # (records the expiries due first, so they are under the checkpoint)
    checkpoint, _new = ledger.proofs.checkpoint()
    proofs = [ledger.proofs.inclusion(entry["tx"]["id"]) for entry in found["entries"]]
    return {
        "format": BUNDLE_FORMAT,
        "ledger": ledger.id,
        "partner": partner,
        "checkpoint": checkpoint.to_json(),
        "exponents": found["exponents"],
        "proofs": proofs,
    }


def side_from_bundle(bundle: Any, operator_key: str | None = None) -> SideView:
    """The side a bundle shows, each proof checked; a proof that fails is a problem of that side, and its entry is left out."""
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise BadStatement(f"not a pair bundle (format {bundle.get('format') if isinstance(bundle, dict) else None!r}, expected {BUNDLE_FORMAT})")
    try:
        ledger, partner, checkpoint = str(bundle["ledger"]), str(bundle["partner"]), bundle["checkpoint"]
        exponents = {str(k): int(v) for k, v in bundle["exponents"].items()}
        proofs = list(bundle["proofs"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadStatement(f"the pair bundle lacks {exc}") from None
    pinned = operator_key or (checkpoint.get("operator_key") if isinstance(checkpoint, dict) else None)
    entries: list[dict[str, Any]] = []
    problems: list[str] = []
    for proof in proofs:
        report = verify_proof(proof, pinned)
        if not report.ok:
            problems.append(f"the proof of {report.tx or '(no id)'} does not hold: {'; '.join(report.problems)}")
            continue
        if proof.get("ledger") != ledger or proof.get("checkpoint") != checkpoint:
            problems.append(f"the proof of {report.tx} is of another ledger or checkpoint than the bundle's")
            continue
        entry = proof["entry"]
        entries.append({"seq": entry["seq"], "at": entry["at"], "tx": entry["tx"]})
    entries.sort(key=lambda e: e["seq"])
    side = side_from_entries(ledger, entries, exponents, partner)
    side.problems[:0] = problems
    return side


def partner_of(bundle: Any) -> str | None:
    return bundle.get("partner") if isinstance(bundle, dict) else None


__all__ = ["BUNDLE_FORMAT", "make_bundle", "partner_of", "side_from_bundle"]
