"""Reconcile: a bank's statement file matched against the ledger's legs, every difference a break.

The file streams through :func:`wonledger.statements.formats.read_statements`
(any format of the table); each statement of it is matched by
:class:`~wonledger.statements.matching.Matcher` against the legs of the ledger
account it is of. Which account that is comes from one read made before the
file is opened: the account named, and every ledger account the account map
names, resolved together in one read transaction with the journal's head
(legs committed after it are not the statement's). A statement's period
(its own: :meth:`~wonledger.statements.statement.StatementHeader.period`)
then streams its legs in pages, and its stated balances are checked against
the booked ones.

What a statement says of itself is checked too: a statement whose own
arithmetic fails is an ``unbalanced_statement``; the same statement twice in
a file is a ``duplicate_statement`` (the copy is not matched again); a
statement of another currency, or one that names another asset than the
account's (the CSV's asset column, the ledger asset wonledger's own camt
names as the account's name), is refused with ``ASSET_MISMATCH``.

**One difference, one break.** The opening balance is compared with the
ledger's balance before the period; the closing balance only where its
difference is not already explained. The statement's closing minus the
ledger's is always its opening difference, plus what the entry breaks add
(a payment the ledger lacks, a leg the statement lacks, another amount:
each break carries that effect), minus what the statement's own arithmetic
is out by. A closing difference equal to that sum is those breaks seen a
second time and is not reported again; one that differs from it (the
closing of a statement without an opening, say) is a ``balance_mismatch``.
Likewise a statement whose own arithmetic is out by exactly what its entry
breaks add up to (its balances are the ledger's; a line of it was lost, or
a batch's entry differs from its transactions) has those breaks, not an
``unbalanced_statement`` besides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import BinaryIO, cast

from wonledger.audit.legs import booked_leg, next_day
from wonledger.book.session import AuditSession, asset_of
from wonledger.domain.errors import AssetMismatch, BadInput, BadStatement, LedgerError, UnknownAccount, UnknownAsset, UnknownParticipant
from wonledger.domain.model import Account
from wonledger.domain.money import Asset
from wonledger.statements.formats import read_statements
from wonledger.statements.matching import (
    BALANCE_MISMATCH,
    DUPLICATE_STATEMENT,
    OVERLAPPING_STATEMENT,
    UNBALANCED_STATEMENT,
    BookedLeg,
    Break,
    Matcher,
    ReconcileReport,
)
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
    asset_codes: frozenset[str]  # every asset of the ledger


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
        return _Known(target, mapped, assets, upto, frozenset(a.code for a in uow.registry.assets()))

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
    chooser = _Chooser(session, known, _accepted(known, statement_account), all_statements)
    total = ReconcileReport(target.id if target else "")
    #: per account, by how much the last statement's closing differed from the ledger's: the next statement of
    #: the account in the file opens with that difference, which the last one's breaks already name
    carried: dict[str, int] = {}
    for reader in read_statements(stream, chooser.choose, progress):
        account = chooser.chosen[id(reader.header)]
        asset = known.assets.get(account.asset) or session.read(partial(asset_of, account=account))
        part = _reconcile_one(session, reader, account, asset, tolerance_days, known.upto, carried)
        _overlaps(part, total.statements)
        total.add(part)
    for copy in chooser.duplicates:
        total.add(copy)
    if not total.statements:
        names = ", ".join(dict.fromkeys(chooser.seen)) or "none"
        raise BadStatement(
            f"the file holds no statement of {target.id if target else 'any account'} (its statements are of: {names})",
            hint="statement-account",
        )
    return total


class _Chooser:
    """Decides, from each statement's header, which ledger account it is of, or that it is skipped or a duplicate."""

    def __init__(self, session: AuditSession, known: _Known, accepted: set[str], all_statements: bool) -> None:
        self.session, self.known, self.accepted, self.all_statements = session, known, accepted, all_statements
        self.seen: list[str] = []  # every statement's account id, in file order (to name them in a refusal)
        self.chosen: dict[int, Account] = {}  # id(header) → its ledger account
        self.fingerprints: dict[tuple[str, tuple[str, ...]], int] = {}
        self.duplicates: list[ReconcileReport] = []

    def ledger_account(self, header: StatementHeader) -> Account | None:
        target, known = self.known.target, self.known
        external = _compact(header.external_account)
        if target is not None and (external is None or external in self.accepted):
            return target
        if not self.all_statements:
            return None
        if external is None:
            raise BadStatement(f"statement {header.statement_id or len(self.seen)} names no account", hint="reconcile-account")
        if external in known.mapped:
            found = known.mapped[external]
            if isinstance(found, LedgerError):
                raise found
            return found
        return _named_account(self.session, header.statement_id or str(len(self.seen)), external)

    def choose(self, header: StatementHeader) -> int | None:
        """The exponent to read the statement's amounts in; None to skip it (another account's, or a copy)."""
        self.seen.append(_compact(header.external_account) or "(none)")
        account = self.ledger_account(header)
        if account is None:
            return None
        asset = self.known.assets.get(account.asset) or self.session.read(partial(asset_of, account=account))
        _check_asset(header, account, asset, self.known, header.statement_id or str(len(self.seen)))
        if header.fingerprint:
            first = self.fingerprints.setdefault((account.id, header.fingerprint), len(self.seen))
            if first != len(self.seen):
                self.duplicates.append(_duplicate(header, account, first))
                return None
        self.chosen[id(header)] = account
        return asset.exponent


