"""Every way wonledger refuses something, as one tree of exceptions.

Each class carries a stable ``code`` (what users' scripts match on), a message
of facts, and optionally a ``hint``: the name of what the user could do next
(``"init"``, ``"quote"`` ...), which the CLI words in its own terms. The CLI
also chooses the exit code from the family (``cli/main.py``: 1 for a refusal
by a ledger rule or a failing database, 2 for bad usage or bad input, 3 for
integrity problems, 75 for a database that is unavailable for now, which
running the same command again later may cure); nothing here speaks of
commands or options.

Two errors of the database look alike and are not: ``DB_UNREACHABLE`` is a
URL that waiting cannot fix (no such host, a refused password, no such
database, a SQLite file that cannot be opened), while ``DB_UNAVAILABLE`` is
a server that is there but cannot take the command now (no primary during
a failover, a refused or dropped connection, a server starting up or
shutting down). The store waits the second out (``WONLEDGER_WAIT_DB``)
before it gives up with it::

    LedgerError
    ├── RuleRefusal                      exit 1: the ledger said no
    │   ├── InsufficientFunds            INSUFFICIENT_FUNDS
    │   ├── BadSignature                 BAD_SIGNATURE
    │   ├── NotAuthorized                NOT_AUTHORIZED
    │   ├── DuplicateConflict            DUPLICATE_CONFLICT
    │   ├── HoldNotPending               HOLD_NOT_PENDING
    │   ├── HoldExpired                  HOLD_EXPIRED
    │   ├── IssuerNotRegistered          ISSUER_NOT_REGISTERED
    │   ├── IssuerNotEligible            ISSUER_NOT_ELIGIBLE
    │   ├── ReserveShortfall             RESERVE_SHORTFALL
    │   ├── ReserveNotEligible           RESERVE_NOT_ELIGIBLE (an issuer's own liability, or an asset reserves may not hold)
    │   ├── Residency                    RESIDENCY
    │   ├── HolderNotEligible            HOLDER_NOT_ELIGIBLE
    │   ├── OutflowLimit                 OUTFLOW_LIMIT
    │   ├── RunBreaker                   RUN_BREAKER
    │   ├── QuoteExpired                 QUOTE_EXPIRED
    │   ├── TravelRule                   TRAVEL_RULE
    │   ├── AlreadyReversed              ALREADY_REVERSED
    │   └── ConditionNotMet              CONDITION_NOT_MET (a conditional hold finished other than its condition allows)
    ├── BadInput                         exit 2: the request itself is wrong
    │   ├── BadAmount                    BAD_AMOUNT
    │   ├── UnknownAccount               UNKNOWN_ACCOUNT
    │   ├── UnknownAsset                 UNKNOWN_ASSET
    │   ├── UnknownParticipant           UNKNOWN_PARTICIPANT
    │   ├── UnknownTransaction           UNKNOWN_TRANSACTION
    │   ├── AssetMismatch                ASSET_MISMATCH
    │   ├── AlreadyExists                ALREADY_EXISTS
    │   ├── KeyUnavailable               KEY_UNAVAILABLE
    │   ├── DbUnreachable                DB_UNREACHABLE
    │   ├── NotALedger                   NOT_A_LEDGER
    │   └── BadStatement                 BAD_STATEMENT (malformed, foreign or unsafe statement/proof file)
    ├── StorageError                     STORAGE_ERROR, exit 1: the database failed us; nothing was written
    │   ├── DatabaseBusy                 DB_BUSY: locked by another writer past the busy timeout
    │   ├── DatabaseReadOnly             DB_READ_ONLY: the file, its directory or the server is read-only
    │   ├── DiskFull                     DISK_FULL: no room left to write
    │   └── DatabaseUnavailable          DB_UNAVAILABLE, exit 75 (retryable): no server could take it for the whole wait
    ├── IntegrityProblem                 INTEGRITY, exit 3: verify found damage
    │   └── HalfDone                     HALF_DONE: a payment across two ledgers settled on one side only
    ├── NodeUnavailable                  NODE_UNAVAILABLE, exit 1: a ledger's node process cannot be reached
    └── PaymentLocked                    PAYMENT_LOCKED, exit 1: another driver is running that payment now
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error wonledger raises on purpose."""

    code = "LEDGER_ERROR"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: what the user could do next, by name (the CLI words it; a library caller may ignore it)
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    #: What a batch had done when it stopped on this error (a batch ingest sets it), else None.
    result: object | None = None


class RuleRefusal(LedgerError):
    """A well-formed request that a rule of the ledger refuses."""


class InsufficientFunds(RuleRefusal):
    code = "INSUFFICIENT_FUNDS"


