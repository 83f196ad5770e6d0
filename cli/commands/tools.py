"""bench: throughput on this machine."""

from __future__ import annotations

import click

from cli.context import Context, json_option, pass_context
from cli.render import emit_json


@click.command()
@click.option("--count", type=click.IntRange(10, 10_000_000), default=20_000, show_default=True, help="Signed transfers in the batch.")
@json_option
@pass_context
def bench(ctx: Context, count: int) -> None:
    """Time signed batch ingest against the floor of this machine (a throw-away ledger)."""
    from ledger.bench import run

    if not ctx.json:
        click.echo(f"signing {count} transfers in a throw-away ledger ...", err=True)
    result = run(count)
    if ctx.json:
        emit_json(result.to_json())
        return
    click.echo(f"ingest (wonledger submit)  {result.ingest_per_s:>8,} transfers/s  ({result.ingest_s} s)")
    click.echo(f"floor (bare sqlite3)       {result.floor_per_s:>8,} transfers/s  ({result.floor_s} s)")
    click.echo(f"ratio ingest/floor         {result.ratio:>8}   (lower is better; 1.0 is the floor)")
    click.echo(f"peak memory                {result.peak_rss_mib:>8} MiB")
    click.echo(f"platform                   {result.platform}, {result.cpus} CPUs, Python {result.python}")
