"""The crash harness's shared virtual clock, installed in every process the harness starts (tests/crossledger/harness.py).

The harness puts this directory on ``PYTHONPATH`` and names a clock file in
``WONLEDGER_HARNESS_CLOCK``; Python imports ``sitecustomize`` at start-up, so
the CLI, the driver and each node it spawns read the time from that file
instead of the machine's clock. The file holds ``{"now": ISO, "skew_s":
{"kr": s, "hk": s, "driver": s}}``: the time stands still until the harness
writes a later ``now`` (so no outcome depends on how fast the machine is),
and each process sees it shifted by its own skew. A node knows its side from
its ``--name``; any other process from ``WONLEDGER_HARNESS_ROLE`` (default:
the driver).

``wonledger.domain.timestamps.utc_now`` is the ledger's one source of time;
its code is swapped (not the name rebound), so every module that imported it
before this ran reads the virtual clock too.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta

CLOCK_ENV = "WONLEDGER_HARNESS_CLOCK"
ROLE_ENV = "WONLEDGER_HARNESS_ROLE"


def _role() -> str:
    argv = sys.argv
    if "--name" in argv[:-1]:  # a node: python -m wonledger.crossledger.node ... --name kr
        return argv[argv.index("--name") + 1]
    return os.environ.get(ROLE_ENV, "driver")


def virtual_now() -> datetime:
    """The harness's time as this process sees it."""
    from wonledger.domain.timestamps import parse_iso

    with open(os.environ[CLOCK_ENV], encoding="utf-8") as handle:
        clock = json.load(handle)
    return parse_iso(clock["now"]) + timedelta(seconds=float(clock.get("skew_s", {}).get(_role(), 0.0)))


def _install() -> None:
    if not os.environ.get(CLOCK_ENV):
        return
    import wonledger.domain.timestamps as timestamps

    def utc_now() -> datetime:
        return _harness_now()  # type: ignore[name-defined]  # noqa: F821  (a global of the timestamps module, set below)

    timestamps._harness_now = virtual_now  # type: ignore[attr-defined]
    timestamps.utc_now.__code__ = utc_now.__code__


_install()
