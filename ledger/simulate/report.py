"""What the demo says: the side-by-side figures, the example's timeline, and ``report.html``.

The same rows feed the terminal (the ``demo`` command) and the HTML page, so
the two never disagree. The page needs no network and no other file: plain
HTML and CSS with both charts inside it as ``data:`` URIs, so it survives
being mailed or moved alone (the PNG files are also written beside it).
"""

from __future__ import annotations

import base64
import html
import math
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

from wonledger.domain.money import format_amount
from wonledger.simulate.charts import DISTRIBUTION_PNG, TIMELINE_PNG, draw_distribution, draw_timeline
from wonledger.simulate.corridors import Corridor
from wonledger.simulate.engine import Cost, DemoResult, RouteRecord
from wonledger.simulate.routes import CORRESPONDENT, ROUTES, STABLECOIN, TWO_LEDGERS
from wonledger.simulate.stats import duration, percent

REPORT_HTML = "report.html"
SEOUL = ZoneInfo("Asia/Seoul")
ROUTE_NAMES = {CORRESPONDENT: "correspondent banking", STABLECOIN: "won stablecoin", TWO_LEDGERS: "two ledgers"}
#: Published anchors (FATF Recommendation 16, interpretive note), quoted wherever the figures are shown.
SOURCES = (
    "SWIFT gpi: about 50% of payments credited within 30 minutes and almost all within 24 hours (business days, all corridors).",
    "FSB / G20 target for end-2027: 75% of cross-border payments credited within one hour.",
)
#: Where each of SOURCES is published, linked from the report.
SOURCE_LINKS = (
    "https://www.swift.com/our-solutions/swift-gpi",
    "https://www.fsb.org/2021/10/targets-for-addressing-the-four-challenges-of-cross-border-payments-final-report/",
)


def krw(minor: int) -> str:
    return f"KRW {format_amount(minor, 0)}"


def comparison_rows(result: DemoResult) -> list[tuple[str, str, str, str]]:
    """(what, correspondent banking, won stablecoin, two ledgers) for the side-by-side table."""
    c, s, x = result.correspondent, result.stablecoin, result.two_ledgers
    locks = result.locks
    return [
        ("median time to credit", duration(c.median_s), duration(s.median_s), duration(x.median_s)),
        ("95th percentile", duration(c.p95_s), duration(s.p95_s), duration(x.p95_s)),
        ("slowest", duration(c.max_s), duration(s.max_s), duration(x.max_s)),
        ("credited within 1 hour (FSB target 75%)", percent(c.within_hour), percent(s.within_hour), percent(x.within_hour)),
        ("cost per payment, in KRW at mid", _cost(c.cost), _cost(s.cost), _cost(x.cost)),
        ("  of which fees", krw(c.cost.fees_krw), krw(s.cost.fees_krw), krw(x.cost.fees_krw)),
        ("  of which FX spread", krw(c.cost.spread_krw), krw(s.cost.spread_krw), krw(x.cost.spread_krw)),
        # The stablecoin route's exchange is one atomic transaction: the dealer's HKDS is never held.
        ("dealer's HKDS held per payment, median", "–", "none (atomic)", duration(locks.hkds_locked_median_s)),
        ("  at worst (no fulfilment: until T_HK)", "–", "none", duration(locks.hkds_worst_s)),
    ]


def _cost(cost: Cost) -> str:
    return f"{krw(cost.total_krw)} ({decimal_text(cost.share * 100, 2)}%)"


def decimal_text(value: Fraction, places: int) -> str:
    """A non-negative Fraction as text with ``places`` decimals, rounded half up, with no float on the way."""
    whole, frac = divmod(math.floor(value * 10**places + Fraction(1, 2)), 10**places)
    return f"{whole}.{frac:0{places}d}"


def hkds(minor: int) -> str:
    return f"HKDS {format_amount(minor, 2)}"


