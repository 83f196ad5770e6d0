"""The audit's operations over one ledger, by name: the door the facade and the package's lazy names go through.

Each operation lives in the module of its concept and takes an
:class:`~wonledger.book.writer.session.AuditSession`, never the `Ledger`:

- :mod:`wonledger.audit.operations.reports`: the trial balance;
- :mod:`wonledger.audit.operations.export`: statement export and its schema check;
- :mod:`wonledger.audit.operations.reconciliation`: reconcile and account maps;
- :mod:`wonledger.audit.operations.checkpoints`: the operator key, checkpoints, consistency and inclusion proofs.

Nothing here changes a balance: statements and proofs are reads, and a
checkpoint is a signed note beside the journal, not an entry in it. The
names load their module on first use (PEP 562), so a statement export or a
reconcile does not import the signing of checkpoints (``cryptography``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wonledger.audit.checkpoints import (
        Checkpoint,
        build_proof,
        consistency,
        ensure_operator_key,
        latest_checkpoint,
        make_checkpoint,
        previous_checkpoint,
    )
    from wonledger.audit.export import StatementSummary, statement_reference, validate_statement, write_statement
    from wonledger.audit.reconciliation import ReconcileReport, load_account_map, reconcile
    from wonledger.audit.reports import TrialBalance, TrialBalanceRow, trial_balance
    from wonledger.book.session import AuditSession

_MODULES = {
    "AuditSession": "session",
    "TrialBalance": "reports",
    "TrialBalanceRow": "reports",
    "trial_balance": "reports",
    "StatementSummary": "export",
    "statement_reference": "export",
    "validate_statement": "export",
    "write_statement": "export",
    "ReconcileReport": "reconciliation",
    "load_account_map": "reconciliation",
    "reconcile": "reconciliation",
    "Checkpoint": "checkpoints",
    "build_proof": "checkpoints",
    "consistency": "checkpoints",
    "ensure_operator_key": "checkpoints",
    "latest_checkpoint": "checkpoints",
    "make_checkpoint": "checkpoints",
    "previous_checkpoint": "checkpoints",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> object:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'wonledger.audit.operations' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"wonledger.audit.{module}"), name)
    globals()[name] = value
    return value
