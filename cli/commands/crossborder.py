"""quote, swap and send (cross-border, PvP with the dealer) and the capital-flow reports."""

from __future__ import annotations

import click

from wonledger import Ledger, Quote, TypedAmount, format_amount
from wonledger_cli.commands.payments import report_receipt
from wonledger_cli.commands.stablecoins import report
from wonledger_cli.context import Context, json_option, pass_context
from wonledger_cli.render import emit_json, table

USD_EXPONENT = 2


def quote_json(q: Quote) -> dict[str, object]:
    return {
        "quote_id": q.quote_id,
        "sell_asset": q.sell_asset,
        "buy_asset": q.buy_asset,
        "sell_amount": q.sell_amount,
        "buy_amount": q.buy_amount,
        "rate": q.rate,
        "source": q.source,
        "expires_at": q.expires_at,
        "fee": q.fee,
        "dealer": q.dealer,
    }


def show_quote(ledger: Ledger, q: Quote) -> None:
    sell, buy = ledger.registry.asset(q.sell_asset), ledger.registry.asset(q.buy_asset)
    click.echo(f"quote {q.quote_id} from {q.dealer}, firm until {q.expires_at}")
    click.echo(f"  sell:   {format_amount(q.sell_amount, sell.exponent)} {sell.code} (fee {format_amount(q.fee, sell.exponent)} {sell.code})")
    click.echo(f"  buy:    {format_amount(q.buy_amount, buy.exponent)} {buy.code}")
    click.echo(f"  rate:   {q.rate} {buy.code} per {sell.code}")
    click.echo(f"  source: {q.source}")


@click.command()
@click.argument("sell", metavar="SELL")
@click.argument("buy", metavar="BUY")
@click.argument("amount")
@json_option
@pass_context
def quote(ctx: Context, sell: str, buy: str, amount: str) -> None:
    """The dealer's firm quote for selling AMOUNT of SELL for BUY (both stablecoins).

    \b
    Examples:
      wonledger quote KRWS HKDS 2,000,000
      wonledger --json quote HKDS USDS 100
    """
    typed = TypedAmount.parse(amount)
    ledger = ctx.ledger()
    q = ledger.crossborder.quote(sell, buy, typed)
    if ctx.json:
        emit_json(quote_json(q))
    else:
        show_quote(ledger, q)


@click.command()
@click.argument("owner", metavar="OWNER")
@click.argument("amount")
@click.argument("sell", metavar="SELL")
@click.argument("buy", metavar="BUY")
@click.option("--quote", "quote_id", metavar="ID", help="Take this quote (default: a fresh one).")
@click.option("--id", "tx_id", help="Your id for the swap (idempotent).")
@click.option("--memo", default="", help="Free text kept with the transaction.")
@click.option("--hold", is_flag=True, help="Two-phase: hold both legs now; `post` or `void` them together later.")
@click.option("--timeout", type=click.IntRange(1, 366 * 24 * 3600), metavar="S", help="Seconds the hold waits before both legs are voided [default: 3600].")
@json_option
@pass_context
def swap(ctx: Context, owner: str, amount: str, sell: str, buy: str, quote_id: str | None, tx_id: str | None, memo: str, hold: bool, timeout: int | None) -> None:
    """OWNER sells AMOUNT of SELL to the dealer for BUY: both legs settle together or neither does.

    \b
    Examples:
      wonledger swap kowloon-supply 100 HKDS USDS
      wonledger swap kowloon-supply 100 HKDS KRWS --hold --timeout 120 --id pvp-1
    """
    if timeout is not None and not hold:
        raise click.UsageError("--timeout goes with --hold")
    typed = TypedAmount.parse(amount)
    ledger = ctx.ledger()
    receipt = ledger.crossborder.swap(owner, typed, sell, buy, quote_id=quote_id, tx_id=tx_id, memo=memo, hold_timeout_s=(timeout or 3600) if hold else None)
    report_receipt(ctx, ledger, receipt)


