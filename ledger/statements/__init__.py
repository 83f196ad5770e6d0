"""Reconciliation: the ledger's own invariants, statements (camt.052/053/054, MT940, CSV) and matching them."""

from ledger.reconcile.invariants import Problem, VerifyReport, verify_ledger
from ledger.reconcile.matching import BREAK_KINDS, Break, ReconcileReport

__all__ = ["BREAK_KINDS", "Break", "Problem", "ReconcileReport", "VerifyReport", "verify_ledger"]
