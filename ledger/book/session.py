"""`AuditSession`: the narrow part of one ledger that audits, statements and key changes work through.

The audit's operations (:mod:`wonledger.audit.operations.reports`, ``.reconciliation``,
``.checkpoints``, ``.export``) and key rotation (:mod:`wonledger.flows.keys`)
need a store, a clock, the key store, the book's paths for what they write,
and a way to read an account as a person names it. They get exactly that,
as plain values and callables, and never the `Ledger` facade: nothing under
audit, statements or flows calls back up into the service layer.

The facade builds one session per command (``Ledger._audit_session``). What
is costly to make stays lazy: the key store (``cryptography``), the book
(rules, policy, signature workers) and the registry policy are reached
through callables, so a statement export or a reconcile imports neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from wonledger.domain.errors import UnknownAsset
from wonledger.domain.model import Account
from wonledger.domain.money import Asset
from wonledger.store import Store, UnitOfWork

if TYPE_CHECKING:
    from wonledger.domain.model import Participant, SignedTx
    from wonledger.domain.signing import KeyStore
    from wonledger.rulebook.policy import RegistryPolicy

T = TypeVar("T")


class AccountResolver(Protocol):
    """An account as a person names it: its id (``owner:asset[:label]``) or an owner with one account.

    It reads inside ``uow``, the caller's read transaction, so a command that
    resolves many names (an account map) and reads balances besides does it
    all in one read. Unknown names raise the ledger's usual errors (with a
    "did you mean" read in the same transaction).
    """

    def __call__(self, uow: UnitOfWork, name: str) -> Account: ...


class ParticipantLookup(Protocol):
    """A registered participant by id, read in ``uow``; UNKNOWN_PARTICIPANT (with a "did you mean") if none."""

    def __call__(self, uow: UnitOfWork, pid: str) -> Participant: ...


@dataclass(frozen=True, slots=True)
class AuditSession:
    """One ledger as the audit sees it: its store, clock and keys, and the book's paths it may write by.

    ``record(work)`` runs ``work`` in a write queued behind the book's writers:
    the one path for records no rule reads (a checkpoint, the operator key's
    registration). ``submit(signed)`` is the book's submit path, for the
    signed journal entries of key changes. ``keys``, ``registry_policy`` are
    made on first call.
    """

    store: Store
    clock: Callable[[], datetime]
    keys: Callable[[], KeyStore]
    record: Callable[[Callable[[UnitOfWork], Any]], Any]
    submit: Callable[[SignedTx], object]
    expire_due: Callable[[], int]
    resolve_account: AccountResolver
    participant: ParticipantLookup
    registry_policy: Callable[[], RegistryPolicy]

    @property
    def ledger_id(self) -> str:
        return self.store.ledger_id

    def read(self, work: Callable[[UnitOfWork], T]) -> T:
        """``work`` in one read transaction of the store."""
        return self.store.reading(work)

    def account(self, name: str) -> Account:
        """One account by name, in a read of its own (for commands that need nothing else)."""
        return self.store.reading(lambda uow: self.resolve_account(uow, name))


def asset_of(uow: UnitOfWork, account: Account) -> Asset:
    """The asset ``account`` holds (every account's asset is registered; UNKNOWN_ASSET if the store lost it)."""
    found = uow.registry.asset(account.asset)
    if found is None:
        raise UnknownAsset(f"no asset {account.asset}")
    return found