@click.command()
@click.argument("sender", metavar="FROM")
@click.argument("recipient", metavar="TO")
@click.argument("amount")
@click.option("--deliver", required=True, metavar="ASSET", help="What TO receives abroad, e.g. HKDS.")
@click.option("--quote", "quote_id", metavar="ID", help="Take this quote (default: a fresh one).")
@click.option("--id", "tx_id", help="Your id for the send (idempotent).")
@click.option("--memo", default="", help="Free text kept with the transaction.")
@json_option
@pass_context
def send(ctx: Context, sender: str, recipient: str, amount: str, deliver: str, quote_id: str | None, tx_id: str | None, memo: str) -> None:
    """Send AMOUNT of FROM's won deposit tokens abroad: minted into KRWS, exchanged, delivered to TO as ASSET.

    \b
    Examples:
      wonledger send alice kowloon-supply 2,000,000 --deliver HKDS --memo "invoice 12"
      wonledger send seoul-exports kowloon-supply 50,000,000 --deliver KRWS --id po-77
    """
    typed = TypedAmount.parse(amount)
    ledger = ctx.ledger()
    receipt = ledger.crossborder.send(sender, recipient, typed, deliver, quote_id=quote_id, tx_id=tx_id, memo=memo)
    report_receipt(ctx, ledger, receipt)


@report.command("flows", short_help="Residents' outflows against the limit; breaker.")
@click.option("--year", type=int, help="Calendar year (default: this year in Seoul).")
@json_option
@pass_context
def report_flows(ctx: Context, year: int | None) -> None:
    """Each limited resident's outflow this year against the limit, and the run breaker.

    \b
    Examples:
      wonledger report flows
      wonledger report flows --year 2026 --json
    """
    ledger = ctx.ledger()
    year, rows = ledger.reports.outflows(year)
    b = ledger.reports.breaker()
    if ctx.json:
        emit_json(
            {
                "year": year,
                "currency": "USD",
                "residents": [{"participant": r.participant, "outflow": r.used, "limit": r.limit, "remaining": r.remaining} for r in rows],
                "run_breaker": {
                    "asset": b.asset,
                    "window_s": b.window_s,
                    "window_start": b.window_start,
                    "net_out": b.net_out,
                    "supply": b.supply,
                    "threshold": b.threshold,
                    "halted_until": b.halted_until,
                    "last_refused": b.last_refused,
                },
            }
        )
        return
    click.echo(f"Outflows of residents in {year} (USD, sends abroad and conversions into foreign-currency assets)")
    table(
        [(r.participant, format_amount(r.used, USD_EXPONENT), format_amount(r.limit, USD_EXPONENT), format_amount(r.remaining, USD_EXPONENT)) for r in rows],
        ("resident", "outflow", "limit", "remaining"),
        right=(1, 2, 3),
    )
    exponent = ledger.registry.asset(b.asset).exponent
    state = f"CLOSED to conversions out until {b.halted_until}" if b.halted_until else "open"
    click.echo("")
    click.echo(f"Run breaker on {b.asset}: {state}")
    click.echo(f"  window: {b.window_start} to {b.at} ({b.window_s // 60} min)")
    click.echo(
        f"  net out in the window: {format_amount(b.net_out, exponent)} {b.asset} of {format_amount(b.threshold, exponent)} allowed "
        f"(denominator: {format_amount(b.supply, exponent)} {b.asset}, the least in issue since the window began)"
    )
    if b.last_refused:
        click.echo(f"  last conversion refused: {b.last_refused}")


@report.command("rejections", short_help="Refused attempts, newest first.")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="How many, newest first.")
@click.option("--code", help="Only refusals with this code, e.g. OUTFLOW_LIMIT.")
@json_option
@pass_context
def report_rejections(ctx: Context, limit: int, code: str | None) -> None:
    """Refused attempts, newest first: when, who, what, which rule.

    \b
    Examples:
      wonledger report rejections
      wonledger report rejections --code RUN_BREAKER --limit 5
    """
    rows = ctx.ledger().reports.rejections(limit, code)
    if ctx.json:
        emit_json(
            {"rejections": [{"at": r.at, "who": r.who, "tx": r.tx_id, "kind": r.kind, "what": r.what, "code": r.code, "message": r.message} for r in rows]}
        )
        return
    if not rows:
        click.echo("no refusals")
        return
    for r in rows:
        click.echo(f"{r.at}  {r.code:<20} {r.who}")
        click.echo(f"  {r.what}")
        click.echo(f"  {r.message}")
