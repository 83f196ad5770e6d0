"""A payment across two ledgers as the driver plans it: who pays whom, the hashlock, the quote, the two deadlines.

Every transaction of a payment has an id fixed by the payment's id
(:meth:`Plan.tx_id`), so each step can be sent again after a crash and the
ledger answers with its first receipt instead of a second entry.

The deadlines are absolute and asymmetric. The Hong Kong hold (the dealer
pays the receiver) ends at ``T_HK``; the Korean hold (the payer pays the
dealer) at ``T_KR = T_HK + gap``, where the gap covers what can happen
between the receiver's fulfilment on Hong Kong, at the last moment before
``T_HK``, and the relay's commit on Korea::

    gap = 2 * clock skew + relay grace + worst commit time

Twice the skew, since either ledger's clock may be off by it in the other
direction; a relay grace for whoever relays to notice the preimage and send
it; and the worst commit time, which must cover a database failover of the
Korean ledger while the relay waits (19 to 20 s measured on the Patroni
cluster of docs/operations.md). The defaults (:data:`DEFAULTS`) are 5 s of
skew (NTP keeps servers well within it), a 30 s grace and 30 s of commit time:
a gap of 70 s, with the Hong Kong hold open 120 s for the receiver.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from wonledger.domain.errors import BadInput
from wonledger.domain.timestamps import iso, parse_iso


@dataclass(frozen=True, slots=True)
class Timing:
    """How long each side waits, in seconds (see the module's docstring)."""

    hk_window_s: float = 120.0  # from the plan to T_HK: the time the receiver has to fulfil on Hong Kong
    skew_s: float = 5.0
    relay_grace_s: float = 30.0
    worst_commit_s: float = 30.0

    @property
    def gap_s(self) -> float:
        """T_KR − T_HK."""
        return 2 * self.skew_s + self.relay_grace_s + self.worst_commit_s

    def check(self) -> None:
        for name, value in asdict(self).items():
            if value < 0 or (name == "hk_window_s" and value <= 0):
                raise BadInput(f"{name.removesuffix('_s').replace('_', ' ')} must be {'positive' if name == 'hk_window_s' else 'zero or more'} seconds, not {value}")


DEFAULTS = Timing()


@dataclass(frozen=True, slots=True)
class Plan:
    """What the driver's journal keeps of one payment before anything is held: enough to redo every step identically."""

    payment: str
    kr_ledger: str
    hk_ledger: str
    payer: str  # on the Korean ledger
    receiver: str  # on the Hong Kong ledger
    sell_asset: str  # what the payer pays the dealer on Korea (KRWS)
    buy_asset: str  # what the dealer pays the receiver on Hong Kong (HKDS)
    sell_amount: int
    condition: str  # lowercase hex SHA-256 of the receiver's preimage
    kr_deadline: str
    hk_deadline: str
    withhold: bool = False  # the receiver keeps its preimage (a test of the expiry path)
    memo: str = ""
    #: the dealer's quote (QuoteTerms' wire as "terms", plus the amounts), once quoted
    quote: dict[str, Any] = field(default_factory=dict)
    #: the travel data of each hold (wire form): the far party named by reference, from each ledger's partner card
    travel_kr: dict[str, Any] = field(default_factory=dict)
    travel_hk: dict[str, Any] = field(default_factory=dict)

    def tx_id(self, step: str) -> str:
        """The fixed id of one of the payment's transactions (``kr-hold``, ``hk-fulfil`` ...)."""
        return f"{self.payment}.{step}"

    @property
    def kr_hold(self) -> str:
        return self.tx_id("kr-hold")

    @property
    def hk_hold(self) -> str:
        return self.tx_id("hk-hold")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        return cls(**json.loads(text))


def deadlines(now: datetime, timing: Timing) -> tuple[str, str]:
    """(T_KR, T_HK) for a payment planned at ``now``."""
    timing.check()
    hk = now + timedelta(seconds=timing.hk_window_s)
    return iso(hk + timedelta(seconds=timing.gap_s)), iso(hk)


def condition_of(preimage: bytes) -> str:
    if len(preimage) != 32:
        raise BadInput(f"a preimage is 32 bytes, not {len(preimage)}")
    return hashlib.sha256(preimage).hexdigest()


def seconds_until(deadline: str, now: datetime) -> float:
    return (parse_iso(deadline) - now).total_seconds()


__all__ = ["DEFAULTS", "Plan", "Timing", "condition_of", "deadlines", "seconds_until"]
