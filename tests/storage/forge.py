"""Writing to a ledger's database as someone with access to it (not to wonledger) would.

Not a test module: helpers the trust tests share. :func:`append_entry`
appends a journal entry by hand, with its digest and the chain's hash
recomputed and the chain head moved, so that nothing about the chain gives
it away: what the rulebook makes of it is all that can.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from wonledger.domain.signing import KeyStore, canonical_bytes


def append_entry(raw: Any, tx: dict[str, Any], signatures: list[dict[str, str]], at: str | None = None) -> int:
    """Append ``tx`` (its wire form) with ``signatures`` as the next entry of the database ``raw`` reaches, chained correctly; its seq."""
    seq, prev = raw.rows("SELECT seq, hash FROM head")[0]
    at = at or raw.scalar("SELECT at FROM journal ORDER BY seq DESC LIMIT 1")
    body = canonical_bytes(tx)
    envelope = canonical_bytes({"seq": seq + 1, "at": at, "tx": tx, "signatures": signatures})
    digest = hashlib.sha256(bytes.fromhex(prev) + envelope).hexdigest()
    raw.execute(
        "INSERT INTO journal (seq, id, kind, ref, at, body, signatures, digest, hash) VALUES (:s, :i, :k, :r, :a, :b, :g, :d, :h)",
        s=seq + 1, i=tx["id"], k=tx["kind"], r=tx.get("ref"), a=at, b=body.decode(),
        g=json.dumps(signatures, separators=(",", ":")), d=hashlib.sha256(body).hexdigest(), h=digest,
    )
    for n, leg in enumerate(tx.get("legs", [])):
        raw.execute(
            "INSERT INTO legs (seq, idx, debit, credit, asset, amount, pending) VALUES (:s, :n, :d, :c, :a, :m, :p)",
            s=seq + 1, n=n, d=leg["debit"], c=leg["credit"], a=leg["asset"], m=leg["amount"], p=tx["kind"] == "hold",
        )
    raw.execute("UPDATE head SET seq = :s, hash = :h", s=seq + 1, h=digest)
    return seq + 1


def genesis_tx(ledger_id: str, accounts: list[dict[str, Any]] | None = None, **parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The wire form of a ``_genesis`` entry freezing ``accounts`` and the other ``parts`` (participants, keys, assets, issuers)."""
    snapshot = {"participants": [], "keys": [], "assets": [], "issuers": [], "accounts": accounts or []}
    snapshot.update(parts)
    return {"ledger": ledger_id, "id": "_genesis", "kind": "genesis", "legs": [], "memo": "frozen", "snapshot": snapshot}


def signed_wire(keys: KeyStore, tx: dict[str, Any], signers: list[str]) -> list[dict[str, str]]:
    """The signatures of ``signers`` (their key files in ``keys``) over ``tx``'s canonical bytes, as the journal keeps them."""
    body = canonical_bytes(tx)
    return [keys.sign(s, body).to_wire() for s in signers]
