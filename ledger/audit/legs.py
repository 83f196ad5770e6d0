"""An account's journal legs as statements see them, and the day bounds both statement export and reconcile use.

A leg the store reads (:class:`~wonledger.store.AccountLeg`) becomes a
:class:`~wonledger.statements.matching.BookedLeg`: its direction on the account,
its booking day, and the references (the ledger's servicer reference, a
UETR) a statement carries for it. Dates are ``YYYY-MM-DD`` in UTC; a period
[since, until] is read as the half-open [since, the day after until).
"""

from __future__ import annotations

from datetime import date, timedelta

from wonledger.domain.errors import BadInput
from wonledger.statements.matching import BookedLeg
from wonledger.statements.statement import servicer_ref, uetr_for
from wonledger.store import AccountLeg


def check_day(text: str | None, what: str) -> str | None:
    """A date as typed (``YYYY-MM-DD``), or None; BAD_INPUT if it is not one."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise BadInput(f"{what} {text!r} is not a date (YYYY-MM-DD)") from None


def next_day(day: str | None) -> str | None:
    """The day after ``day``: the exclusive end of a period that ends on ``day`` (None: no end)."""
    return None if day is None else (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def booked_leg(ledger_id: str, account: str, leg: AccountLeg) -> BookedLeg:
    """``leg`` as it stands on ``account``, with the references a statement of the ledger gives it."""
    return BookedLeg(
        tx_id=leg.tx_id,
        seq=leg.seq,
        idx=leg.idx,
        kind=leg.kind,
        amount=leg.amount,
        credit=leg.credit == account,
        booking_date=leg.at[:10],
        servicer_ref=servicer_ref(ledger_id, leg.seq, leg.idx),
        uetr=uetr_for(ledger_id, leg.tx_id),
    )