def _overlaps(part: ReconcileReport, before: list[ReconcileReport]) -> None:
    """A statement of an account for days an earlier statement of the file covers counts their payments twice.

    Notifications (camt.054) report single movements, not days: they overlap nothing.
    """
    start, end = part.period
    if part.notification or start is None or end is None or start > end:
        return
    for n, earlier in enumerate(before, 1):
        first, last = earlier.period
        if earlier.account != part.account or earlier.notification or first is None or last is None or first > last:
            continue
        if start <= last and first <= end:
            side: dict[str, object] = {
                "statement_id": part.statement_id, "period": {"from": start, "to": end},
                "overlaps": n, "overlapped_period": {"from": first, "to": last},
            }
            part.log.add(Break(OVERLAPPING_STATEMENT, part.statement_id, None, side))
            return


def _check_asset(header: StatementHeader, account: Account, asset: Asset, known: _Known, which: str) -> None:
    """A statement of another currency, or naming another asset, than the account's is refused."""
    if header.currency and header.currency != asset.currency:
        raise AssetMismatch(f"statement {which} is in {header.currency} but {account.id} holds {asset.code} ({asset.currency})")
    named = header.asset or (header.account_name if header.account_name in known.asset_codes else None)
    if named and named != account.asset:
        raise AssetMismatch(f"statement {which} is of the asset {named} but {account.id} holds {asset.code}")


def _duplicate(header: StatementHeader, account: Account, first: int) -> ReconcileReport:
    """The report of a statement the file already held: one break, and nothing matched again."""
    copy = ReconcileReport(account.id, header.message or "", statement_id=header.statement_id, statement_account=header.external_account)
    side: dict[str, object] = {
        "statement_id": header.statement_id, "sequence": header.sequence, "statement_account": header.external_account, "copy_of": first,
    }
    copy.log.add(Break(DUPLICATE_STATEMENT, header.statement_id, None, side))
    return copy


def _reconcile_one(
    session: AuditSession, reader: StatementReader, account: Account, asset: Asset, tolerance_days: int, upto: int, carried: dict[str, int]
) -> ReconcileReport:
    store, ledger_id = session.store, session.ledger_id
    header = reader.header
    report = ReconcileReport(account.id, reader.format)

    def compared() -> tuple[str | None, str | None]:
        """The statement's period as far as it is known: its last day is known once it states it or has been read.

        A notification (camt.054) reports some movements, not a period of the account: its legs are looked for
        around its entries, and the others are not its.
        """
        if header.partial:
            return None, None
        start, end = header.period()
        return start, end if header.complete or header.to_date else None

    def legs() -> Iterator[BookedLeg]:
        start, end = compared()
        if start is None and header.partial and matcher.first_day is not None:
            # a notification without a period: its legs lie around its entries, not back to the account's opening
            start = date.fromordinal(matcher.first_day - matcher.window).isoformat()
        for leg in store.stream_account_legs(account.id, start, next_day(end), upto):
            yield booked_leg(ledger_id, account.id, leg)

    def lookup(tx_ids: list[str]) -> list[BookedLeg]:
        found = store.reading(lambda uow: uow.statements.account_legs_of(account.id, tx_ids))
        return [booked_leg(ledger_id, account.id, leg) for leg in found if leg.seq <= upto]

    matcher = Matcher(
        report, asset.currency, lookup, compared, tolerance_days, own_prefix=f"{ledger_id}:", partial=header.partial, asset=account.asset
    )
    matcher.run(reader, legs)
    report.statement_id = header.statement_id
    report.statement_account = header.external_account
    report.period = header.period()
    report.notification = header.partial
    _statement_breaks(session, account, header, report, upto, carried)
    return report


def _statement_breaks(session: AuditSession, account: Account, header: StatementHeader, report: ReconcileReport, upto: int, carried: dict[str, int]) -> None:
    """What the statement says of itself: its own arithmetic, and its balances against the ledger's (see the module).

    ``carried[account]``: the closing difference of the account's statement
    before this one in the file; an opening that differs by just that is the
    same difference, named by that statement's breaks.
    """
    log = report.log
    entries_effect = log.effect
    out_by = sum(cast(int, p["difference"]) for p in header.problems)
    broken_pages = any("previous_closing" in p for p in header.problems)
    if out_by != entries_effect or broken_pages:
        # (a statement out by exactly what its entry breaks add up to has the ledger's balances: its entries are what
        # differ, and those breaks say so; a file that lost a line is such a statement. Pages that do not continue
        # are named whatever the sum: a misstated opening and the page's arithmetic would cancel in it)
        for problem in header.problems:
            log.add(Break(UNBALANCED_STATEMENT, header.statement_id, None, problem))
    start, end = report.period
    if header.opening is None and header.closing is None:
        return

    def booked(uow: UnitOfWork, before: str | None) -> int:
        debits, credits = uow.statements.account_posted_before(account.id, before, upto)
        return credits - debits

    opening, closing = session.read(lambda uow: (booked(uow, start) if start else 0, booked(uow, next_day(end))))
    opened_by = 0
    if header.opening is not None and start is not None:
        opened_by = header.opening - opening
        if opened_by != carried.get(account.id, 0):
            log.add(Break(BALANCE_MISMATCH, "OPBD", {"balance": opening, "date": start}, {"balance": header.opening, "date": header.opening_date}))
    else:
        out_by = 0  # without an opening balance the statement's own arithmetic was not checked
    if header.closing is not None:
        closed_by = header.closing - closing
        carried[account.id] = closed_by
        if closed_by != opened_by + entries_effect - out_by:
            log.add(Break(BALANCE_MISMATCH, "CLBD", {"balance": closing, "date": end}, {"balance": header.closing, "date": header.closing_date}))
