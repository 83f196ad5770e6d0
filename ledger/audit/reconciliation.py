"""Reconcile: a bank's statement file matched against the ledger's legs, every difference a break.

The file streams through :func:`wonledger.statements.formats.read_statements`
(any format of the table); each statement of it is matched by
:class:`~wonledger.statements.matching.Matcher` against the legs of the ledger
account it is of. Which account that is comes from one read made before the
file is opened: the account named, and every ledger account the account map
names, resolved together in one read transaction with the journal's head
(legs committed after it are not the statement's). A statement's period
then streams its legs in pages, and its stated balances are checked against
the booked ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import BinaryIO

from wonledger.audit.legs import booked_leg, next_day
from wonledger.book.session import AuditSession, asset_of
from wonledger.domain.errors import AssetMismatch, BadInput, BadStatement, LedgerError, UnknownAccount, UnknownAsset, UnknownParticipant
from wonledger.domain.model import Account
from wonledger.domain.money import Asset
from wonledger.statements.formats import read_statements
from wonledger.statements.matching import BALANCE_MISMATCH, BookedLeg, Break, Matcher, ReconcileReport
from wonledger.statements.statement import MAX34, StatementHeader, StatementReader, short_ref
from wonledger.store import UnitOfWork

__all__ = ["ReconcileReport", "load_account_map", "reconcile"]

#: What a name that is no ledger account raises (as a statement's own account id: "which is no ledger account").
_NOT_AN_ACCOUNT = (UnknownAccount, UnknownParticipant, BadInput)
#: ... and as a line of the account map, whose name may also say an asset there is none of.
_NOT_A_MAPPED_ACCOUNT = (*_NOT_AN_ACCOUNT, UnknownAsset)


def load_account_map(path: str) -> dict[str, str]:
    """A TOML file's ``[accounts]`` table: the account id a bank's statement gives (an IBAN …) → a ledger account."""
    import tomllib

    try:
        with open(path, "rb") as f:
            document = tomllib.load(f)
    except FileNotFoundError:
        raise BadInput(f"no file {path}") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path} is not a TOML account map: {exc}") from None
    table = document.get("accounts")
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise BadInput(f'{path} needs an [accounts] table of "statement account id" = "ledger account" lines')
    return {"".join(k.split()): v for k, v in table.items()}  # an IBAN may be written in groups of four


def _compact(external: str | None) -> str | None:
    return "".join(external.split()) if external else external


@dataclass(frozen=True, slots=True)
class _Known:
    """The one read before the file: the target account, the map's accounts, their assets and the journal's head.

    ``mapped`` holds, per statement account id of the map, its ledger account
    or the error naming it raised: with ``--all`` a map line no statement
    uses is no error, so an error waits until a statement needs the line.
    """

    target: Account | None
    mapped: dict[str, Account | LedgerError]
    assets: dict[str, Asset]
    upto: int


def _read_known(session: AuditSession, account_name: str | None, mapping: dict[str, str]) -> _Known:
    def read(uow: UnitOfWork) -> _Known:
        target = session.resolve_account(uow, account_name) if account_name else None
        mapped: dict[str, Account | LedgerError] = {}
        for external, name in mapping.items():
            try:
                mapped[external] = session.resolve_account(uow, name)
            except _NOT_A_MAPPED_ACCOUNT as exc:
                if target is not None:
                    raise  # the map decides which statements are the target's: every line must name an account
                mapped[external] = exc
        accounts = [target] if target else []
        accounts += [a for a in mapped.values() if isinstance(a, Account)]
        assets = {a.asset: asset_of(uow, a) for a in accounts}
        upto, _ = uow.journal.head()
        return _Known(target, mapped, assets, upto)

    return session.read(read)


def _accepted(known: _Known, statement_account: str | None) -> set[str]:
    """The statement account ids that name the target account: its id (or short reference), the bank's id, map lines."""
    target = known.target
    if target is None:
        return set()
    accepted = {target.id, short_ref(target.id, MAX34)}
    if statement_account:
        accepted.add(_compact(statement_account) or "")
    return accepted | {k for k, v in known.mapped.items() if isinstance(v, Account) and v.id == target.id}


def _named_account(session: AuditSession, statement: str, external: str) -> Account:
    """The ledger account a statement's own account id names, when no map line does (``--all``)."""
    try:
        return session.account(external)
    except _NOT_AN_ACCOUNT:
        raise BadStatement(f"statement {statement} is of account {external}, which is no ledger account", hint="account-map") from None


