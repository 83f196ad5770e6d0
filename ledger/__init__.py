"""wonledger: a signed, double-entry ledger for tokenized deposits and won stablecoins.

The public surface is what ``__all__`` lists; everything else is internal and
may change. Start with :class:`Ledger`.
"""

from ledger.api import DEFAULT_DB, DEFAULT_KEYS, BreakerStatus, Info, Ledger, ResidentOutflow
from ledger.book import Book
from ledger.errors import (
    AlreadyExists,
    AlreadyReversed,
    AssetMismatch,
    BadAmount,
    BadInput,
    BadSignature,
    BadStatement,
    DatabaseBusy,
    DatabaseReadOnly,
    DbUnreachable,
    DiskFull,
    DuplicateConflict,
    HoldExpired,
    HoldNotPending,
    HolderNotEligible,
    InsufficientFunds,
    IntegrityProblem,
    IssuerNotEligible,
    IssuerNotRegistered,
    KeyUnavailable,
    LedgerError,
    NotALedger,
    NotAuthorized,
    OutflowLimit,
    QuoteExpired,
    ReserveShortfall,
    Residency,
    RuleRefusal,
    RunBreaker,
    StorageError,
    TravelRule,
    UnknownAccount,
    UnknownAsset,
    UnknownParticipant,
    UnknownTransaction,
)
from ledger.ingest import IngestResult, Rejection
from ledger.keys import KeyChange
from ledger.model import (
    Account,
    JournalEntry,
    KeyRecord,
    Leg,
    Participant,
    Party,
    Quote,
    QuoteTerms,
    Receipt,
    Refusal,
    Signature,
    SignedTx,
    Travel,
    Tx,
    account_id,
)
from ledger.money import Asset, format_amount, parse_amount
from ledger.signing import KeyStore, canonical_bytes, tx_bytes
from ledger.wire import parse_line

#: Public names whose modules (statements, reconciliation, proofs: XML and CSV
#: readers, Merkle trees) load on first use, so that a command that never
#: audits never pays for importing them (PEP 562).
_LAZY = {
    "Checkpoint": "ledger.audit",
    "StatementSummary": "ledger.audit",
    "TrialBalanceRow": "ledger.audit",
    "ProofReport": "ledger.proofs",
    "verify_proof": "ledger.proofs",
    "Break": "ledger.reconcile",
    "Problem": "ledger.reconcile",
    "ReconcileReport": "ledger.reconcile",
    "VerifyReport": "ledger.reconcile",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ledger' has no attribute {name!r}")


__all__ = [
    "Account",
    "AlreadyExists",
    "AlreadyReversed",
    "Asset",
    "AssetMismatch",
    "BadAmount",
    "BadInput",
    "BadSignature",
    "BadStatement",
    "Book",
    "Break",
    "BreakerStatus",
    "Checkpoint",
    "DEFAULT_DB",
    "DEFAULT_KEYS",
    "DatabaseBusy",
    "DatabaseReadOnly",
    "DbUnreachable",
    "DiskFull",
    "DuplicateConflict",
    "HoldExpired",
    "HoldNotPending",
    "HolderNotEligible",
    "Info",
    "IngestResult",
    "InsufficientFunds",
    "IntegrityProblem",
    "IssuerNotEligible",
    "IssuerNotRegistered",
    "JournalEntry",
    "KeyChange",
    "KeyRecord",
    "KeyStore",
    "KeyUnavailable",
    "Ledger",
    "LedgerError",
    "Leg",
    "NotALedger",
    "NotAuthorized",
    "OutflowLimit",
    "Participant",
    "Party",
    "Problem",
    "ProofReport",
    "Quote",
    "QuoteExpired",
    "QuoteTerms",
    "Receipt",
    "ReconcileReport",
    "Refusal",
    "Rejection",
    "ReserveShortfall",
    "Residency",
    "ResidentOutflow",
    "RuleRefusal",
    "RunBreaker",
    "Signature",
    "SignedTx",
    "StatementSummary",
    "StorageError",
    "Travel",
    "TravelRule",
    "TrialBalanceRow",
    "Tx",
    "UnknownAccount",
    "UnknownAsset",
    "UnknownParticipant",
    "UnknownTransaction",
    "VerifyReport",
    "account_id",
    "canonical_bytes",
    "format_amount",
    "parse_amount",
    "parse_line",
    "tx_bytes",
    "verify_proof",
]
