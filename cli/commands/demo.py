"""demo: the settlement-timing demo, correspondent banking beside won-stablecoin settlement on one ledger and across two.

Everything it shows is worked out in ``ledger.simulate``; this module only
parses the options, shows progress and prints. The simulation (and with it
``holidays`` and matplotlib) is imported when the command runs, so the rest
of the CLI never loads it.
"""

from __future__ import annotations

import contextlib
import sys
import textwrap
from pathlib import Path

import click

from wonledger_cli.context import Context, json_option, pass_context
from wonledger_cli.render import emit_json, stderr_is_terminal, table


@click.command()
@click.option("--payments", type=click.IntRange(1, 1000), default=300, show_default=True, help="Payments to simulate over the week.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed: the same seed prints the same figures.")
@click.option("--at", "at", metavar="TIME", help="Start of the example payment, ISO 8601 (Seoul time if no offset); default a Saturday morning.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("wonledger-demo"), show_default=True, help="Directory for demo.db, the charts and report.html.")
@json_option
@pass_context
def demo(ctx: Context, payments: int, seed: int, at: str | None, out: Path) -> None:
    """Settlement timing: correspondent banking beside won-stablecoin settlement, through a real ledger (DIR/demo.db).

    \b
    Examples:
      wonledger demo
      wonledger demo --payments 50 --seed 7 --at 2026-12-04T20:00 --out friday-evening
      wonledger demo --json
    """
    from wonledger.simulate import (
        ROUTE_NAMES,
        ROUTES,
        SOURCES,
        comparison_rows,
        demo_json,
        duration,
        headline,
        load_corridor,
        notes,
        parse_start,
        publish,
        run_demo,
        step_rows,
        verdict,
    )

    corridor = load_corridor()
    start = parse_start(at, corridor.sender.window.timezone) if at else None
    with contextlib.ExitStack() as stack:
        bars: list = []

        def progress(step: int, total: int) -> None:
            if not bars:
                bars.append(stack.enter_context(click.progressbar(length=total, label="simulating", file=sys.stderr)))
            bars[0].update(step)

        result = run_demo(out, payments, seed, start, progress if stderr_is_terminal() else None, corridor)
    if not ctx.json:
        click.echo("drawing the charts ...", err=True)
    files = publish(result, corridor, out)
    if ctx.json:
        emit_json(demo_json(result, files))
        return
    click.echo(textwrap.fill(
        f"{payments} payments of KRW {result.amount_krw:,} from {corridor.payer} (Seoul) to {corridor.payee} (Hong Kong), "
        f"started at random times in the week of {result.week_start.strftime('%a %d %b %Y')} (seed {seed}), "
        "each sent three ways: by correspondent banking and by won stablecoin through one ledger, and by won "
        "stablecoin across two ledgers (the Korean operator's and the Hong Kong operator's).",
        width=100,
    ))
    click.echo()
    table(comparison_rows(result), ("", *(ROUTE_NAMES[route] for route in ROUTES)))
    click.echo()
    for line in [headline(result), *notes(result)]:
        click.echo(textwrap.fill(line, width=100, subsequent_indent="  "))
    click.echo()
    example = result.example
    click.echo(f"Example: started {example.initiated_at.strftime('%a %d %b %Y %H:%M %Z')}")
    for route in ROUTES:
        record = example.route(route)
        click.echo(
            f"  {ROUTE_NAMES[route]}: credited {record.settled_at.strftime('%a %d %b %H:%M:%S %Z')}, "
            f"{duration(record.seconds)} after the order"
        )
        for when, what, tx in step_rows(record):
            click.echo(f"    {when}  {what}  [{tx}]")
    click.echo()
    click.echo(textwrap.fill("Reference figures: " + " ".join(SOURCES), width=100, subsequent_indent="  "))
    click.echo(f"Files: {', '.join(str(f) for f in files)} ({verdict(result)})")