def notes(result: DemoResult) -> list[str]:
    """Sentences under the table: calibration, liquidity, the two ledgers, the optional last mile."""
    lq, locks = result.liquidity, result.locks
    flight = dict(lq.peak_in_flight_krw)
    return [
        f"Correspondent payments from the moment the sending bank released them: {percent(result.gpi_within_30_min)} "
        f"credited within 30 minutes, {percent(result.gpi_within_24_h)} within 24 hours "
        "(SWIFT gpi, all corridors: about 50% and almost all; this corridor waits for New York's payment day).",
        f"Trapped liquidity: namsan keeps USD {format_amount(lq.nostro_prefunded_usd, 2)} in its account at hudson "
        f"(a nostro account) to pay out before its FX deals settle two business days later; its lowest balance in "
        f"the run was USD {format_amount(lq.nostro_lowest_usd, 2)}. At the busiest moment "
        f"{krw(flight[CORRESPONDENT])} of payments had left payers but not reached the payee by correspondent "
        f"banking, {krw(flight[STABLECOIN])} by stablecoin, {krw(flight[TWO_LEDGERS])} across two ledgers.",
        f"Two ledgers: the same stablecoins, KRWS on the Korean operator's ledger and HKDS on the Hong Kong operator's, "
        f"bound by one hashlock; the payee is credited when it fulfils on Hong Kong, and both sides are final when the "
        f"preimage reaches Korea (median {duration(locks.both_final_median_s)} from the order). The deadlines lock the "
        f"dealer's {hkds(locks.hkds_minor)} from its hold to the payee's fulfilment: a median {duration(locks.hkds_locked_median_s)} "
        f"(p95 {duration(locks.hkds_locked_p95_s)}), {format_amount(locks.hkds_seconds_median, 2)} HKDS·s a payment; at worst, a payee "
        f"that never fulfils holds it until T_HK, {duration(locks.hkds_worst_s)} after the quote "
        f"({format_amount(locks.hkds_seconds_worst, 2)} HKDS·s), and the payer's {krw(locks.krws_minor)} in KRWS until T_KR, "
        f"{duration(locks.krws_worst_s)}. At the busiest moment the dealer had {hkds(locks.hkds_peak_minor)} held.",
        f"Optional last mile: turning the HKDS into a harbour bank deposit waits for Hong Kong banking hours "
        f"(median {duration(result.cash_out_median_s)} from the payer's order).",
    ]


def step_rows(record: RouteRecord) -> list[tuple[str, str, str]]:
    """(local time of whoever acted, what happened, transaction id) of one route of the example.

    Where the actor is not in Seoul, the Seoul time follows in brackets, so
    that rows read in order even when New York's Sunday evening is Seoul's
    Monday morning.
    """
    rows = []
    for s in record.steps:
        when = s.at.strftime("%a %d %b %H:%M:%S %Z")
        in_seoul = s.at.astimezone(SEOUL)
        if in_seoul.utcoffset() != s.at.utcoffset():
            when += f" ({in_seoul.strftime('%a %H:%M')} in Seoul)"
        rows.append((when, s.what, s.tx))
    return rows


def headline(result: DemoResult) -> str:
    c, s, x = result.correspondent, result.stablecoin, result.two_ledgers
    return (
        f"Half the payments took {duration(c.median_s)} or more by correspondent banking and cost "
        f"{decimal_text(c.cost.share * 100, 2)}% of the amount; by won stablecoin, {duration(s.median_s)} "
        f"and {decimal_text(s.cost.share * 100, 2)}%; across two ledgers, {duration(x.median_s)} "
        f"and {decimal_text(x.cost.share * 100, 2)}%."
    )


def verdict(result: DemoResult) -> str:
    """What the ledgers' own checks said, for the Files line and the page's footer."""
    pair = result.pair
    one = "verify: ok" if result.verified else f"verify: {len(result.problems)} problem(s)"
    both = "ok" if pair.kr_verified and pair.hk_verified else "FAILED"
    said = ", ".join(f"{n} {what}" for what, n in pair.outcomes)
    return (
        f"{result.transactions:,} transactions, {one}; two ledgers: {pair.kr_transactions:,} and {pair.hk_transactions:,} "
        f"transactions, verify: {both}, verify-pair: {'ok' if pair.pair_ok else 'NOT OK'}, {said}"
    )


def publish(result: DemoResult, corridor: Corridor, out: Path) -> list[Path]:
    """Draw both charts and write ``report.html`` in ``out``; the files, the ledger first."""
    timeline = draw_timeline(result, corridor, out / TIMELINE_PNG)
    distribution = draw_distribution(result, out / DISTRIBUTION_PNG)
    page = out / REPORT_HTML
    images = {name: path.read_bytes() for name, path in ((TIMELINE_PNG, timeline), (DISTRIBUTION_PNG, distribution))}
    page.write_text(render_html(result, images), encoding="utf-8")
    return [result.db, result.pair.kr_db, result.pair.hk_db, timeline, distribution, page]


#: The page's style sheet (plain CSS, no braces doubled: it is inserted, not formatted).
_STYLE = """<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto;
         padding: 0 1em; color: #222; line-height: 1.5; }
  h1 { font-size: 1.6em; margin-bottom: 0.2em; }
  .lead { font-size: 1.1em; color: #444; }
  table { border-collapse: collapse; margin: 1em 0; }
  th, td { padding: 0.35em 0.8em; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
  table.compare td { font-variant-numeric: tabular-nums; font-size: 1.05em; }
  table.compare thead th:nth-child(2) { color: #c0392b; }
  table.compare thead th:nth-child(3) { color: #1f77b4; }
  table.compare thead th:nth-child(4) { color: #8e44ad; }
  td.when { white-space: nowrap; font-variant-numeric: tabular-nums; }
  img { max-width: 100%; border: 1px solid #eee; }
  .answer { font-size: 1.25em; font-weight: 600; }
  .box { background: #f6f8fa; border-left: 4px solid #1f77b4; padding: 0.6em 1em; margin: 1em 0; }
  code { font-size: 0.9em; }
  footer { color: #666; font-size: 0.9em; margin-top: 3em; }
</style>
"""

