"""bench: throughput on this machine."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack

import click

from wonledger_cli.context import Context, json_option, pass_context
from wonledger_cli.render import emit_json, stderr_is_terminal


@click.command()
@click.option("--count", type=click.IntRange(10, 10_000_000), default=20_000, show_default=True, help="Signed transfers in the batch.")
@click.option(
    "--db",
    "server",
    metavar="URL",
    help="A PostgreSQL server (postgresql+psycopg://user@host/db) to ingest into a throw-away database made there "
    "and dropped afterwards; by default a throw-away SQLite file. No existing ledger is touched.",
)
@click.option("--rounds", type=click.IntRange(1, 10), default=2, show_default=True, help="Times each side runs; the best of each is reported.")
@json_option
@pass_context
def bench(ctx: Context, count: int, server: str | None, rounds: int) -> None:
    """Time `wonledger submit` (whole process) against a bare one-core script, on a throw-away ledger.

    \b
    Examples:
      wonledger bench --count 20000
      wonledger bench --count 20000 --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres
      wonledger --json bench --count 1000 --rounds 1
    """
    from wonledger.tools import check_server, run

    check_server(server)
    if not ctx.json:
        click.echo(f"signing {count:,} transfers in a throw-away ledger, then {rounds} round(s) of each side ...", err=True)
    with ExitStack() as stack:
        result = run(count, db=server, rounds=rounds, progress=_progress(stack))
    if ctx.json:
        emit_json(result.to_json())
        return
    runs = lambda seconds: ", ".join(f"{s} s" for s in seconds)  # noqa: E731
    click.echo(f"ingest (wonledger submit)  {result.ingest_per_s:>8,} transfers/s  (whole process, best of {runs(result.ingest_runs_s)}; {result.db})")
    click.echo(f"floor (bare sqlite3)       {result.floor_per_s:>8,} transfers/s  (one-core script with rfc8785, best of {runs(result.floor_runs_s)})")
    click.echo(f"throughput submit/floor    {result.throughput_ratio:>8}x  (higher is better; above 1 submit is faster)")
    click.echo(f"ratio ingest/floor         {result.ratio:>8}   (time; lower is better; 1.0 is the floor)")
    click.echo(f"CPU (user+system)          {result.ingest_cpu_s:>8} s submit on all cores, {result.floor_cpu_s} s floor (least of the rounds)")
    click.echo(f"peak memory                {result.peak_rss_mib:>8} MiB")
    click.echo(f"platform                   {result.platform}, {result.cpus} CPUs, Python {result.python}")


def _progress(stack: ExitStack) -> Callable[[str, int, int], None] | None:
    """A bar on stderr for signing, then one for the timed runs, when a person watches."""
    if not stderr_is_terminal():
        return None
    current: dict[str, object] = {}

    def close() -> None:
        if "bar" in current:
            current.pop("bar").__exit__(None, None, None)  # type: ignore[attr-defined]

    stack.callback(close)

    def tell(stage: str, done: int, total: int) -> None:
        if current.get("stage") != stage:
            close()
            label = "signing the batch" if stage == "signing" else "timing floor and ingest"
            current.update(stage=stage, seen=0, bar=click.progressbar(length=total, label=label, file=sys.stderr).__enter__())
        current["bar"].update(done - current["seen"])  # type: ignore[attr-defined, operator]
        current["seen"] = done

    return tell
