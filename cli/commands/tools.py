"""bench: throughput on this machine."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack

import click

from wonledger_cli.context import Context, json_option, pass_context
from wonledger_cli.render import emit_json, stderr_is_terminal

#: What ``--figure`` measures (see docs/performance.md).
FIGURES = ("submit", "verify", "startup", "ledger-cli", "scale", "cross-ledger")


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
@click.option(
    "--figure", type=click.Choice(FIGURES), default="submit", show_default=True,
    help="What to measure: submit or verify against their floors, start-up against bare imports, balance against "
    "ledger-cli, submit, verify, history and statement at --count entries (scale), or a payment across two ledgers (xsend) "
    "against two plain transfers, 10 x --rounds of each (cross-ledger).",
)
@json_option
@pass_context
def bench(ctx: Context, count: int, server: str | None, rounds: int, figure: str) -> None:
    """Time `wonledger submit` (whole process) against a bare one-core script, on a throw-away ledger.

    With --figure, another figure of docs/performance.md, each beside the floor it measured in the same run.

    \b
    Examples:
      wonledger bench --count 20000
      wonledger bench --count 20000 --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres
      wonledger --json bench --count 1000 --rounds 1
      wonledger bench --figure verify --count 100000
      wonledger bench --figure startup --rounds 10
      wonledger bench --figure ledger-cli
      wonledger bench --figure scale --count 1000000 --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres
      wonledger bench --figure cross-ledger --rounds 3
    """
    from wonledger.tools import check_server, run

    check_server(server)
    if figure != "submit":
        _other_figure(ctx, figure, count, server, rounds)
        return
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
    click.echo(f"lines parsed and checked   {result.lines_alone_s:>8} s alone on every core ({result.lines_alone_cpu_s} s CPU): what submit's workers must do")
    click.echo(f"peak memory                {result.peak_rss_mib:>8} MiB")
    click.echo(f"platform                   {result.platform}, {result.cpus} CPUs, Python {result.python}")


def _other_figure(ctx: Context, figure: str, count: int, server: str | None, rounds: int) -> None:
    """One of the figures besides submit's, printed as JSON (with --json) or as ``name: value`` lines."""
    import os

    from wonledger.tools import bench_cross, bench_reads, bench_scale, bench_verify

    if server is not None and figure not in ("verify", "scale"):
        raise click.UsageError(f"--figure {figure} runs on SQLite only; --db is for submit, verify and scale")
    with ExitStack() as stack:
        progress = _progress(stack)
        if figure == "verify":
            result: dict[str, object] = bench_verify.run_verify(count, db=server, rounds=rounds, progress=progress).to_json()
        elif figure == "startup":
            result = bench_reads.run_startup(runs=10 * rounds)
        elif figure == "ledger-cli":
            result = bench_reads.run_ledger_cli(count, runs=5 * rounds, progress=progress)
        elif figure == "scale":
            result = bench_scale.run_scale(count, db=server, progress=progress)
        else:
            result = bench_cross.run_cross_ledger(runs=10 * rounds, progress=progress)
    result = {"figure": figure, **result, "load_average": round(os.getloadavg()[0], 2)}
    if ctx.json:
        emit_json(result)
        return
    for name, value in result.items():
        if isinstance(value, dict):
            for inner, shown in value.items():
                click.echo(f"{name}.{inner}: {shown}")
        else:
            click.echo(f"{name}: {value}")


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
