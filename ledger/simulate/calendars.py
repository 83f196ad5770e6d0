"""When an institution works: business days, public holidays, opening and cut-off times.

A :class:`Window` is one institution's processing day in its own time zone
(zoneinfo): it takes work from ``opens`` to ``cutoff`` on days that are
neither a weekend nor a holiday of its calendar (the ``holidays`` package,
not a hand-made list). Work that arrives outside the window waits for the
next one. :func:`add_business_days` counts days open in several calendars at
once, as an FX value date does.

A calendar is named the way ``fixtures/corridors.toml`` names it:

- a financial market code of ``holidays`` (``XFED``: the Federal Reserve
  Banks, which open on the Friday before a holiday that falls on a Saturday,
  unlike the federal calendar);
- a country code, optionally with the ``holidays`` categories to take after a
  slash (``HK/optional``: Hong Kong's general holidays, the days its banks
  close, of which the statutory holidays of the default category are only a
  part; ``KR``: Korea's public holidays).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from wonledger.domain.errors import BadInput

#: No real calendar closes for this long; a loop that gets here is a bug in the inputs.
_LONGEST_CLOSURE_DAYS = 60


@cache
def _holidays(calendar: str) -> holidays.HolidayBase:
    """The ``holidays`` calendar a name stands for (see the module's docstring)."""
    name, _, categories = calendar.partition("/")
    try:
        if not categories and name in holidays.list_supported_financial():
            return holidays.financial_holidays(name)
        if categories:
            return holidays.country_holidays(name, categories=tuple(categories.split("+")))
        return holidays.country_holidays(name)
    except (NotImplementedError, ValueError) as exc:
        raise BadInput(f"the holidays package has no calendar {calendar!r}: {exc}") from exc


def is_business_day(day: date, countries: tuple[str, ...]) -> bool:
    """Monday to Friday and a holiday in none of the calendars ``countries``."""
    return day.weekday() < 5 and not any(day in _holidays(c) for c in countries)


def holiday_name(day: date, country: str) -> str | None:
    return _holidays(country).get(day)


def add_business_days(day: date, count: int, countries: tuple[str, ...]) -> date:
    """The ``count``-th day after ``day`` that is a business day in every one of ``countries``."""
    found = 0
    for _ in range(count * _LONGEST_CLOSURE_DAYS):
        day += timedelta(days=1)
        if is_business_day(day, countries):
            found += 1
            if found == count:
                return day
    raise BadInput(f"no {count} business days in {', '.join(countries)} after {day}")  # pragma: no cover


def parse_clock_time(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"{text!r} is not a time of day (HH:MM)") from exc


@dataclass(frozen=True, slots=True)
class Window:
    """An institution's daily processing window in its own time zone."""

    timezone: str
    country: str
    opens: time
    cutoff: time
    #: The window for day D opens the evening before (Fedwire's day starts at 21:00 ET on D-1).
    opens_day_before: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def bounds(self, day: date) -> tuple[datetime, datetime]:
        """When the window of business day ``day`` opens and closes."""
        start_day = day - timedelta(days=1) if self.opens_day_before else day
        return (
            datetime.combine(start_day, self.opens, tzinfo=self.zone),
            datetime.combine(day, self.cutoff, tzinfo=self.zone),
        )

    def next_open(self, moment: datetime) -> datetime:
        """The earliest time at or after ``moment`` when the institution takes work."""
        day = moment.astimezone(self.zone).date()
        for _ in range(_LONGEST_CLOSURE_DAYS):
            if is_business_day(day, (self.country,)):
                opens, closes = self.bounds(day)
                if moment < closes:
                    return max(moment, opens)
            day += timedelta(days=1)
        raise BadInput(f"{self.country} has no business day within {_LONGEST_CLOSURE_DAYS} days of {moment}")  # pragma: no cover

    def open_spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The windows that overlap ``[start, end]``, for drawing."""
        spans: list[tuple[datetime, datetime]] = []
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        while True:
            opens, closes = self.bounds(day)
            if opens > end:
                return spans
            if closes > start and is_business_day(day, (self.country,)):
                spans.append((max(opens, start), min(closes, end)))
            day += timedelta(days=1)
