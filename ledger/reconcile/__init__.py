"""Reconciliation: the ledger's own invariants, and (later) statements and matching."""

from ledger.reconcile.invariants import Problem, VerifyReport, verify_ledger

__all__ = ["Problem", "VerifyReport", "verify_ledger"]