def reconcile(
    session: AuditSession,
    stream: BinaryIO,
    account_name: str | None,
    tolerance_days: int = 1,
    progress: Callable[[int], None] | None = None,
    *,
    all_statements: bool = False,
    statement_account: str | None = None,
    account_map: dict[str, str] | None = None,
) -> ReconcileReport:
    """Match a statement file against the ledger; every difference is a break in the report.

    The file may hold several statements (camt ``Stmt``/``Rpt``/``Ntfctn``,
    MT940 ``:20:`` blocks). With ``account_name``, those of that account are
    reconciled: the statement's own account id must be the ledger account's
    id (or the short reference a long one is written as), ``statement_account``
    (the id the bank uses, an IBAN say), or map to it in ``account_map``; a
    file with no statement of the account is refused. With
    ``all_statements``, every statement is reconciled against the ledger
    account its id names or maps to, and one that names none is refused.
    """
    if tolerance_days < 0:
        raise BadInput("the value-date tolerance cannot be negative")
    if account_name is None and not all_statements:
        raise BadInput("name the ledger account the statement is of, or reconcile every statement of the file", hint="reconcile-which")
    mapping = {_compact(k) or k: v for k, v in (account_map or {}).items()}  # an IBAN may be written in groups of four
    known = _read_known(session, account_name, mapping)
    target = known.target
    accepted = _accepted(known, statement_account)
    seen: list[str] = []
    chosen: dict[int, Account] = {}

    def ledger_account(header: StatementHeader) -> Account | None:
        external = _compact(header.external_account)
        if target is not None and (external is None or external in accepted):
            return target
        if not all_statements:
            return None
        if external is None:
            raise BadStatement(f"statement {header.statement_id or len(seen)} names no account", hint="reconcile-account")
        if external in known.mapped:
            found = known.mapped[external]
            if isinstance(found, LedgerError):
                raise found
            return found
        return _named_account(session, header.statement_id or str(len(seen)), external)

    def choose(header: StatementHeader) -> int | None:
        seen.append(_compact(header.external_account) or "(none)")
        account = ledger_account(header)
        if account is None:
            return None
        asset = known.assets.get(account.asset) or session.read(partial(asset_of, account=account))
        if header.currency and header.currency != asset.currency:
            raise AssetMismatch(
                f"statement {header.statement_id or len(seen)} is in {header.currency} but {account.id} holds {asset.code} ({asset.currency})"
            )
        chosen[id(header)] = account
        return asset.exponent

    total = ReconcileReport(target.id if target else "")
    for reader in read_statements(stream, choose, progress):
        account = chosen[id(reader.header)]
        asset = known.assets.get(account.asset) or session.read(partial(asset_of, account=account))
        total.add(_reconcile_one(session, reader, account, asset, tolerance_days, known.upto))
    if not total.statements:
        names = ", ".join(dict.fromkeys(seen)) or "none"
        raise BadStatement(
            f"the file holds no statement of {target.id if target else 'any account'} (its statements are of: {names})",
            hint="statement-account",
        )
    return total


def _reconcile_one(session: AuditSession, reader: StatementReader, account: Account, asset: Asset, tolerance_days: int, upto: int) -> ReconcileReport:
    store, ledger_id = session.store, session.ledger_id
    header = reader.header
    report = ReconcileReport(account.id, reader.format)

    def period() -> tuple[str | None, str | None]:
        return header.from_date, header.to_date

    def legs() -> Iterator[BookedLeg]:
        if header.currency and header.currency != asset.currency:
            raise AssetMismatch(f"the statement is in {header.currency} but {account.id} holds {asset.code} ({asset.currency})")
        start, end = period()
        matcher.period = (start, end)
        if start is None and header.partial and matcher.first_day is not None:
            # a notification without a period: its legs lie around its entries, not back to the account's opening
            start = date.fromordinal(matcher.first_day - matcher.window).isoformat()
        for leg in store.stream_account_legs(account.id, start, next_day(end), upto):
            yield booked_leg(ledger_id, account.id, leg)

    def lookup(tx_ids: list[str]) -> list[BookedLeg]:
        found = store.reading(lambda uow: uow.statements.account_legs_of(account.id, tx_ids))
        return [booked_leg(ledger_id, account.id, leg) for leg in found if leg.seq <= upto]

    matcher = Matcher(report, asset.currency, lookup, (None, None), tolerance_days, own_prefix=f"{ledger_id}:", partial=header.partial)
    matcher.run(reader, legs)
    report.statement_id = header.statement_id
    report.statement_account = header.external_account
    report.breaks.extend(_balance_breaks(session, account, header, upto))
    return report


def _balance_breaks(session: AuditSession, account: Account, header: StatementHeader, upto: int) -> list[Break]:
    """The statement's opening and closing booked balances against the ledger's, both read in one transaction."""
    start, end = header.from_date, header.to_date
    wanted = [
        (code, stated, before, day)
        for code, stated, before, day in (("OPBD", header.opening, start, start), ("CLBD", header.closing, next_day(end), end))
        if stated is not None
    ]

    def booked(uow: UnitOfWork, code: str, before: str | None) -> int:
        if code == "OPBD" and before is None:
            return 0
        debits, credits = uow.statements.account_posted_before(account.id, before, upto)
        return credits - debits

    if not wanted:
        return []
    balances = session.read(lambda uow: [booked(uow, code, before) for code, _, before, _ in wanted])
    return [
        Break(BALANCE_MISMATCH, code, {"balance": have, "date": day}, {"balance": stated, "date": day})
        for (code, stated, _, day), have in zip(wanted, balances, strict=True)
        if have != stated
    ]
