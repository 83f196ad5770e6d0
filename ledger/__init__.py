"""wonledger: a signed, double-entry ledger for tokenized deposits and won stablecoins.

The public surface is what ``__all__`` lists; everything else is internal and
may change. Start with :class:`Ledger`.
"""

from typing import TYPE_CHECKING

from wonledger.domain.errors import (
    AlreadyExists,
    AlreadyReversed,
    AssetMismatch,
    BadAmount,
    BadInput,
    BadSignature,
    BadStatement,
    ConditionNotMet,
    DatabaseBusy,
    DatabaseReadOnly,
    DatabaseUnavailable,
    DbUnreachable,
    DiskFull,
    DuplicateConflict,
    HalfDone,
    HolderNotEligible,
    HoldExpired,
    HoldNotPending,
    InsufficientFunds,
    IntegrityProblem,
    IssuerNotEligible,
    IssuerNotRegistered,
    KeyUnavailable,
    LedgerError,
    NodeUnavailable,
    NotALedger,
    NotAuthorized,
    OutflowLimit,
    PaymentLocked,
    QuoteExpired,
    ReserveNotEligible,
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
from wonledger.domain.model import (
    Account,
    KeyRecord,
    Leg,
    Participant,
    Signature,
    SignedTx,
    Tx,
    account_id,
)
from wonledger.domain.money import Asset, TypedAmount, format_amount, parse_amount

if TYPE_CHECKING:
    # Every name _LAZY serves, so that type checkers see the same surface the
    # runtime does (a name missing here reads as a plain object to them).
    from wonledger.audit.anchors import Anchor, read_checkpoint, read_operator_key
    from wonledger.audit.operations import StatementSummary, TrialBalanceRow, load_account_map, validate_statement
    from wonledger.audit.proofs import Checkpoint, ConsistencyReport, ProofReport, verify_consistency, verify_proof
    from wonledger.audit.reports import TrialBalance
    from wonledger.audit.verify import Problem, VerifyReport
    from wonledger.book.ingest import IngestResult, Rejection
    from wonledger.book.writer import Book
    from wonledger.domain.records import ConditionalHold, JournalEntry, Quote, Receipt, Refusal
    from wonledger.domain.signing import KeyStore, b64url, canonical_bytes, tx_bytes
    from wonledger.domain.strict import loads as strict_loads
    from wonledger.domain.terms import AccountSpec, Partner, Party, QuoteTerms, Travel
    from wonledger.domain.wire import parse_line
    from wonledger.flows.keys import KeyChange
    from wonledger.service.defaults import DEFAULT_DB, DEFAULT_KEYS
    from wonledger.service.facade import Info, Ledger, make_participant_key, parse_public_key
    from wonledger.service.partners import PartnerCard, parse_card
    from wonledger.service.quick import read_balances
    from wonledger.service.reports import BreakerStatus, ResidentOutflow
    from wonledger.statements.formats import writable as statement_formats
    from wonledger.statements.matching import Break, ReconcileReport

#: Public names whose modules load on first use (PEP 562): importing any part
#: of the ledger (say its store, for a `balance`) does not import the book,
#: the rules, signing or the auditors, and a command pays only for what it uses.
_LAZY = {
    # values a read of a balance never builds (see wonledger.domain.terms and .records)
    "AccountSpec": "wonledger.domain.terms",
    "Party": "wonledger.domain.terms",
    "Partner": "wonledger.domain.terms",
    "QuoteTerms": "wonledger.domain.terms",
    "Travel": "wonledger.domain.terms",
    "JournalEntry": "wonledger.domain.records",
    "ConditionalHold": "wonledger.domain.records",
    "Quote": "wonledger.domain.records",
    "Receipt": "wonledger.domain.records",
    "Refusal": "wonledger.domain.records",
    "DEFAULT_DB": "wonledger.service.defaults",
    "DEFAULT_KEYS": "wonledger.service.defaults",
    "BreakerStatus": "wonledger.service.reports",
    "Info": "wonledger.service.facade",
    "Ledger": "wonledger.service.facade",
    "ResidentOutflow": "wonledger.service.reports",
    "TrialBalance": "wonledger.audit.reports",
    "make_participant_key": "wonledger.service.facade",
    "parse_public_key": "wonledger.service.facade",
    "PartnerCard": "wonledger.service.partners",
    "parse_card": "wonledger.service.partners",
    "read_balances": "wonledger.service.quick",
    "Book": "wonledger.book.writer",
    "IngestResult": "wonledger.book.ingest",
    "Rejection": "wonledger.book.ingest",
    "KeyChange": "wonledger.flows.keys",
    "KeyStore": "wonledger.domain.signing",
    "canonical_bytes": "wonledger.domain.signing",
    "b64url": "wonledger.domain.signing",
    "strict_loads": "wonledger.domain.strict:loads",
    "statement_formats": "wonledger.statements.formats:writable",
    "tx_bytes": "wonledger.domain.signing",
    "parse_line": "wonledger.domain.wire",
    "Anchor": "wonledger.audit.anchors",
    "read_checkpoint": "wonledger.audit.anchors",
    "read_operator_key": "wonledger.audit.anchors",
    "StatementSummary": "wonledger.audit.operations",
    "TrialBalanceRow": "wonledger.audit.operations",
    "load_account_map": "wonledger.audit.operations",
    "validate_statement": "wonledger.audit.operations",
    "Checkpoint": "wonledger.audit.proofs",
    "ConsistencyReport": "wonledger.audit.proofs",
    "ProofReport": "wonledger.audit.proofs",
    "verify_consistency": "wonledger.audit.proofs",
    "verify_proof": "wonledger.audit.proofs",
    "Break": "wonledger.statements.matching",
    "Problem": "wonledger.audit.verify",
    "ReconcileReport": "wonledger.statements.matching",
    "VerifyReport": "wonledger.audit.verify",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module, _, attribute = _LAZY[name].partition(":")  # "module:attribute" where the public name differs
        value = getattr(importlib.import_module(module), attribute or name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wonledger' has no attribute {name!r}")


__all__ = [
    "DEFAULT_DB",
    "DEFAULT_KEYS",
    "Account",
    "AccountSpec",
    "AlreadyExists",
    "AlreadyReversed",
    "Anchor",
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
    "ConditionNotMet",
    "ConditionalHold",
    "ConsistencyReport",
    "DatabaseBusy",
    "DatabaseReadOnly",
    "DatabaseUnavailable",
    "DbUnreachable",
    "DiskFull",
    "DuplicateConflict",
    "HalfDone",
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
    "NodeUnavailable",
    "NotALedger",
    "NotAuthorized",
    "OutflowLimit",
    "Participant",
    "Partner",
    "PartnerCard",
    "Party",
    "PaymentLocked",
    "Problem",
    "ProofReport",
    "Quote",
    "QuoteExpired",
    "QuoteTerms",
    "Receipt",
    "ReconcileReport",
    "Refusal",
    "Rejection",
    "ReserveNotEligible",
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
    "TrialBalance",
    "TrialBalanceRow",
    "Tx",
    "TypedAmount",
    "UnknownAccount",
    "UnknownAsset",
    "UnknownParticipant",
    "UnknownTransaction",
    "VerifyReport",
    "account_id",
    "b64url",
    "canonical_bytes",
    "format_amount",
    "load_account_map",
    "make_participant_key",
    "parse_amount",
    "parse_card",
    "parse_line",
    "parse_public_key",
    "read_balances",
    "read_checkpoint",
    "read_operator_key",
    "statement_formats",
    "strict_loads",
    "tx_bytes",
    "validate_statement",
    "verify_consistency",
    "verify_proof",
]