#: What the two routes are, in words for a reader who knows neither.
_EXPLAINER = """<div class="box">
<p><b>Correspondent banking in one paragraph.</b> A Korean bank cannot pay a Hong Kong bank directly
in dollars. Instead both keep dollar accounts at a bank in New York (their <i>correspondent</i>;
such an account is called a <i>nostro</i>, "ours, with you"). The Korean bank takes the won from its
customer, buys dollars, and asks the New York bank to move dollars from its account there to the
Hong Kong bank's account; the Hong Kong bank then changes the dollars into Hong Kong dollars for the
payee. Each bank works only in its own office hours, on its own country's business days, and
stops taking payments at a daily cut-off time, so a payment sent on a Friday evening waits for
Monday in Seoul, then for New York's day, then for Hong Kong's. The Korean bank must also keep money
sitting in New York in advance, because the currency deal it pays with settles two business days
later.</p>
<p><b>Who is who.</b> <i>namsan</i> is the payer's bank in Seoul, <i>hudson</i> the correspondent bank
in New York, <i>harbour</i> the payee's bank in Hong Kong. <i>kstable</i> (owned by Korean banks)
issues the won stablecoin KRWS, <i>victoria</i> the Hong Kong dollar stablecoin HKDS, and <i>peakfx</i>
is the dealer that swaps one for the other. <i>seoul-exports</i> pays, <i>kowloon-supply</i> is paid.</p>
<p><b>The stablecoin route.</b> The payer's bank-deposit tokens become won stablecoins (KRWS) at par;
a dealer swaps them for Hong Kong dollar stablecoins (HKDS) in the same instant (payment versus
payment: both sides move or neither does), and the payee holds them: one transaction, final in
seconds, at any hour.</p>
<p><b>Two ledgers.</b> The same stablecoins, but each on its own jurisdiction's ledger, as two
regulators would have it: KRWS on the Korean operator's, HKDS on the Hong Kong operator's, with no
database in common. The payee picks a secret and gives only its fingerprint (a hash); the payer's
KRWS is held for the dealer on the Korean ledger, then the dealer's HKDS for the payee on the Hong
Kong ledger, both locked to that fingerprint and each with a deadline, Hong Kong's the earlier. The
payee takes its HKDS by revealing the secret, which releases the KRWS to the dealer on Korea: both
sides paid, or (once the deadlines pass) neither. The price is liquidity: the dealer's HKDS is held
until the payee reveals the secret, and at worst until the deadline.</p>
</div>
"""


def _timeline_html(record: RouteRecord, route: str) -> str:
    """One route's steps of the example payment, as a heading and a table."""
    e = html.escape
    took = duration(record.seconds)
    steps = "".join(
        f"<tr><td class='when'>{e(when)}</td><td>{e(what)}</td><td><code>{e(tx)}</code></td></tr>"
        for when, what, tx in step_rows(record)
    )
    return (
        f"<h3>{e(ROUTE_NAMES[route].capitalize())}: credited {e(record.settled_at.strftime('%a %d %b %H:%M:%S %Z'))}, "
        f"{e(took)} after the order</h3><table class='steps'><thead><tr><th>local time</th><th>what happened</th>"
        f"<th>ledger transaction</th></tr></thead><tbody>{steps}</tbody></table>"
    )


def render_html(result: DemoResult, images: dict[str, bytes] | None = None) -> str:
    """The report page; charts named in ``images`` are embedded (else linked by file name)."""
    e = html.escape

    def src(name: str) -> str:
        if images and name in images:
            return "data:image/png;base64," + base64.b64encode(images[name]).decode("ascii")
        return name

    example = result.example
    rows = "".join(
        f"<tr><th scope='row'>{e(what.strip())}</th><td>{e(a)}</td><td>{e(b)}</td><td>{e(c)}</td></tr>"
        for what, a, b, c in comparison_rows(result)
    )
    timelines = "".join(_timeline_html(example.route(route), route) for route in ROUTES)
    started = example.initiated_at.strftime("%A %d %B %Y, %H:%M %Z")
    notes_html = "".join(f"<li>{e(n)}</li>" for n in notes(result))
    sources = "".join(f"<li><a href=\"{e(url)}\">{e(s)}</a></li>" for s, url in zip(SOURCES, SOURCE_LINKS, strict=True))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wonledger: how long a payment from Seoul to Hong Kong takes</title>
{_STYLE}</head>
<body>
<h1>How long does KRW {e(format_amount(result.amount_krw, 0))} take to get from Seoul to Hong Kong?</h1>
<p class="lead">A company in Seoul pays a supplier in Hong Kong. We sent the same payment
{result.payments} times, at random moments over one week (weekend included), three ways:
through the <b>correspondent banks</b> that carry most cross-border payments today, as a
<b>won stablecoin</b> exchanged for a Hong Kong dollar stablecoin on one ledger, and the same
across <b>two ledgers</b>, Korea's and Hong Kong's. Every step of every payment is a real, signed
entry in a ledger (<code>demo.db</code>, <code>kr/wonledger.db</code>, <code>hk/wonledger.db</code>),
stamped with the simulated time.</p>

