"""When each step of one payment happens, on each route: the timing model.

Pure functions of the corridor, the start time and a seeded random source;
they decide times, not money. The engine (:mod:`wonledger.simulate.engine`)
turns each planned step into a real ledger transaction at that time.

Correspondent banking (KRW payer in Seoul → HKD payee in Hong Kong):

1. ``debit``: the payer's bank debits its customer when the order is given;
2. ``fx_trade``: in its next processing window (KR business day, before
   its USD cut-off) and after a processing delay, it books the KRW → USD
   deal with its correspondent and sends the payment order;
3. ``correspondent``: the USD correspondent, in its own window (US business
   day, Fedwire hours), moves the dollars from the sender's account with it
   to the HK bank's, keeping its fee;
4. ``credit``: the HK bank, in HK business hours, converts and credits the
   payee: the payment is done;
5. ``fx_settlement``: the FX deal settles T+2 (business days of both
   currencies), refilling the sender's pre-funded USD account.

Won stablecoin: the payer's app takes a quote and, seconds later, one atomic
``send`` (deposit tokens → KRWS at par → PvP with the dealer → HKDS to the
payee) is final, at any hour; an optional ``cash_out`` turns the HKDS into
the payee's bank deposit token during HK banking hours.

Two ledgers (the same stablecoins, each on its own jurisdiction's ledger,
docs/crossledger.md): the receiver's hashlock and the dealer's quote, then
``kr_hold`` (the payer's KRWS held for the dealer on Korea), ``hk_hold`` (the
dealer's HKDS held for the payee on Hong Kong), ``hk_fulfil`` (the payee
fulfils with its preimage: credited) and ``kr_relay`` (the preimage, read
from Hong Kong's journal, fulfils the Korean hold: both sides final), each
after the party acting has seen the step before it, at any hour.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from wonledger.rulebook.policy import load_flow_policy
from wonledger.simulate.calendars import add_business_days
from wonledger.simulate.corridors import Corridor

CORRESPONDENT = "correspondent"
STABLECOIN = "stablecoin"
TWO_LEDGERS = "two_ledgers"
ROUTES = (CORRESPONDENT, STABLECOIN, TWO_LEDGERS)

#: Events that are not journal entries (the app asking the dealer for a quote).
QUOTE = "quote"


@dataclass(frozen=True, slots=True)
class Planned:
    """One step of one payment: when, on which route, by whom (in which time zone)."""

    at: datetime
    route: str
    step: str
    by: str
    timezone: str
    #: Position of the step within its route, to order events of the same second.
    order: int


def plan_correspondent(corridor: Corridor, start: datetime, rng: random.Random) -> tuple[Planned, ...]:
    sender, correspondent, receiver = corridor.banks
    ordered = []
    fx_trade = sender.window.next_open(start) + timedelta(seconds=sender.delay.draw(rng))
    relayed = correspondent.window.next_open(fx_trade) + timedelta(seconds=correspondent.delay.draw(rng))
    credited = receiver.window.next_open(relayed) + timedelta(seconds=receiver.delay.draw(rng))
    ordered.append((start, "debit", sender))
    ordered.append((fx_trade, "fx_trade", sender))
    ordered.append((relayed, "correspondent", correspondent))
    ordered.append((credited, "credit", receiver))
    plan = [
        Planned(at, CORRESPONDENT, step, bank.id, bank.window.timezone, n)
        for n, (at, step, bank) in enumerate(ordered)
    ]
    plan.append(Planned(fx_value_time(corridor, fx_trade), CORRESPONDENT, "fx_settlement", "cls", corridor.fx_timezone, len(plan)))
    return tuple(plan)


def fx_value_time(corridor: Corridor, traded: datetime) -> datetime:
    """When a KRW/USD deal made at ``traded`` settles: T+2 business days of both currencies."""
    zone = ZoneInfo(corridor.fx_timezone)
    value_date = add_business_days(traded.astimezone(zone).date(), corridor.fx_settlement_days, corridor.fx_calendars)
    return datetime.combine(value_date, corridor.fx_settles_at, tzinfo=zone)


def plan_stablecoin(corridor: Corridor, start: datetime, rng: random.Random) -> tuple[Planned, ...]:
    quoted = start + timedelta(seconds=corridor.coin_processing.draw(rng))
    # Final once its block is made and `confirmations` more follow it.
    final = quoted + timedelta(seconds=rng.randint(1, corridor.block_s) + corridor.confirmations * corridor.block_s)
    cash_out = corridor.last_mile.next_open(final) + timedelta(seconds=corridor.last_mile_delay.draw(rng))
    payer_zone = corridor.sender.window.timezone
    return (
        Planned(quoted, STABLECOIN, QUOTE, corridor.payer, payer_zone, 0),
        Planned(final, STABLECOIN, "send", corridor.payer, payer_zone, 1),
        Planned(cash_out, STABLECOIN, "cash_out", corridor.payee, corridor.last_mile.timezone, 2),
    )


def plan_two_ledgers(corridor: Corridor, start: datetime, rng: random.Random) -> tuple[Planned, ...]:
    delays = corridor.two_ledgers
    dealer = load_flow_policy().dealer  # it holds HKDS on Hong Kong, and relays the preimage it is owed KRWS for
    quoted = start + timedelta(seconds=corridor.coin_processing.draw(rng))
    kr_hold = quoted + timedelta(seconds=delays.payer.draw(rng))
    hk_hold = kr_hold + timedelta(seconds=delays.dealer.draw(rng))
    fulfilled = hk_hold + timedelta(seconds=delays.receiver.draw(rng))
    relayed = fulfilled + timedelta(seconds=delays.relay.draw(rng))
    payer_zone, payee_zone = corridor.sender.window.timezone, corridor.last_mile.timezone
    steps = (
        (quoted, QUOTE, corridor.payer, payer_zone),
        (kr_hold, "kr_hold", corridor.payer, payer_zone),
        (hk_hold, "hk_hold", dealer, payee_zone),
        (fulfilled, "hk_fulfil", corridor.payee, payee_zone),
        (relayed, "kr_relay", dealer, payee_zone),
    )
    return tuple(Planned(at, TWO_LEDGERS, step, by, zone, n) for n, (at, step, by, zone) in enumerate(steps))
