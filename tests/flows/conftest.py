"""Fixtures of the flow tests: the test's ledger seen through a clock the test moves by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wonledger import Ledger
from wonledger.testing import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def timed(ledger: Ledger, clock: ManualClock) -> Ledger:
    """The test's ledger (SQLite or PostgreSQL), its commit times and quote expiries read from ``clock``."""
    return Ledger(ledger._store, ledger._keys, clock)
