"""Statement export: an account's booked legs over a period, written in a format of :mod:`wonledger.statements.formats`.

One read gives everything but the entries (the account, its asset, the
journal's head, the opening and closing balances and the period's span);
the entries then stream in pages, bounded by the head read, so a statement
is the journal as of one moment even while writers go on. The same
statement exported again gets the same ids (:func:`statement_reference`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TextIO

from wonledger.audit.legs import booked_leg, check_day, next_day
from wonledger.book.session import AuditSession, asset_of
from wonledger.domain.errors import BadInput
from wonledger.domain.model import Account
from wonledger.domain.money import Asset
from wonledger.domain.timestamps import iso
from wonledger.statements.formats import writable_format
from wonledger.statements.statement import BOOKED, StatementEntry, StatementHeader
from wonledger.store import UnitOfWork

__all__ = ["StatementSummary", "statement_reference", "validate_statement", "write_statement"]


@dataclass(frozen=True, slots=True)
class StatementSummary:
    account: str
    format: str
    entries: int
    opening: int
    closing: int
    from_date: str
    to_date: str


def statement_reference(prefix: str, ledger_id: str, account: str, from_date: str, to_date: str, upto: int) -> str:
    """A statement's (``S``) or message's (``M``) id: unique per ledger, account, period and journal position.

    ``<prefix><journal head seq>-`` and hex digits of SHA-256 over all four, 35
    characters in all (ISO 20022's Max35Text): no table is needed to keep it
    unique, and the same statement exported again gets the same id.
    """
    head = f"{prefix}{upto}-"
    digest = hashlib.sha256(f"{prefix}\x00{ledger_id}\x00{account}\x00{from_date}\x00{to_date}\x00{upto}".encode()).hexdigest()
    return head + digest[: 35 - len(head)]


@dataclass(frozen=True, slots=True)
class _Standing:
    """What the statement says besides its entries, as one read found it."""

    account: Account
    asset: Asset
    upto: int  # the journal's head: the statement covers entries 1..upto
    opening: int
    closing: int
    first: str | None  # the period's first and last leg's commit time, if it has any
    last: str | None
    total: int  # legs in the period


def _standing(session: AuditSession, account_name: str, since: str | None, end: str | None) -> _Standing:
    def read(uow: UnitOfWork) -> _Standing:
        account = session.resolve_account(uow, account_name)
        asset = asset_of(uow, account)
        upto, _ = uow.journal.head()

        def balance_before(before: str | None) -> int:
            debits, credits = uow.statements.account_posted_before(account.id, before, upto)
            return credits - debits

        opening = balance_before(since) if since else 0
        closing = balance_before(end)
        first, last, total = uow.statements.account_leg_span(account.id, since, end, upto)
        return _Standing(account, asset, upto, opening, closing, first, last, total)

    return session.read(read)


def write_statement(
    session: AuditSession,
    account_name: str,
    fmt: str,
    out: TextIO,
    since: str | None = None,
    until: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StatementSummary:
    """Write ``account``'s statement (camt.053 or CSV) for [since, until] (dates, inclusive) to ``out``.

    ``progress(advanced, total)`` is told every thousand entries how far the writing got.
    """
    statement_format = writable_format(fmt)
    since, until = check_day(since, "the first day"), check_day(until, "the last day")
    if since and until and since > until:
        raise BadInput(f"the first day {since} is after the last day {until}")
    end = next_day(until)
    got = _standing(session, account_name, since, end)
    account, asset, upto, ledger_id = got.account, got.asset, got.upto, session.ledger_id
    now = iso(session.clock())
    today = now[:10]
    from_date = since or (got.first[:10] if got.first else today)
    to_date = until or max(today, got.last[:10] if got.last else today)
    header = StatementHeader(
        account=account.id,
        currency=asset.currency,
        asset=asset.code,
        from_date=from_date,
        to_date=to_date,
        opening=got.opening,
        closing=got.closing,
        statement_id=statement_reference("S", ledger_id, account.id, from_date, to_date, upto),
        message_id=statement_reference("M", ledger_id, account.id, from_date, to_date, upto),
        sequence=upto,
    )

    def entries() -> Iterator[StatementEntry]:
        for n, leg in enumerate(session.store.stream_account_legs(account.id, since, end, upto, with_memo=True), 1):
            if progress is not None and n % 1000 == 0:
                progress(1000, got.total)
            booked = booked_leg(ledger_id, account.id, leg)
            yield StatementEntry(
                amount=leg.amount,
                credit=booked.credit,
                currency=asset.currency,
                booking_date=booked.booking_date,
                value_date=booked.booking_date,
                status=BOOKED,
                servicer_ref=booked.servicer_ref,
                end_to_end_id=leg.tx_id,
                uetr=booked.uetr,
                kind=leg.kind,
                memo=leg.memo or None,
            )

    count = statement_format.writer()(out, header, entries(), asset.exponent, now[:19] + "+00:00")
    if progress is not None:
        progress(count % 1000, got.total)
    return StatementSummary(account.id, fmt, count, got.opening, got.closing, from_date, to_date)


def validate_statement(path: str, limit: int = 20) -> list[str]:
    """What the official ISO 20022 schema (camt.053.001.08) finds wrong with a statement file; empty when valid."""
    from wonledger.statements import camt053

    return camt053.schema_problems(path, limit)
