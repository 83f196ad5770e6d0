"""Business calendars of the demo's banks: weekends, public holidays, cut-offs, time zones."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from ledger.simulate.calendars import Window, add_business_days, is_business_day

SEOUL, NEW_YORK = ZoneInfo("Asia/Seoul"), ZoneInfo("America/New_York")
NAMSAN = Window("Asia/Seoul", "KR", time(9), time(15, 30))
HUDSON = Window("America/New_York", "US", time(21), time(18), opens_day_before=True)


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
