"""Payments across two ledgers: the plan, the driver and its journal, the node processes, the pair check, offline bundles.

A client of the facade, beside the CLI (docs/architecture.md): each ledger
is written by its own node process (:mod:`wonledger.crossledger.node`), the
driver (:mod:`wonledger.crossledger.driver`) talks to both and keeps its own
journal of steps, and :mod:`wonledger.crossledger.pair` checks the two
ledgers together. docs/crossledger.md describes the protocol.

Public names load on first use, as the package's own do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wonledger.crossledger.bundle import BUNDLE_FORMAT, make_bundle
    from wonledger.crossledger.client import LedgerPlace
    from wonledger.crossledger.driver import Outcome
    from wonledger.crossledger.pair import PairReport
    from wonledger.crossledger.plan import DEFAULTS, Timing
    from wonledger.crossledger.runs import pair_of_bundles, pair_of_ledgers, resume, send
    from wonledger.crossledger.steps import CRASH_ENV, CRASH_EXIT, STEPS

_LAZY = {
    "BUNDLE_FORMAT": "bundle",
    "make_bundle": "bundle",
    "LedgerPlace": "client",
    "Outcome": "driver",
    "PairReport": "pair",
    "DEFAULTS": "plan",
    "Timing": "plan",
    "pair_of_bundles": "runs",
    "pair_of_ledgers": "runs",
    "resume": "runs",
    "send": "runs",
    "CRASH_ENV": "steps",
    "CRASH_EXIT": "steps",
    "STEPS": "steps",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wonledger.crossledger' has no attribute {name!r}")
    return getattr(importlib.import_module(f"wonledger.crossledger.{module}"), name)


__all__ = [
    "BUNDLE_FORMAT",
    "CRASH_ENV",
    "CRASH_EXIT",
    "DEFAULTS",
    "STEPS",
    "LedgerPlace",
    "Outcome",
    "PairReport",
    "Timing",
    "make_bundle",
    "pair_of_bundles",
    "pair_of_ledgers",
    "resume",
    "send",
]
