"""Audit: ``verify``'s replay, anchors, Merkle proofs and checkpoints, reports and reconciliation over a ledger."""
