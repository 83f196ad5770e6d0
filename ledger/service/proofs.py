"""`ledger.proofs`: what lets someone outside check the ledger: signed checkpoints and the proofs against them.

The operator signs a checkpoint (the journal's Merkle root) only when the
journal verifies; an inclusion proof shows one transaction is under it, a
consistency proof that a newer checkpoint extends an older one. The work is
:mod:`wonledger.audit.operations`', handed the ledger's audit session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wonledger.store import OPERATOR_META

if TYPE_CHECKING:
    from wonledger.audit.proofs import Checkpoint
    from wonledger.service.facade import Ledger


class Proofs:
    """Checkpoints, inclusion and consistency proofs, the operator's key (``ledger.proofs``)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def checkpoint(self, since: Checkpoint | None = None) -> tuple[Checkpoint, bool]:
        """Sign a checkpoint at the journal's head, only if the journal verifies (and extends ``since``, when given).

        Returns it and whether it is new.
        """
        from wonledger.audit import operations as audit  # imported when used, like verify

        return audit.make_checkpoint(self._ledger._audit_session(), since)

    def previous_checkpoint(self, before: int) -> Checkpoint | None:
        """The latest stored checkpoint covering fewer than ``before`` entries, if any."""
        from wonledger.audit import operations as audit

        return audit.previous_checkpoint(self._ledger._audit_session(), before)

    def consistency(self, old: Checkpoint, new: Checkpoint) -> dict[str, object]:
        """RFC 9162's consistency proof from checkpoint ``old`` to ``new`` (check it with ``verify_consistency``)."""
        from wonledger.audit import operations as audit

        return audit.consistency(self._ledger._audit_session(), old, new)

    def inclusion(self, tx_id: str) -> dict[str, object]:
        """``tx_id``'s inclusion proof against the latest checkpoint, as JSON (check it with ``verify_proof``)."""
        from wonledger.audit import operations as audit  # imported when used, like verify

        return audit.build_proof(self._ledger._audit_session(), tx_id)

    def operator_key(self) -> str | None:
        """The operator's public key (base64url) as this ledger stores it; pin it where you keep it, not from here."""
        return self._ledger._store.reading(lambda uow: uow.records.meta(OPERATOR_META))


__all__ = ["Proofs"]
