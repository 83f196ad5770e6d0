"""statement, reconcile, report trial-balance, checkpoint, proof and verify-proof: reconciliation and audit.

Exit codes (DESIGN section 6): 0 clean, 3 breaks found or a proof that does
not hold, 2 bad input (including a malformed, foreign or unsafe file).
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import ExitStack
from typing import BinaryIO, TextIO

import click

from cli.commands.stablecoins import report
from cli.context import Context, json_option, pass_context
from cli.render import emit_json, input_size, progress_bar, stderr_is_terminal, table
from ledger import BadInput, BadStatement, format_amount, verify_proof


def _open_input(stack: ExitStack, path: str) -> tuple[BinaryIO, int | None]:
    if path == "-":
        return sys.stdin.buffer, input_size(sys.stdin.buffer)
    try:
        stream = stack.enter_context(open(path, "rb"))
    except FileNotFoundError:
        raise BadInput(f"no file {path}") from None
    except IsADirectoryError:
        raise BadInput(f"{path} is a directory") from None
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}") from None
    return stream, os.fstat(stream.fileno()).st_size


def _open_output(stack: ExitStack, path: str | None) -> TextIO:
    if path is None or path == "-":
        return sys.stdout
    try:
        return stack.enter_context(open(path, "w", encoding="utf-8", newline=""))
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror}") from None


@click.command()
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--format", "fmt", type=click.Choice(["camt053", "csv"]), default="camt053", show_default=True, help="ISO 20022 camt.053 XML or CSV.")
@click.option("--from", "since", metavar="YYYY-MM-DD", help="First booking date (UTC); default: the account's first entry.")
@click.option("--to", "until", metavar="YYYY-MM-DD", help="Last booking date (UTC); default: today.")
@click.option("--out", metavar="FILE", help="Write here instead of to stdout.")
@json_option
@pass_context
def statement(ctx: Context, account_id: str, fmt: str, since: str | None, until: str | None, out: str | None) -> None:
    """ACCOUNT's statement: opening and closing booked balances and one entry per leg.

    \b
    Examples:
      wonledger statement alice:dKRW.hanriver --format camt053 --out alice.xml
      wonledger statement alice:dKRW.hanriver --format csv --from 2026-01-01 --to 2026-03-31
    """
    ledger = ctx.ledger()
    if out is None and ctx.json:
        raise BadInput("--json prints a summary, so the statement itself needs --out FILE")
    with ExitStack() as stack:
        target = _open_output(stack, out)
        bars: list = []  # type: ignore[type-arg]

        def progress(advanced: int, total: int) -> None:
            if not bars:
                bars.append(stack.enter_context(click.progressbar(length=total, label="writing", file=sys.stderr)))
            bars[0].update(advanced)

        # a bar only when the statement goes to a file and a person watches stderr
        summary = ledger.statement(account_id, fmt, target, since, until, progress if out and stderr_is_terminal() else None)
    if out is None:
        return
    asset = ledger.asset(ledger.account(summary.account).asset)
    if ctx.json:
        emit_json({
            "account": summary.account, "format": summary.format, "file": out, "entries": summary.entries,
            "opening": summary.opening, "closing": summary.closing, "from": summary.from_date, "to": summary.to_date,
        })
        return
    click.echo(
        f"wrote {out}: {summary.format} statement of {summary.account}, {summary.from_date} to {summary.to_date}, "
        f"{_count(summary.entries, 'entry', 'entries')}, opening {format_amount(summary.opening, asset.exponent)}, "
        f"closing {format_amount(summary.closing, asset.exponent)} {asset.code}"
    )


@click.command()
@click.argument("path", metavar="FILE|-")
@click.option("--account", "account_id", required=True, help="The ledger account the statement is of.")
@click.option("--tolerance", "tolerance_days", type=click.IntRange(0, 366), default=1, show_default=True, help="Value dates may differ by this many days.")
@json_option
@pass_context
@click.pass_context
def reconcile(click_ctx: click.Context, ctx: Context, path: str, account_id: str, tolerance_days: int) -> None:
    """Match a statement (camt.053 or CSV) to ACCOUNT's legs; list every break (exit 3 if any).

    \b
    Examples:
      wonledger reconcile alice.xml --account alice:dKRW.hanriver
      wonledger reconcile - --account alice:dKRW.hanriver < alice.csv
    """
    ledger = ctx.ledger()
    with ExitStack() as stack:
        stream, size = _open_input(stack, path)
        # a pipe has no length: the bar counts bytes read instead (it crashed when given none)
        result = ledger.reconcile(stream, account_id, tolerance_days, progress_bar(stack, "reconciling", size))
    if ctx.json:
        emit_json(result.to_json())
    else:
        asset = ledger.asset(ledger.account(result.account).asset)
        for b in result.breaks:
            click.echo(_break_line(b, asset.exponent))
        summary = (
            f"{result.matched} matched, {len(result.breaks)} break(s); "
            f"{_count(result.statement_entries, 'statement entry', 'statement entries')}, {_count(result.ledger_entries, 'ledger leg', 'ledger legs')}"
        )
        if result.skipped:
            summary += f", {_count(result.skipped, 'entry', 'entries')} not booked (skipped)"
        click.echo(("clean: " if result.ok else "") + summary)
    click_ctx.exit(0 if result.ok else 3)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _break_line(b, exponent: int) -> str:  # type: ignore[no-untyped-def]
    def side(d: dict | None) -> str:  # type: ignore[type-arg]
        if d is None:
            return "-"
        if "balance" in d:
            return format_amount(d["balance"], exponent)
        sign = "-" if d["credit_debit"] == "DBIT" else "+"
        where = f"entry {d['entry']}" if "entry" in d else f"seq {d['seq']}"
        return f"{sign}{format_amount(d['amount'], exponent)} on {d['value_date']} ({where})"

    return f"{b.kind:<21} {b.ref or '-':<24} ledger {side(b.ledger)}  statement {side(b.statement)}"


@report.command("trial-balance", short_help="Debits = credits, per asset (exit 3 if not).")
@json_option
@pass_context
@click.pass_context
def report_trial_balance(click_ctx: click.Context, ctx: Context) -> None:
    """Per asset, over every account: total debits = total credits, both as the journal says (exit 3 if not).

    \b
    Examples:
      wonledger report trial-balance
    """
    ledger = ctx.ledger()
    rows = ledger.trial_balance()
    balanced = all(r.balanced for r in rows)
    if ctx.json:
        emit_json({"balanced": balanced, "assets": [r.to_json() for r in rows]})
    else:
        exponents = {a.code: a.exponent for a in ledger.assets()}
        table(
            [
                (
                    r.asset, str(r.accounts), format_amount(r.debits_posted, exponents[r.asset]),
                    format_amount(r.credits_posted, exponents[r.asset]), format_amount(r.debits_pending, exponents[r.asset]),
                    "ok" if r.balanced else "UNBALANCED",
                )
                for r in rows
            ],
            ("asset", "accounts", "debits", "credits", "held", "balanced"),
            right=(1, 2, 3, 4),
        )
        click.echo("balanced: every asset's debits equal its credits and the journal" if balanced else "NOT balanced: run `wonledger verify`")
    click_ctx.exit(0 if balanced else 3)


@click.command()
@json_option
@pass_context
def checkpoint(ctx: Context) -> None:
    """The operator signs the Merkle root of the journal up to its last entry.

    \b
    Examples:
      wonledger checkpoint
      wonledger --json checkpoint
    """
    made, new = ctx.ledger().checkpoint()
    if ctx.json:
        emit_json(made.to_json() | {"new": new})
        return
    click.echo(f"{'checkpoint' if new else 'already checkpointed:'} seq {made.seq}  root {made.root}")
    click.echo(f"  at {made.at}, signed by operator key {made.operator_key}")


@click.command()
@click.argument("tx_id", metavar="TXID")
@click.option("--out", metavar="FILE", help="Write the proof here instead of to stdout.")
@json_option
@pass_context
def proof(ctx: Context, tx_id: str, out: str | None) -> None:
    """TXID's inclusion proof (transaction, signatures, path, signed checkpoint) as JSON.

    \b
    Examples:
      wonledger proof inv-7 --out inv-7.proof.json
      wonledger proof inv-7 > inv-7.proof.json
    """
    made = ctx.ledger().proof(tx_id)
    with ExitStack() as stack:
        target = _open_output(stack, out)
        target.write(json.dumps(made, indent=2, ensure_ascii=False) + "\n")
    if out is not None:
        # on stdout, like `statement --out`: the proof itself went to the file
        click.echo(f"wrote {out}: proof of {tx_id} against checkpoint {made['checkpoint']['seq']}")  # type: ignore[index]


@click.command("verify-proof")
@click.argument("path", metavar="FILE|-")
@click.option("--operator-key", metavar="KEY", help="The operator's public key (base64url) you trust; without it the proof's own key is reported.")
@json_option
@pass_context
@click.pass_context
def verify_proof_command(click_ctx: click.Context, ctx: Context, path: str, operator_key: str | None) -> None:
    """Check a proof offline, with no database: signatures, hash, path and checkpoint (exit 3 if altered).

    \b
    Examples:
      wonledger verify-proof inv-7.proof.json --operator-key KEY
    """
    with ExitStack() as stack:
        stream, _ = _open_input(stack, path)
        raw = stream.read(64 * 1024 * 1024 + 1)
    if len(raw) > 64 * 1024 * 1024:
        raise BadStatement(f"{path} is larger than any proof (64 MiB)")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadStatement(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BadStatement(f"{path} is not a wonledger proof (not a JSON object)")
    result = verify_proof(document, operator_key)
    if ctx.json:
        emit_json(result.to_json())
    else:
        for check in result.checks:
            click.echo(f"ok: {check}")
        for problem in result.problems:
            click.echo(f"FAILED: {problem}")
        if result.ok:
            click.echo(f"the proof holds: {result.tx} is entry {result.seq} under checkpoint {result.checkpoint_seq}")
            if operator_key is None:
                click.echo(f"  (trusting operator key {result.operator_key} from the file; pin it with --operator-key)")
    click_ctx.exit(0 if result.ok else 3)
