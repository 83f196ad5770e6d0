"""Where a ledger is when nothing names it: plain constants, so that reading them imports nothing else."""

from __future__ import annotations

DEFAULT_DB = "sqlite:///wonledger.db"
DEFAULT_KEYS = "wonledger-keys"
