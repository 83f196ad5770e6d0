"""The settlement-timing demo: calendars bite on the correspondent route, the stablecoin routes are seconds
(on one ledger, and across two by the cross-ledger protocol, whose deadlines lock the dealer's HKDS), the
figures are reproducible, and everything it writes is real (ledgers that verify, a pair check that holds,
PNG charts, a page).

Each run here is real ledgers in a temporary directory, with a handful of
payments so the whole file stays within a few seconds a run.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from wonledger import Ledger, LedgerError
from wonledger.simulate import demo_json, load_corridor, publish, run_demo
from wonledger.simulate.calendars import is_business_day
from wonledger.simulate.twoledgers import HK_DIR, KR_DIR

SEOUL = ZoneInfo("Asia/Seoul")
WONLEDGER = str(Path(sys.executable).parent / "wonledger")


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


def steps(result, route: str) -> dict:  # type: ignore[no-untyped-def]
    return {s.step: s for s in result.example.route(route).steps}


@pytest.fixture(scope="module")
def corridor():  # type: ignore[no-untyped-def]
    return load_corridor()


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory, corridor):  # type: ignore[no-untyped-def]
    """One run of 40 payments over the default week, charts and page written; shared read-only."""
    out = tmp_path_factory.mktemp("demo-week")
    result = run_demo(out, payments=40, seed=3, corridor=corridor)
    files = publish(result, corridor, out)
    return out, result, files


def test_a_friday_evening_payment_waits_for_monday_in_seoul_on_the_correspondent_route(tmp_path: Path, corridor) -> None:
    friday_evening = seoul(2026, 12, 4, 20, 0)
    result = run_demo(tmp_path, payments=1, seed=1, at=friday_evening, corridor=corridor)
    corr = steps(result, "correspondent")
    assert corr["debit"].at == friday_evening  # the customer is debited when the order is given
    released = corr["fx_trade"].at.astimezone(SEOUL)
    assert released.date() == date(2026, 12, 7) and released.hour >= 9  # Monday, after namsan opens
    assert result.example.correspondent.settled_at >= released
    assert result.example.correspondent.seconds > 2 * 86400


def test_a_saturday_morning_payment_waits_for_the_next_business_day(tmp_path: Path, corridor) -> None:
    saturday = seoul(2026, 12, 5, 9, 0)
    result = run_demo(tmp_path, payments=1, seed=1, at=saturday, corridor=corridor)
    corr = steps(result, "correspondent")
    assert corr["fx_trade"].at.astimezone(SEOUL).date() == date(2026, 12, 7)
    credited = result.example.correspondent.settled_at
    assert credited.tzname() == "HKT" and credited.date() == date(2026, 12, 7) and 9 <= credited.hour < 17


def test_a_korean_public_holiday_delays_the_correspondent_route_a_further_day(tmp_path: Path, corridor) -> None:
    # Thursday evening, after namsan's cut-off. Friday 9 October 2026 is Hangul Day.
    assert not is_business_day(date(2026, 10, 9), ("KR",)) and is_business_day(date(2026, 10, 16), ("KR",))
    before_holiday = run_demo(tmp_path / "holiday", payments=1, seed=1, at=seoul(2026, 10, 8, 20, 0), corridor=corridor)
    ordinary = run_demo(tmp_path / "ordinary", payments=1, seed=1, at=seoul(2026, 10, 15, 20, 0), corridor=corridor)
    assert steps(before_holiday, "correspondent")["fx_trade"].at.astimezone(SEOUL).date() == date(2026, 10, 12)
    assert steps(ordinary, "correspondent")["fx_trade"].at.astimezone(SEOUL).date() == date(2026, 10, 16)
    assert before_holiday.example.correspondent.seconds > ordinary.example.correspondent.seconds + 2 * 86400


def test_hong_kongs_easter_general_holidays_hold_the_credit_until_the_wednesday_after(tmp_path: Path, corridor) -> None:
    # Ordered Thursday 2 April 2026 after namsan's cut-off: released Friday in Seoul and relayed by hudson
    # (Good Friday is a business day in Korea and at the Fed), but harbour is closed from Good Friday to
    # Tuesday 7 April (the day following Good Friday, Sunday, Easter Monday's substitute days).
    result = run_demo(tmp_path, payments=1, seed=1, at=seoul(2026, 4, 2, 16, 0), corridor=corridor)
    assert steps(result, "correspondent")["fx_trade"].at.astimezone(SEOUL).date() == date(2026, 4, 3)
    credited = result.example.correspondent.settled_at
    assert credited.tzname() == "HKT" and credited.date() == date(2026, 4, 8)


def test_the_fed_is_open_on_friday_3_july_2026_so_the_payment_is_credited_that_day(tmp_path: Path, corridor) -> None:
    # Independence Day falls on Saturday 4 July 2026: the federal calendar closes Friday 3 July, the Fed does not.
    result = run_demo(tmp_path, payments=1, seed=1, at=seoul(2026, 7, 2, 16, 0), corridor=corridor)
    relay = steps(result, "correspondent")["correspondent"].at.astimezone(ZoneInfo("America/New_York"))
    assert relay.date() in (date(2026, 7, 2), date(2026, 7, 3))  # Fedwire's day of 3 July opens at 21:00 ET on 2 July
    credited = result.example.correspondent.settled_at
    assert credited.tzname() == "HKT" and credited.date() == date(2026, 7, 3)


def test_the_fx_deal_settles_two_business_days_of_both_currencies_later(tmp_path: Path, corridor) -> None:
    # Released Wednesday 25 Nov 2026 in Seoul; Thursday 26 Nov is Thanksgiving in the US, so T+2 is Monday 30 Nov.
    result = run_demo(tmp_path, payments=1, seed=1, at=seoul(2026, 11, 25, 10, 0), corridor=corridor)
    corr = steps(result, "correspondent")
    assert corr["fx_trade"].at.astimezone(SEOUL).date() == date(2026, 11, 25)
    assert corr["fx_settlement"].at == seoul(2026, 11, 30, 16, 0)


@pytest.mark.slow
def test_the_stablecoin_route_credits_the_payee_in_under_a_minute_at_any_hour(tmp_path: Path, week, corridor) -> None:
    _, result, _ = week
    starts = {r.initiated_at.hour for r in result.sample} | {r.initiated_at.weekday() + 100 for r in result.sample}
    assert len(starts) > 12  # the sample covers many hours and days, nights and the weekend included
    assert all(r.stablecoin.seconds < 60 for r in result.sample)
    small_hours = run_demo(tmp_path, payments=1, seed=1, at=seoul(2026, 12, 6, 3, 0), corridor=corridor)  # Sunday 03:00
    assert small_hours.example.stablecoin.seconds < 60
    assert small_hours.example.correspondent.seconds > 86400


def test_every_step_is_a_ledger_transaction_stamped_with_simulated_time_in_order(week) -> None:
    out, result, _ = week
    with Ledger.open(f"sqlite:///{out / 'demo.db'}", out / "keys") as ledger:
        for route in ("correspondent", "stablecoin"):
            for step in result.example.route(route).steps:
                entry = ledger.transaction(step.tx)
                stamped = datetime.fromisoformat(entry.at.replace("Z", "+00:00"))
                assert stamped == step.at
    times = [row[0] for row in sqlite3.connect(out / "demo.db").execute("SELECT at FROM journal ORDER BY seq")]
    assert times == sorted(times)
    assert times[-1] > "2026-12-01"  # simulated time, not the machine's clock


def test_every_demo_transaction_verifies(week) -> None:
    out, result, _ = week
    assert result.verified and result.transactions > 40 * 5
    run = subprocess.run(
        [WONLEDGER, "--db", f"sqlite:///{out / 'demo.db'}", "--keys", str(out / "keys"), "--json", "verify"],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["ok"] and report["transactions"] == result.transactions


@pytest.mark.slow
def test_the_same_seed_gives_identical_figures_and_another_seed_does_not(tmp_path: Path, corridor) -> None:
    def figures(out: Path, seed: int) -> dict:  # type: ignore[type-arg]
        shown = demo_json(run_demo(out, payments=15, seed=seed, corridor=corridor), [])
        return {"routes": shown["routes"], "example": shown["example"]}

    first, again = figures(tmp_path / "a", 11), figures(tmp_path / "b", 11)
    assert first == again
    assert figures(tmp_path / "c", 12)["routes"] != first["routes"]


def test_the_charts_are_valid_png_images(week) -> None:
    from PIL import Image

    _, _, files = week
    pngs = [f for f in files if f.suffix == ".png"]
    assert sorted(f.name for f in pngs) == ["distribution.png", "timeline.png"]
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(png) as image:
            image.verify()
        with Image.open(png) as image:
            width, height = image.size
            assert width >= 800 and height >= 400
            assert len(image.convert("L").getcolors(maxcolors=1 << 16) or ()) > 10  # drawn, not blank


def test_the_stablecoin_route_costs_less_than_the_fsb_retail_ceiling_and_correspondent_banking_more(week) -> None:
    _, result, _ = week
    # FSB 2027 retail target: average cost at most 1%.
    assert result.stablecoin.cost.share < Fraction(1, 100) < result.correspondent.cost.share
    assert result.correspondent.cost.total_krw == result.correspondent.cost.fees_krw + result.correspondent.cost.spread_krw
    # Across two ledgers the same dealer quotes the same pair by the same policy: the same cost.
    assert result.two_ledgers.cost == result.stablecoin.cost


def test_across_two_ledgers_every_payment_settles_on_both_and_each_ledger_and_the_pair_check_pass(week) -> None:
    out, result, _ = week
    pair = result.pair
    assert pair.kr_verified and pair.hk_verified and pair.pair_ok and pair.problems == ()
    assert pair.outcomes == (("settled", 40 + 1),)  # the sample and the example
    # The ledgers are where `verify-pair --kr DIR --hk DIR` reads them, and the command (a node process per ledger) agrees.
    run = subprocess.run(
        [WONLEDGER, "--json", "verify-pair", "--kr", str(out / KR_DIR), "--hk", str(out / HK_DIR)], capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    checked = json.loads(run.stdout)
    assert checked["ok"] and checked["outcomes"] == {"settled": 41}


def test_each_ledger_holds_only_its_own_side_and_the_relay_carries_the_preimage_hong_kong_published(week) -> None:
    out, result, _ = week
    kr_steps, hk_steps = {"kr_hold", "kr_relay"}, {"hk_hold", "hk_fulfil"}
    example = {s.step: s for s in result.example.two_ledgers.steps}
    assert set(example) == kr_steps | hk_steps
    with Ledger.open(f"sqlite:///{out / KR_DIR / 'wonledger.db'}", out / KR_DIR / "keys") as kr, \
            Ledger.open(f"sqlite:///{out / HK_DIR / 'wonledger.db'}", out / HK_DIR / "keys") as hk:
        for name, step in example.items():
            here, there = (kr, hk) if name in kr_steps else (hk, kr)
            assert datetime.fromisoformat(here.transaction(step.tx).at.replace("Z", "+00:00")) == step.at
            with pytest.raises(LedgerError):
                there.transaction(step.tx)
        on_kr, on_hk = kr.holds.conditional(example["kr_hold"].tx), hk.holds.conditional(example["hk_hold"].tx)
    assert on_kr is not None and on_hk is not None
    assert on_kr.status == on_hk.status == "fulfilled" and on_kr.condition == on_hk.condition
    assert on_kr.preimage == on_hk.preimage and on_kr.partner_hold == on_hk.id and on_hk.partner_hold == on_kr.id
    # Hong Kong's deadline comes first; the payee is paid before the preimage reaches Korea, and both before their deadlines.
    assert example["hk_fulfil"].at < example["kr_relay"].at
    assert on_hk.deadline < on_kr.deadline
    assert example["kr_relay"].at < datetime.fromisoformat(on_kr.deadline.replace("Z", "+00:00"))


def test_the_deadlines_lock_the_dealers_hkds_from_its_hold_to_the_fulfilment_and_at_worst_until_t_hk(week) -> None:
    _, result, _ = week
    locks = result.locks
    assert all(0 < r.hkds_locked_s < locks.hkds_worst_s for r in result.sample)
    assert all(r.two_ledgers.seconds < r.both_final_s < 60 for r in result.sample)  # credited first, final on both in a minute
    assert locks.hkds_worst_s == 120 and locks.krws_worst_s == 120 + 70  # T_HK, and T_KR = T_HK + 2 x 5 s + 30 s + 30 s
    assert locks.hkds_seconds_worst == locks.hkds_minor * 120 > locks.hkds_seconds_median > 0
    assert locks.hkds_locked_median_s <= locks.hkds_locked_p95_s <= locks.hkds_locked_max_s
    assert locks.hkds_minor <= locks.hkds_peak_minor <= 41 * locks.hkds_minor


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Chromium is not installed (/usr/bin/chromium)")
def test_report_html_renders_in_headless_chromium_with_both_charts_loaded(week, tmp_path: Path) -> None:
    built, _, files = week
    assert built / "report.html" in files
    # the page alone, moved away from the PNG files: its charts are inside it
    out = tmp_path / "moved"
    out.mkdir()
    shutil.copy(built / "report.html", out / "report.html")
    # A probe page beside the report reads the report's images once it has loaded (file:// pages may
    # read each other only with --allow-file-access-from-files); Chromium prints the probe's final DOM.
    probe = out / "probe.html"
    probe.write_text(
        "<!doctype html><body><iframe id='r' src='report.html'></iframe><pre id='out'>waiting</pre><script>"
        "document.getElementById('r').addEventListener('load', () => {"
        " const imgs = [...document.getElementById('r').contentDocument.images];"
        " document.getElementById('out').textContent = JSON.stringify(imgs.map("
        "  i => ({src: i.getAttribute('src').slice(0, 40), complete: i.complete, width: i.naturalWidth})));"
        "});</script></body>",
        encoding="utf-8",
    )
    run = subprocess.run(
        ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
         "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    text = run.stdout.split("<pre id=\"out\">", 1)[1].split("</pre>", 1)[0]
    images = json.loads(text.replace("&quot;", '"'))
    assert len(images) == 2 and all(i["src"].startswith("data:image/png;base64,") for i in images)
    assert all(i["complete"] and i["width"] > 0 for i in images)


def test_report_html_carries_both_charts_inside_it_and_links_its_sources(week) -> None:
    out, _, _ = week
    page = (out / "report.html").read_text(encoding="utf-8")
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert sorted(base64.b64decode(e) for e in embedded) == sorted((out / name).read_bytes() for name in ("timeline.png", "distribution.png"))
    assert 'src="timeline.png"' not in page and 'src="distribution.png"' not in page
    links = re.findall(r'<li><a href="(https://[^"]+)">', page)
    assert len(links) == 2 and any("fsb.org" in u for u in links) and any("swift.com" in u for u in links)


def test_demo_json_has_the_shape_of_the_design_and_its_times_carry_offsets(tmp_path: Path) -> None:
    run = subprocess.run(
        [WONLEDGER, "demo", "--payments", "5", "--seed", "2", "--at", "2026-12-05T09:00", "--out", str(tmp_path / "d"), "--json"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    shown = json.loads(run.stdout)
    assert set(shown) == {"payments", "routes", "example", "files"} and shown["payments"] == 5
    for route in ("correspondent", "stablecoin", "two_ledgers"):
        assert {"median_s", "p95_s", "max_s", "cost"} <= set(shown["routes"][route])
        example = shown["example"]["routes"][route]
        assert {"settled_at", "steps"} <= set(example)
        for step in example["steps"]:
            assert {"step", "at", "tx"} <= set(step)
            assert datetime.fromisoformat(step["at"]).utcoffset() is not None
    liquidity = shown["routes"]["two_ledgers"]["liquidity"]
    assert liquidity["hkds_worst_s"] == 120 and liquidity["hkds_seconds_worst_minor"] == liquidity["hkds_minor"] * 120
    assert shown["routes"]["two_ledgers"]["checked"] == {"kr_verified": True, "hk_verified": True, "pair_ok": True, "outcomes": {"settled": 6}}
    assert shown["example"]["initiated_at"] == "2026-12-05T09:00:00+09:00"
    assert [str(Path(f).relative_to(tmp_path / "d")) for f in shown["files"]] == [
        "demo.db", "kr/wonledger.db", "hk/wonledger.db", "timeline.png", "distribution.png", "report.html",
    ]
    assert all(Path(tmp_path, f).exists() or Path(f).exists() for f in shown["files"])


def test_demo_prints_the_comparison_and_refuses_a_start_that_is_not_a_time(tmp_path: Path) -> None:
    run = subprocess.run(
        [WONLEDGER, "demo", "--payments", "3", "--out", "d"], capture_output=True, text=True, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "correspondent banking" in run.stdout and "won stablecoin" in run.stdout and "two ledgers" in run.stdout
    assert "median time to credit" in run.stdout and "FSB" in run.stdout and "dealer's HKDS held" in run.stdout
    assert "verify: ok; two ledgers: " in run.stdout and "verify-pair: ok, 4 settled" in run.stdout
    bad = subprocess.run(
        [WONLEDGER, "demo", "--payments", "3", "--out", "d", "--at", "next saturday"], capture_output=True, text=True, cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: BAD_INPUT: ") and "Traceback" not in bad.stderr


def test_the_simulated_week_has_a_weekend_and_the_default_example_is_a_saturday_morning_in_seoul(corridor) -> None:
    days = {(corridor.week_start + timedelta(days=n)).astimezone(SEOUL).weekday() for n in range(7)}
    assert {5, 6} <= days
    start = corridor.example_at.astimezone(SEOUL)
    assert start.weekday() == 5 and start.hour < 12


def test_banks_hold_correspondent_balances_abroad_but_not_each_others_deposit_tokens(week) -> None:
    from wonledger import Residency

    out, _, _ = week
    with Ledger.open(f"sqlite:///{out / 'demo.db'}", out / "keys") as ledger:
        nostro = ledger.registry.account("namsan:cUSD.hudson")
        assert ledger.registry.asset(nostro.asset).kind == "correspondent_balance" and nostro.balance > 0
        with pytest.raises(Residency):
            ledger.registry.open_account("namsan", "dUSD.hudson")