class BadSignature(RuleRefusal):
    code = "BAD_SIGNATURE"


class NotAuthorized(RuleRefusal):
    code = "NOT_AUTHORIZED"


class DuplicateConflict(RuleRefusal):
    code = "DUPLICATE_CONFLICT"


class HoldNotPending(RuleRefusal):
    code = "HOLD_NOT_PENDING"


class HoldExpired(RuleRefusal):
    code = "HOLD_EXPIRED"


class IssuerNotRegistered(RuleRefusal):
    code = "ISSUER_NOT_REGISTERED"


class IssuerNotEligible(RuleRefusal):
    code = "ISSUER_NOT_ELIGIBLE"


class ReserveShortfall(RuleRefusal):
    code = "RESERVE_SHORTFALL"


class ReserveNotEligible(RuleRefusal):
    code = "RESERVE_NOT_ELIGIBLE"


class Residency(RuleRefusal):
    code = "RESIDENCY"


class HolderNotEligible(RuleRefusal):
    """Only banks and the central bank hold wholesale central-bank money."""

    code = "HOLDER_NOT_ELIGIBLE"


class OutflowLimit(RuleRefusal):
    code = "OUTFLOW_LIMIT"


class RunBreaker(RuleRefusal):
    code = "RUN_BREAKER"


class QuoteExpired(RuleRefusal):
    code = "QUOTE_EXPIRED"


class TravelRule(RuleRefusal):
    code = "TRAVEL_RULE"


class AlreadyReversed(RuleRefusal):
    code = "ALREADY_REVERSED"


class ConditionNotMet(RuleRefusal):
    """A conditional hold finished other than its condition allows.

    A wrong preimage, a fulfil at or after the deadline, a reject not signed by
    all its creditors or too late, an expiry before the deadline, a post or void.
    """

    code = "CONDITION_NOT_MET"


class BadInput(LedgerError):
    """The request is malformed or names something that does not exist."""

    code = "BAD_INPUT"


class BadAmount(BadInput):
    code = "BAD_AMOUNT"


class UnknownAccount(BadInput):
    code = "UNKNOWN_ACCOUNT"


class UnknownAsset(BadInput):
    code = "UNKNOWN_ASSET"


class UnknownParticipant(BadInput):
    code = "UNKNOWN_PARTICIPANT"


class UnknownTransaction(BadInput):
    code = "UNKNOWN_TRANSACTION"


class AssetMismatch(BadInput):
    code = "ASSET_MISMATCH"


class AlreadyExists(BadInput):
    code = "ALREADY_EXISTS"


class KeyUnavailable(BadInput):
    code = "KEY_UNAVAILABLE"


class DbUnreachable(BadInput):
    code = "DB_UNREACHABLE"


class NotALedger(BadInput):
    code = "NOT_A_LEDGER"


class BadStatement(BadInput):
    """A statement (or proof) file that is malformed, foreign, or refused as unsafe XML."""

    code = "BAD_STATEMENT"


class StorageError(LedgerError):
    """The database could not do what was asked (locked too long, disk full, ...)."""

    code = "STORAGE_ERROR"


class DatabaseBusy(StorageError):
    code = "DB_BUSY"


class DatabaseReadOnly(StorageError):
    code = "DB_READ_ONLY"


class DiskFull(StorageError):
    code = "DISK_FULL"


class DatabaseUnavailable(StorageError):
    """No database server could take the work for as long as the store was told to wait (a failover, a restart).

    Retryable: the same command run again later finishes it, and a write
    retried with the same id is never posted twice.
    """

    code = "DB_UNAVAILABLE"


class IntegrityProblem(LedgerError):
    """Stored data does not match what the journal proves."""

    code = "INTEGRITY"


class HalfDone(IntegrityProblem):
    """A payment across two ledgers was fulfilled on one side and can no longer be on the other (docs/crossledger.md)."""

    code = "HALF_DONE"


class NodeUnavailable(LedgerError):
    """A ledger's node process (``python -m wonledger.crossledger.node``) could not be started or stopped answering."""

    code = "NODE_UNAVAILABLE"


class PaymentLocked(LedgerError):
    """Another driver holds the lock of this payment across two ledgers."""

    code = "PAYMENT_LOCKED"


def error_for_code(code: str, message: str) -> LedgerError:
    """Rebuild an error from its code (a batch result carries codes, not objects)."""
    for cls in _all_subclasses(LedgerError):
        if cls.code == code:
            return cls(message)
    return LedgerError(message)


def _all_subclasses(cls: type[LedgerError]) -> list[type[LedgerError]]:
    found: list[type[LedgerError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found