<p class="answer">{e(headline(result))}</p>

{_EXPLAINER}
<h2>Side by side</h2>
<table class="compare">
<thead><tr><th></th><th>correspondent banking</th><th>won stablecoin</th><th>two ledgers</th></tr></thead>
<tbody>{rows}</tbody>
</table>
<ul>{notes_html}</ul>

<h2>How the times are spread</h2>
<p>Each line climbs as payments arrive: the further left, the faster (the two stablecoin routes
lie seconds apart). The star is the target the
G20 set for 2027: three payments in four credited within an hour.</p>
<img src="{src(DISTRIBUTION_PNG)}" alt="Share of payments credited against time, for the three routes, with the FSB one-hour target" width="1100">

<h2>One payment, step by step</h2>
<p>This one was started on {e(started)}. Each row is a transaction in the ledger; times are the local
time of the institution acting.</p>
<img src="{src(TIMELINE_PNG)}" alt="Timeline of the example payment on the three routes, one lane per institution" width="1100">
{timelines}

<footer>
<p>Sources for the reference figures:</p>
<ul>{sources}</ul>
<p>Made by <code>wonledger demo --payments {result.payments} --seed {result.seed}</code>. The ledgers'
own checks: {e(verdict(result))} (<code>wonledger verify</code> on each, <code>wonledger verify-pair
--kr kr --hk hk</code> on the two). Processing delays, fees and spreads are in
<code>fixtures/corridors.toml</code>, each with the figure it is calibrated to or the assumption it is.</p>
</footer>
</body>
</html>
"""


def demo_json(result: DemoResult, files: list[Path]) -> dict[str, object]:
    """The ``demo --json`` shape of docs/cli.md (times ISO 8601 with the local offset)."""

    def route_figures(route: str) -> dict[str, object]:
        summary = result.summary(route)
        extra = two_ledger_figures() if route == TWO_LEDGERS else {}
        return {
            **extra,
            "median_s": summary.median_s,
            "p95_s": summary.p95_s,
            "max_s": summary.max_s,
            "within_hour": decimal_text(summary.within_hour, 2),
            "cost": {
                "krw": summary.cost.total_krw,
                "share": decimal_text(summary.cost.share, 4),
                "fees_krw": summary.cost.fees_krw,
                "spread_krw": summary.cost.spread_krw,
            },
        }

    def two_ledger_figures() -> dict[str, object]:
        locks, pair = result.locks, result.pair
        return {
            "both_final_median_s": locks.both_final_median_s,
            "liquidity": {
                "hkds_minor": locks.hkds_minor,
                "hkds_locked_median_s": locks.hkds_locked_median_s,
                "hkds_locked_p95_s": locks.hkds_locked_p95_s,
                "hkds_locked_max_s": locks.hkds_locked_max_s,
                "hkds_seconds_median_minor": locks.hkds_seconds_median,
                "hkds_worst_s": locks.hkds_worst_s,
                "hkds_seconds_worst_minor": locks.hkds_seconds_worst,
                "hkds_peak_minor": locks.hkds_peak_minor,
                "krws_minor": locks.krws_minor,
                "krws_locked_median_s": locks.krws_locked_median_s,
                "krws_worst_s": locks.krws_worst_s,
            },
            "checked": {
                "kr_verified": pair.kr_verified, "hk_verified": pair.hk_verified, "pair_ok": pair.pair_ok, "outcomes": dict(pair.outcomes),
            },
        }

    def example_route(record: RouteRecord) -> dict[str, object]:
        return {
            "settled_at": record.settled_at.isoformat(),
            "steps": [{"step": s.step, "at": s.at.isoformat(), "tx": s.tx, "by": s.by, "what": s.what} for s in record.steps],
        }

    return {
        "payments": result.payments,
        "routes": {route: route_figures(route) for route in ROUTES},
        "example": {
            "initiated_at": result.example.initiated_at.isoformat(),
            "routes": {route: example_route(result.example.route(route)) for route in ROUTES},
        },
        "files": [str(f) for f in files],
    }
