"""The schema's revision, the meta rows a ledger is known by, and the busy timeout: no SQLAlchemy.

Shared by the store's handshake (:mod:`wonledger.store.repository`) and its
quick reads (:mod:`wonledger.store.quick`), which must agree on what a
ledger at the newest schema looks like.
"""

from __future__ import annotations

import os

from wonledger.domain.errors import BadInput

#: The newest migration; a database at another revision is not opened.
SCHEMA_HEAD = "0007"
#: Earlier revisions this wonledger upgrades when it opens them.
OLDER_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006")
#: The meta rows the handshake reads: this ledger's id, and the mark of a registry kept outside the journal (before 0004).
LEDGER_ID_META = "ledger_id"
UNSIGNED_META = "registry_unsigned"
#: How long a writer waits for another before giving up, in seconds (unless WONLEDGER_BUSY_TIMEOUT says).
SQLITE_BUSY_TIMEOUT_S = 60
BUSY_TIMEOUT_ENV = "WONLEDGER_BUSY_TIMEOUT"


def busy_timeout_s() -> float:
    """The busy timeout in seconds: WONLEDGER_BUSY_TIMEOUT, else 60."""
    text = os.environ.get(BUSY_TIMEOUT_ENV)
    if not text:
        return float(SQLITE_BUSY_TIMEOUT_S)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 24 * 3600:
        raise BadInput(f"{BUSY_TIMEOUT_ENV}={text[:40]!r} must be a number of seconds above 0 and at most a day")
    return value
