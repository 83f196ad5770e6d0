"""Business calendars of the demo's banks: weekends, public holidays, cut-offs, time zones."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.simulate.calendars import Window, add_business_days, is_business_day
from ledger.simulate.corridors import load_corridor
from ledger.simulate.routes import plan_correspondent, plan_stablecoin

SEOUL, NEW_YORK = ZoneInfo("Asia/Seoul"), ZoneInfo("America/New_York")
NAMSAN = Window("Asia/Seoul", "KR", time(9), time(15, 30))
HUDSON = Window("America/New_York", "US", time(21), time(18), opens_day_before=True)
CORRIDOR = load_corridor()


def test_work_arriving_after_the_cut_off_waits_for_the_next_business_morning() -> None:
    assert NAMSAN.next_open(datetime(2026, 12, 1, 15, 31, tzinfo=SEOUL)) == datetime(2026, 12, 2, 9, tzinfo=SEOUL)
    assert NAMSAN.next_open(datetime(2026, 12, 1, 10, 0, tzinfo=SEOUL)) == datetime(2026, 12, 1, 10, tzinfo=SEOUL)


def test_a_korean_holiday_closes_namsan_and_the_holidays_package_knows_it() -> None:
    # Chuseok 2026: 24 to 26 September (Thursday to Saturday).
    assert NAMSAN.next_open(datetime(2026, 9, 23, 16, 0, tzinfo=SEOUL)) == datetime(2026, 9, 28, 9, tzinfo=SEOUL)


def test_the_fedwire_day_opens_at_nine_in_the_evening_before_its_date_new_york_time() -> None:
    # Monday morning in Seoul is Sunday evening in New York: Monday's Fedwire day opens at 21:00 ET Sunday.
    monday_morning_seoul = datetime(2026, 12, 7, 9, 0, tzinfo=SEOUL)
    opens = HUDSON.next_open(monday_morning_seoul)
    assert opens == datetime(2026, 12, 6, 21, 0, tzinfo=NEW_YORK)
    assert opens.astimezone(SEOUL) == datetime(2026, 12, 7, 11, 0, tzinfo=SEOUL)


def test_an_fx_value_date_counts_days_open_in_both_countries() -> None:
    assert add_business_days(date(2026, 12, 2), 2, ("KR", "US")) == date(2026, 12, 4)
    assert not is_business_day(date(2026, 11, 26), ("KR", "US"))  # Thanksgiving
    assert add_business_days(date(2026, 11, 25), 2, ("KR", "US")) == date(2026, 11, 30)


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(SEOUL)),
    seed=st.integers(0, 10**6),
)
def test_the_stablecoin_plan_is_final_within_a_minute_whatever_the_hour_or_the_draw(start: datetime, seed: int) -> None:
    plan = {p.step: p for p in plan_stablecoin(CORRIDOR, start, random.Random(seed))}
    assert timedelta(0) < plan["send"].at - start < timedelta(minutes=1)
    assert plan["cash_out"].at >= plan["send"].at


@settings(max_examples=100, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(SEOUL)),
    seed=st.integers(0, 10**6),
)
def test_korean_and_hong_kong_banks_act_only_on_their_business_days_after_opening(start: datetime, seed: int) -> None:
    plan = {p.step: p for p in plan_correspondent(CORRIDOR, start, random.Random(seed))}
    steps = [plan[s].at for s in ("debit", "fx_trade", "correspondent", "credit")]
    assert steps == sorted(steps)
    for step, country, zone in (("fx_trade", "KR", SEOUL), ("credit", "HK", ZoneInfo("Asia/Hong_Kong"))):
        local = plan[step].at.astimezone(zone)
        assert is_business_day(local.date(), (country,)) and local.time() >= time(9), (step, local)
    settled = plan["fx_settlement"].at.astimezone(SEOUL).date()
    assert is_business_day(settled, ("KR", "US")) and settled > plan["fx_trade"].at.astimezone(SEOUL).date()
