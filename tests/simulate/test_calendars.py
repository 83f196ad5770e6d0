"""Business calendars of the demo's banks: weekends, public holidays, cut-offs, time zones."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from wonledger.simulate.calendars import Window, add_business_days, holiday_name, is_business_day
from wonledger.simulate.corridors import load_corridor
from wonledger.simulate.routes import plan_correspondent, plan_stablecoin

SEOUL, NEW_YORK = ZoneInfo("Asia/Seoul"), ZoneInfo("America/New_York")
NAMSAN = Window("Asia/Seoul", "KR", time(9), time(15, 30))
HUDSON = Window("America/New_York", "XFED", time(21), time(18), opens_day_before=True)
HARBOUR = Window("Asia/Hong_Kong", "HK/optional", time(9), time(17))
HONG_KONG = ZoneInfo("Asia/Hong_Kong")
CORRIDOR = load_corridor()


def test_work_arriving_after_the_cut_off_waits_for_the_next_business_morning() -> None:
    assert NAMSAN.next_open(datetime(2026, 12, 1, 15, 31, tzinfo=SEOUL)) == datetime(2026, 12, 2, 9, tzinfo=SEOUL)
    assert NAMSAN.next_open(datetime(2026, 12, 1, 10, 0, tzinfo=SEOUL)) == datetime(2026, 12, 1, 10, tzinfo=SEOUL)


def test_a_korean_holiday_closes_namsan_and_the_holidays_package_knows_it() -> None:
    # Chuseok 2026: 24 to 26 September (Thursday to Saturday).
    assert NAMSAN.next_open(datetime(2026, 9, 23, 16, 0, tzinfo=SEOUL)) == datetime(2026, 9, 28, 9, tzinfo=SEOUL)


def test_the_fed_is_open_on_friday_3_july_2026_when_independence_day_falls_on_a_saturday() -> None:
    # The federal calendar observes 4 July 2026 on Friday 3 July; the Reserve Banks do not.
    assert is_business_day(date(2026, 7, 3), ("XFED",))
    assert not is_business_day(date(2026, 7, 3), ("US",))
    friday_evening = datetime(2026, 7, 2, 22, 0, tzinfo=NEW_YORK)  # Fedwire's day for Friday 3 July is open
    assert HUDSON.next_open(friday_evening) == friday_evening
    # a holiday on a Sunday closes the Fed on the Monday after: 4 July 2027 is a Sunday
    assert not is_business_day(date(2027, 7, 5), ("XFED",))


def test_hong_kong_banks_close_on_its_general_holidays_good_friday_the_day_after_and_easter_monday() -> None:
    for day in (date(2026, 4, 3), date(2026, 4, 6), date(2026, 4, 7), date(2027, 3, 26), date(2027, 3, 29)):
        assert not is_business_day(day, ("HK/optional",)), day
    # Saturday 4 April 2026 and 27 March 2027, the day following Good Friday, are general holidays too
    assert holiday_name(date(2026, 4, 4), "HK/optional") and holiday_name(date(2027, 3, 27), "HK/optional")
    # the statutory (default) list lacks Good Friday: it is not the banks' calendar
    assert is_business_day(date(2026, 4, 3), ("HK",))
    # money paid to harbour on the Thursday evening before Easter 2026 waits for Wednesday 8 April
    assert HARBOUR.next_open(datetime(2026, 4, 2, 18, 0, tzinfo=HONG_KONG)) == datetime(2026, 4, 8, 9, 0, tzinfo=HONG_KONG)


def test_chuseok_2026_closes_korean_banks_from_24_to_26_september() -> None:
    for day in (date(2026, 9, 24), date(2026, 9, 25), date(2026, 9, 26)):
        assert holiday_name(day, "KR"), day
    assert not is_business_day(date(2026, 9, 24), ("KR",)) and not is_business_day(date(2026, 9, 25), ("KR",))
    assert is_business_day(date(2026, 9, 23), ("KR",)) and is_business_day(date(2026, 9, 28), ("KR",))


def test_the_demo_corridor_uses_the_payment_calendars_and_every_cut_off_cites_its_source() -> None:
    from importlib.resources import files

    assert [b.window.country for b in CORRIDOR.banks] == ["KR", "XFED", "HK/optional"]
    assert CORRIDOR.last_mile.country == "HK/optional"
    assert CORRIDOR.fx_calendars == ("KR", "XFED")
    lines = files("wonledger_fixtures").joinpath("corridors.toml").read_text().splitlines()
    timed = [n for n, line in enumerate(lines) if line.split("=")[0].strip() in ("opens", "cutoff")]
    assert len(timed) == 8
    for n in timed:
        above = n - 1
        while lines[above].split("=")[0].strip() in ("opens", "opens_day_before", "cutoff"):
            above -= 1
        assert lines[above].startswith("#"), f"line {n + 1} ({lines[n]}) has no comment saying where it comes from"


def test_the_fedwire_day_opens_at_nine_in_the_evening_before_its_date_new_york_time() -> None:
    # Monday morning in Seoul is Sunday evening in New York: Monday's Fedwire day opens at 21:00 ET Sunday.
    monday_morning_seoul = datetime(2026, 12, 7, 9, 0, tzinfo=SEOUL)
    opens = HUDSON.next_open(monday_morning_seoul)
    assert opens == datetime(2026, 12, 6, 21, 0, tzinfo=NEW_YORK)
    assert opens.astimezone(SEOUL) == datetime(2026, 12, 7, 11, 0, tzinfo=SEOUL)


def test_an_fx_value_date_counts_days_open_in_both_countries() -> None:
    assert add_business_days(date(2026, 12, 2), 2, ("KR", "XFED")) == date(2026, 12, 4)
    assert not is_business_day(date(2026, 11, 26), ("KR", "XFED"))  # Thanksgiving
    assert add_business_days(date(2026, 11, 25), 2, ("KR", "XFED")) == date(2026, 11, 30)


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
    assert is_business_day(settled, ("KR", "XFED")) and settled > plan["fx_trade"].at.astimezone(SEOUL).date()
