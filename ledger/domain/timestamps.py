"""The ledger's notion of time: aware UTC moments, written as fixed-width ISO 8601 text.

``at`` values look like "2026-11-22T03:50:00.123456Z": microseconds always,
so that text order is time order. Kept apart from the hash chain so that a
command that only reads needs no signing code to tell the time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("the ledger's clock must give aware datetimes")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def expiry(at: str, timeout_s: int) -> str:
    return iso(parse_iso(at) + timedelta(seconds=timeout_s))
