"""The demo's two charts, as PNG files: the example's timeline and the distribution of times to credit, every route.

matplotlib is imported inside the drawing functions, never at module import,
so that only the ``demo`` command pays for it (the rest of the CLI stays fast).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from wonledger.domain.money import format_amount
from wonledger.simulate.corridors import Corridor
from wonledger.simulate.routes import CORRESPONDENT, ROUTES, STABLECOIN, TWO_LEDGERS
from wonledger.simulate.stats import duration

if TYPE_CHECKING:
    from wonledger.simulate.engine import DemoResult

TIMELINE_PNG = "timeline.png"
DISTRIBUTION_PNG = "distribution.png"
ROUTE_TITLES = {CORRESPONDENT: "Correspondent banking", STABLECOIN: "Won stablecoin", TWO_LEDGERS: "Two ledgers (Korea's, Hong Kong's)"}
ROUTE_COLOURS = {CORRESPONDENT: "#c0392b", STABLECOIN: "#1f77b4", TWO_LEDGERS: "#8e44ad"}
STEP_LABELS = {
    "debit": "payer debited",
    "fx_trade": "FX deal booked, order sent",
    "correspondent": "USD moved in New York",
    "credit": "payee credited",
    "fx_settlement": "FX settles (T+2)",
    "send": "payee credited (HKDS)",
    "cash_out": "HKDS cashed out",
    "kr_hold": "payer's KRWS held (Korea)",
    "hk_hold": "dealer's HKDS held (Hong Kong)",
    "hk_fulfil": "payee fulfils: credited (HKDS)",
    "kr_relay": "preimage relayed: Korea final",
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt

    return plt


def draw_timeline(result: DemoResult, corridor: Corridor, path: Path) -> Path:
    """One panel per route, one lane per participant, the example's numbered steps in Seoul time.

    Steps hours apart on a days-long axis would overwrite each other's labels,
    so each marker carries only its number and the panel's legend says what
    the numbers are, with the local time of whoever acted.
    """
    plt = _pyplot()
    import matplotlib.dates as mdates

    seoul = ZoneInfo(corridor.sender.window.timezone)
    example = result.example
    start = example.initiated_at
    ends = [s.at for route in ROUTES for s in example.route(route).steps]
    span_start, span_end = start - timedelta(hours=3), max(ends) + timedelta(hours=3)
    windows = {bank.id: bank.window for bank in corridor.banks}
    fig, axes = plt.subplots(3, 1, figsize=(15, 11), sharex=True, gridspec_kw={"height_ratios": [5, 4, 4]})
    fig.subplots_adjust(left=0.11, right=0.6, top=0.92, bottom=0.08, hspace=0.35)
    for ax, route in zip(axes, ROUTES, strict=True):
        record = example.route(route)
        colour = ROUTE_COLOURS[route]
        lanes: list[str] = []
        for step in record.steps:
            lanes.extend(lane for lane in step.lanes if lane not in lanes)
        y = {lane: len(lanes) - n for n, lane in enumerate(lanes)}
        for lane, level in y.items():
            window = windows.get(lane) if route == CORRESPONDENT else None
            if window is not None:
                bars = [
                    (mdates.date2num(opens), mdates.date2num(closes) - mdates.date2num(opens))
                    for opens, closes in window.open_spans(span_start, span_end)
                ]
                ax.broken_barh(bars, (level - 0.3, 0.6), facecolors="#2ecc71", alpha=0.22, lw=0)
            ax.axhline(level, color="#cccccc", lw=0.6, zorder=0)
        legend = []
        for n, step in enumerate(record.steps, 1):
            when = step.at.astimezone(seoul)
            levels = [y[lane] for lane in step.lanes]
            ax.vlines(when, min(levels), max(levels), color=colour, lw=2, alpha=0.8)
            ax.scatter([when] * len(levels), levels, color=colour, s=36, zorder=3)
            ax.annotate(str(n), (mdates.date2num(when), max(levels)), xytext=(-4 + 9 * (n % 2), 7),
                        textcoords="offset points", fontsize=9, fontweight="bold", color=colour)
            local = f"{step.at.strftime('%a %H:%M')} {step.at.tzname()}"
            if when.utcoffset() != step.at.utcoffset():
                local += f" ({when.strftime('%a %H:%M')} KST)"
            legend.append(f"{n}  {local:<27} {STEP_LABELS.get(step.step, step.step)}")
        if route == TWO_LEDGERS:  # the liquidity its deadlines lock
            locks = result.locks
            legend += [
                "",
                f"the dealer's HKDS {format_amount(locks.hkds_minor, 2)} was held {duration(example.hkds_locked_s)} (2 to 3);",
                f"at worst, with no fulfilment, until T_HK: {duration(locks.hkds_worst_s)} after the quote",
            ]
        ax.axvline(record.settled_at.astimezone(seoul), color=colour, ls="--", lw=1)
        ax.text(1.02, 1.0, "\n".join(legend), transform=ax.transAxes, va="top", ha="left", fontsize=9,
                family="monospace", color=colour)
        ax.set_yticks(list(y.values()), list(y.keys()))
        ax.set_ylim(0.4, len(lanes) + 0.7)
        took = duration(int((record.settled_at - start).total_seconds()))
        ax.set_title(f"{ROUTE_TITLES[route]}: payee credited {took} after the payer's order (dashed line)",
                     loc="left", fontsize=11)
    axes[0].text(1.02, 0.02, "green: each bank's processing hours\n(its business days, its time zone)",
                 transform=axes[0].transAxes, ha="left", va="bottom", fontsize=8, color="#1e8449")
    axes[-1].xaxis.set_major_locator(mdates.DayLocator(tz=seoul))
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b", tz=seoul))
    axes[-1].xaxis.set_minor_locator(mdates.HourLocator(byhour=(6, 12, 18), tz=seoul))
    axes[-1].set_xlabel("Seoul time (KST); ticks at midnight, minor ticks every 6 hours")
    axes[-1].set_xlim(span_start.astimezone(seoul), span_end.astimezone(seoul))
    fig.suptitle(f"One payment of KRW {result.amount_krw:,} from Seoul to Hong Kong, ordered "
                 f"{start.strftime('%a %d %b %Y %H:%M')} {start.tzname()}", fontsize=13)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def draw_distribution(result: DemoResult, path: Path) -> Path:
    """The CDF of time to credit for every route, log time axis, with the FSB one-hour target."""
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(10, 5.5))
    for route in ROUTES:
        seconds = sorted(max(1, r.route(route).seconds) for r in result.sample)
        shares = [(n + 1) / len(seconds) for n in range(len(seconds))]  # plotting positions, not money
        ax.step([seconds[0]] + seconds, [0.0] + shares, where="post", color=ROUTE_COLOURS[route], lw=2,
                label=f"{ROUTE_TITLES[route]} (median {duration(result.summary(route).median_s)})"
                + (f"; dealer's HKDS held a median {duration(result.locks.hkds_locked_median_s)}" if route == TWO_LEDGERS else ""))
    ax.axvline(3600, color="#555555", ls="--", lw=1)
    ax.axhline(0.75, color="#555555", ls=":", lw=1)
    ax.scatter([3600], [0.75], marker="*", s=180, color="#f39c12", zorder=4, label="FSB 2027 target: 75% within 1 hour")
    ax.scatter([1800, 86400], [0.5, 1.0], marker="D", s=40, color="#7f8c8d", zorder=4,
               label="SWIFT gpi (business days, all corridors): ~50% in 30 min, ~all in 24 h")
    ticks = [1, 10, 60, 600, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400]
    ax.set_xscale("log")
    ax.set_xticks(ticks, ["1 s", "10 s", "1 min", "10 min", "1 h", "6 h", "1 day", "3 days", "1 week"])
    ax.set_xlim(1, 8 * 86400)
    ax.set_ylim(0, 1.02)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel("time from the payer's order to the payee's credit")
    ax.set_ylabel("share of payments credited")
    ax.set_title(f"{result.payments} payments started at random times in a week with a weekend (seed {result.seed})", loc="left")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(0.22, 0.99), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
