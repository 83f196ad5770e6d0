"""`ledger.statements`: an account's statement written out, and a bank's statement matched against the ledger.

The work is :mod:`wonledger.audit.operations`'; this resource hands it the
ledger's audit session (:meth:`Ledger._audit_session`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

if TYPE_CHECKING:
    from wonledger.audit import operations as audit
    from wonledger.service.facade import Ledger


class Statements:
    """Statements out, statements in (``ledger.statements``)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def write(
        self, account: str, fmt: str, out: TextIO, since: str | None = None, until: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> audit.StatementSummary:
        """Write ``account``'s camt.053 or CSV statement for the dates [since, until] to ``out``."""
        from wonledger.audit import operations as audit  # imported when used, like verify

        return audit.write_statement(self._ledger._audit_session(), account, fmt, out, since, until, progress)

    def reconcile(
        self,
        stream: BinaryIO,
        account: str | None,
        tolerance_days: int = 1,
        progress: Callable[[int], None] | None = None,
        **options: Any,
    ) -> audit.ReconcileReport:
        """Match a statement file (camt.052/053/054, MT940 or CSV, streamed) against ``account``'s legs.

        ``options``: ``all_statements``, ``statement_account``, ``account_map`` (see :func:`wonledger.audit.operations.reconcile`).
        """
        from wonledger.audit import operations as audit  # imported when used, like verify

        return audit.reconcile(self._ledger._audit_session(), stream, account, tolerance_days, progress, **options)


__all__ = ["Statements"]
