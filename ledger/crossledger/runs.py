"""What the CLI's cross-ledger commands run: each opens the driver's journal and one node per ledger, does its work, closes them."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from wonledger.crossledger.bundle import partner_of, side_from_bundle
from wonledger.crossledger.client import LedgerPlace, NodeClient
from wonledger.crossledger.driver import Outcome, open_nodes, xresume, xsend
from wonledger.crossledger.journal import DriverJournal
from wonledger.crossledger.pair import PairReport, check_pair
from wonledger.crossledger.plan import DEFAULTS, Timing
from wonledger.crossledger.views import SideView, side_from_entries
from wonledger.domain.errors import BadStatement
from wonledger.domain.money import TypedAmount


def send(
    kr: LedgerPlace,
    hk: LedgerPlace,
    driver: str | os.PathLike[str],
    payer: str,
    receiver: str,
    amount: int | TypedAmount,
    *,
    sell: str = "KRWS",
    buy: str = "HKDS",
    timing: Timing = DEFAULTS,
    withhold: bool = False,
    memo: str = "",
    wait_db: float | None = None,
) -> Outcome:
    """``xsend``: plan and run one payment from ``payer`` on ``kr`` to ``receiver`` on ``hk``."""
    journal = DriverJournal(driver)
    try:
        first, second = open_nodes(kr, hk, wait_db)
        try:
            return xsend(journal, first, second, payer, receiver, amount, sell=sell, buy=buy, timing=timing, withhold=withhold, memo=memo)
        finally:
            first.close()
            second.close()
    finally:
        journal.close()


def resume(kr: LedgerPlace, hk: LedgerPlace, driver: str | os.PathLike[str], payment: str | None = None, wait_db: float | None = None) -> list[Outcome]:
    """``xresume``: finish or unwind ``payment`` (else every payment the driver left unfinished)."""
    journal = DriverJournal(driver)
    try:
        todo = [payment] if payment is not None else journal.unfinished()
        if not todo:
            return []
        first, second = open_nodes(kr, hk, wait_db)
        try:
            return [xresume(journal, first, second, p) for p in todo]
        finally:
            first.close()
            second.close()
    finally:
        journal.close()


def pair_of_ledgers(kr: LedgerPlace, hk: LedgerPlace, now: datetime | None = None, wait_db: float | None = None) -> PairReport:
    """``verify-pair`` on two live ledgers, each read by its own node."""
    first, second = open_nodes(kr, hk, wait_db)
    try:
        sides = [_side(node, other.ledger) for node, other in ((first, second), (second, first))]
    finally:
        first.close()
        second.close()
    report = check_pair(sides[0], sides[1], now)
    report.not_checked.append("each ledger on its own: run `wonledger verify` on each")
    return report


def _side(node: NodeClient, partner: str) -> SideView:
    found = node.call("entries", partner=partner)
    return side_from_entries(found["ledger"], found["entries"], found["exponents"], partner, found["keys"])


def pair_of_bundles(first: Any, second: Any, keys: tuple[str | None, str | None] = (None, None), now: datetime | None = None) -> PairReport:
    """``verify-pair`` on two offline bundles, the Korean one first; ``keys`` pins each operator's key."""
    if partner_of(first) != (second.get("ledger") if isinstance(second, dict) else None) or partner_of(second) != first.get("ledger"):
        raise BadStatement("the two bundles are not each other's partners (each names the other's ledger as its partner)")
    kr, hk = side_from_bundle(first, keys[0]), side_from_bundle(second, keys[1])
    report = check_pair(kr, hk, now)
    for side, key in zip((kr, hk), keys, strict=True):
        if key is None:
            report.not_checked.append(f"whose checkpoint {side.ledger}'s bundle is: its own operator key was taken (pin one with --kr-operator-key / --hk-operator-key)")
    report.not_checked.append("entries a bundle leaves out: a hold's end missing from a bundle reads as pending until its deadline")
    report.not_checked.append("the assets' exponents, as each bundle states them")
    report.not_checked.append("the far party's public key against the other ledger's registry (a bundle holds no registry)")
    return report


__all__ = ["pair_of_bundles", "pair_of_ledgers", "resume", "send"]
