"""statement, reconcile, report trial-balance, checkpoint, proof, verify-proof and verify-consistency: reconciliation and audit.

Exit codes (docs/cli.md): 0 clean, 3 breaks found or a proof that does
not hold, 2 bad input (including a malformed, foreign or unsafe file). A command here
returns what it checked; `wonledger_cli.main` turns a result that is not ``ok`` into exit 3.

A file a command writes (``--out``) is written beside its target under a
temporary name and moved into place only when the command has written it
whole: a command that fails (an account mistyped, a disk full) leaves the
target as it was.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from itertools import islice
from typing import TYPE_CHECKING, TextIO

import click

from wonledger import (
    BadInput,
    BadStatement,
    Checkpoint,
    format_amount,
    load_account_map,
    read_checkpoint,
    read_operator_key,
    statement_formats,
    strict_loads,
    validate_statement,
    verify_consistency,
    verify_proof,
)
from wonledger_cli.commands.stablecoins import report
from wonledger_cli.context import Checked, Context, json_option, pass_context
from wonledger_cli.render import echo, emit_json, emit_json_chunks, open_input, progress_bar, stderr_is_terminal, table

if TYPE_CHECKING:
    from wonledger import ConsistencyReport, ProofReport, ReconcileReport, TrialBalance


def _open_output(stack: ExitStack, path: str | None) -> TextIO:
    """Where the command writes: stdout, or a file put in place of ``path`` when ``stack`` closes without an error."""
    if path is None or path == "-":
        return sys.stdout
    return stack.enter_context(replacing(path))


@contextmanager
def replacing(path: str) -> Iterator[TextIO]:
    """A temporary file beside ``path``, moved over it when the block ends without an error, else removed.

    The file gets the target's permissions when it exists, else those a new
    file gets (0666 less the umask), not mkstemp's 0600.
    """
    if os.path.isdir(path):
        raise BadInput(f"cannot write {path}: it is a directory")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror}") from None
    except ValueError:  # a name the operating system cannot hold (a NUL byte)
        raise BadInput(f"{path[:40]!r} is not a file name") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
        try:
            mode = os.stat(path).st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


@click.command()
@click.argument("account_id", metavar="ACCOUNT")
@click.option("--format", "fmt", type=click.Choice(statement_formats()), default="camt053", show_default=True, help="ISO 20022 camt.053 XML or CSV.")
@click.option("--from", "since", metavar="YYYY-MM-DD", help="First booking date (UTC); default: the account's first entry.")
@click.option("--to", "until", metavar="YYYY-MM-DD", help="Last booking date (UTC); default: today.")
@click.option("--out", metavar="FILE", help="Write here instead of to stdout (FILE is replaced only once written whole).")
@click.option("--validate", is_flag=True, help="Check the camt.053 written to --out against the ISO 20022 schema (exit 3 if invalid; needs wonledger[validate]).")
@json_option
@pass_context
def statement(ctx: Context, account_id: str, fmt: str, since: str | None, until: str | None, out: str | None, validate: bool) -> Checked | None:
    """ACCOUNT's statement: opening and closing booked balances and one entry per leg.

    \b
    Examples:
      wonledger statement alice:dKRW.hanriver --format camt053 --out alice.xml --validate
      wonledger statement alice:dKRW.hanriver --format csv --from 2026-01-01 --to 2026-03-31
    """
    ledger = ctx.ledger()
    if out is None and ctx.json:
        raise BadInput("--json prints a summary, so the statement itself needs --out FILE")
    if validate and (out is None or out == "-"):
        raise BadInput("--validate checks the file written: give --out FILE")
    if validate and fmt != "camt053":
        raise BadInput("--validate checks camt.053 against its ISO 20022 schema; a CSV statement has no schema")
    with ExitStack() as stack:
        target = _open_output(stack, out)
        bars: list = []

        def progress(advanced: int, total: int) -> None:
            if not bars:
                bars.append(stack.enter_context(click.progressbar(length=total, label="writing", file=sys.stderr)))
            bars[0].update(advanced)

        # a bar only when the statement goes to a file and a person watches stderr
        summary = ledger.statements.write(account_id, fmt, target, since, until, progress if out and stderr_is_terminal() else None)
    if out is None:
        return None
    problems = validate_statement(out) if validate else []
    asset = ledger.registry.asset(ledger.registry.account(summary.account).asset)
    if ctx.json:
        result = {
            "account": summary.account, "format": summary.format, "file": out, "entries": summary.entries,
            "opening": summary.opening, "closing": summary.closing, "from": summary.from_date, "to": summary.to_date,
        }
        if validate:
            result |= {"valid": not problems, "schema": "camt.053.001.08", "problems": problems}
        emit_json(result)
    else:
        click.echo(
            f"wrote {out}: {summary.format} statement of {summary.account}, {summary.from_date} to {summary.to_date}, "
            f"{_count(summary.entries, 'entry', 'entries')}, opening {format_amount(summary.opening, asset.exponent)}, "
            f"closing {format_amount(summary.closing, asset.exponent)} {asset.code}"
        )
        if validate:
            for problem in problems:
                click.echo(f"INVALID: {problem}")
            click.echo("valid against the ISO 20022 schema camt.053.001.08" if not problems else f"{out} is NOT valid against camt.053.001.08")
    return Checked(not problems)


@click.command()
@click.argument("path", metavar="FILE|-")
@click.option("--account", "account_id", help="The ledger account the statement is of (its statement is picked from the file).")
@click.option("--all", "all_statements", is_flag=True, help="Reconcile every statement in the file, each against the account it names.")
@click.option("--statement-account", metavar="ID", help="The id the bank gives --account in its statements (an IBAN, say).")
@click.option("--account-map", metavar="FILE", help='TOML: [accounts] "statement account id" = "ledger account", one line each.')
@click.option("--tolerance", "tolerance_days", type=click.IntRange(0, 366), default=1, show_default=True, help="Value dates may differ by this many days.")
@click.option("--max-breaks", type=click.IntRange(0), metavar="N", help="Print at most N breaks (the summary still counts all).")
@json_option
@pass_context
def reconcile(
    ctx: Context, path: str, account_id: str | None, all_statements: bool,
    statement_account: str | None, account_map: str | None, tolerance_days: int, max_breaks: int | None,
) -> ReconcileReport:
    """Match a bank statement (camt.052/053/054, MT940 or CSV) to the ledger; list every break (exit 3 if any).

    \b
    Examples:
      wonledger reconcile alice.xml --account alice:dKRW.hanriver
      wonledger reconcile - --account alice:dKRW.hanriver < alice.csv
      wonledger reconcile bank.xml --all --account-map accounts.toml --max-breaks 20
    """
    if account_id is None and not all_statements:
        raise click.UsageError("give --account ACCOUNT (the statement's ledger account) or --all")
    if statement_account is not None and account_id is None:
        raise click.UsageError("--statement-account names the bank's id of --account ACCOUNT: give both")
    ledger = ctx.ledger()
    mapping = load_account_map(account_map) if account_map else None
    with ExitStack() as stack:
        stream, size = open_input(stack, path)
        # a pipe has no length: the bar counts bytes read instead (it crashed when given none)
        result = ledger.statements.reconcile(
            stream, account_id, tolerance_days, progress_bar(stack, "reconciling", size),
            all_statements=all_statements, statement_account=statement_account, account_map=mapping,
        )
    if ctx.json:
        emit_json_chunks(result.json_chunks(max_breaks))  # a break at a time: the breaks of a large file are never all in memory
    else:
        _print_report(ledger, result, max_breaks)
    return result


def _days(period: tuple[str | None, str | None]) -> str:
    """The days a statement was compared on, as the report says them."""
    start, end = period
    if start and end:
        return f"booked {start} to {end}" if start != end else f"booked {start}"
    return f"booked from {start}" if start else f"booked up to {end}" if end else "of every day"


def _print_report(ledger, result, max_breaks: int | None) -> None:
    """The summary by kind of break first, then the breaks (at most ``max_breaks``), then the counts and the days compared."""
    parts = result.statements
    if len(parts) > 1:
        for part in parts:
            state = "clean" if part.ok else _count(part.break_count, "break", "breaks")
            echo(
                f"statement {part.statement_id or '-'} of {part.statement_account or '-'} ({part.format}) -> {part.account}: "
                f"{part.matched} matched, {state}" + (f", {_days(part.period)}" if any(part.period) else "")
            )
    total = result.break_count
    if total:
        click.echo(f"{_count(total, 'break', 'breaks')} by kind:")
        for kind, n in result.by_kind().items():
            click.echo(f"  {kind:<21} {n:>8}")
        if max_breaks != 0:
            click.echo("breaks:")
        exponents: dict[str, int] = {}
        shown = 0
        for b in islice(result.iter_breaks(), max_breaks):
            account = b.account or result.account
            if account not in exponents:
                exponents[account] = ledger.registry.asset(ledger.registry.account(account).asset).exponent
            echo("  " + _break_line(b, exponents[account]))
            shown += 1
        if shown < total:
            click.echo(f"  ... and {total - shown} more (--max-breaks {max_breaks}; --json for all)")
    summary = (
        f"{result.matched} matched, {total} break(s); "
        f"{_count(result.statement_entries, 'statement entry', 'statement entries')}, "
        f"{_count(result.ledger_entries, 'ledger leg', 'ledger legs')} {_days(result.period)}"
    )
    if result.skipped:
        summary += f"; {_count(result.skipped, 'entry', 'entries')} not booked (left out: pending or information only)"
    click.echo(("clean: " if result.ok else "") + summary)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _break_line(b, exponent: int) -> str:
    def side(d: dict | None) -> str:
        if d is None:
            return "-"
        if "balance" in d:
            return format_amount(d["balance"], exponent)
        if "batch_total" in d:
            return f"entry {d['entry']} of {_signed(d['batch_entry'], exponent)} whose transactions add up to {_signed(d['batch_total'], exponent)}"
        if "entries_total" in d:
            where = f"page {d['page']}: " if "page" in d else ""
            return (
                f"{where}opening {_signed(d['opening'], exponent)} and entries {_signed(d['entries_total'], exponent)} "
                f"add up to {_signed(d['opening'] + d['entries_total'], exponent)}, not the closing {_signed(d['closing'], exponent)}"
            )
        if "previous_closing" in d:
            return f"page {d['page']} opens with {_signed(d['opening'], exponent)}, the page before closed with {_signed(d['previous_closing'], exponent)}"
        if "copy_of" in d:
            return f"statement {d['statement_id'] or '-'} again (the file's statement {d['copy_of']} is the same): not matched twice"
        if "overlaps" in d:
            days = d["overlapped_period"]
            return f"{d['statement_id'] or '-'} covers days of the file's statement {d['overlaps']} ({days['from']} to {days['to']}) again"
        sign = "-" if d["credit_debit"] == "DBIT" else "+"
        where = f"entry {d['entry']}" if "entry" in d else f"seq {d['seq']}"
        if d.get("transaction"):
            where += f", transaction {d['transaction']}"
        currency = f" {d['currency']}" if d.get("currency") else ""
        asset = f" ({d['asset']})" if d.get("asset") and b.kind == "asset_mismatch" else ""
        amount = format_amount(d["amount"], exponent) if d["amount"] is not None else "(no amount of its own)"
        return f"{sign}{amount}{currency}{asset} on {d['value_date']} ({where})"

    account = f"{b.account}  " if b.account else ""
    return f"{account}{b.kind:<21} {b.ref or '-':<24} ledger {side(b.ledger)}  statement {side(b.statement)}"


def _signed(minor: int, exponent: int) -> str:
    return ("+" if minor >= 0 else "-") + format_amount(abs(minor), exponent)


@report.command("trial-balance", short_help="Debits = credits, per asset (exit 3 if not).")
@json_option
@pass_context
def report_trial_balance(ctx: Context) -> TrialBalance:
    """Per asset, over every account: total debits = total credits, both as the journal says (exit 3 if not).

    \b
    Examples:
      wonledger report trial-balance
    """
    ledger = ctx.ledger()
    result = ledger.reports.trial_balance()
    rows, balanced = result.rows, result.ok
    if ctx.json:
        emit_json(result.to_json())
    else:
        exponents = {a.code: a.exponent for a in ledger.registry.assets()}
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
    return result


def read_small_file(path: str, limit: int, what: str) -> bytes:
    """A whole file (or stdin for "-") of at most ``limit`` bytes."""
    with ExitStack() as stack:
        stream, _ = open_input(stack, path)
        raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise BadStatement(f"{path} is larger than any {what} ({limit // (1024 * 1024)} MiB)")
    return raw


def operator_key_option(value: str | None) -> str | None:
    """--operator-key: the key itself (base64url, as `checkpoint` and `info` print it) or a file holding it."""
    if value is None:
        return None
    if os.path.isfile(value):
        raw = read_small_file(value, 4096, "key file")
        try:
            value = raw.decode("ascii")
        except UnicodeDecodeError:
            raise BadInput(f"{value} does not hold a base64url operator key") from None
    return read_operator_key(value)


def checkpoint_option(path: str | None) -> Checkpoint | None:
    """--checkpoint / --from-checkpoint: a checkpoint file saved earlier."""
    if path is None:
        return None
    return read_checkpoint(read_small_file(path, 1024 * 1024, "checkpoint"), path)


@click.command()
@click.option("--from-checkpoint", "since_path", metavar="FILE", help="A checkpoint saved earlier: sign only if the journal extends it, and prove that it does.")
@click.option("--out", metavar="FILE", help="Write the checkpoint (with its consistency proof) here, for verify --checkpoint and verify-consistency.")
@json_option
@pass_context
def checkpoint(ctx: Context, since_path: str | None, out: str | None) -> None:
    """The operator signs the Merkle root of the journal up to its last entry, if the journal verifies.

    \b
    Examples:
      wonledger checkpoint --out cp-1.json
      wonledger checkpoint --from-checkpoint cp-1.json --out cp-2.json
      wonledger --json checkpoint
    """
    since = checkpoint_option(since_path)
    ledger = ctx.ledger()
    made, new = ledger.proofs.checkpoint(since)
    previous = since if since is not None else ledger.proofs.previous_checkpoint(made.seq)
    document: dict[str, object] = made.to_json()
    if previous is not None:
        document["consistency"] = ledger.proofs.consistency(previous, made)
    if out is not None:
        with ExitStack() as stack:
            _open_output(stack, out).write(json.dumps(document, indent=2) + "\n")
    if ctx.json:
        emit_json(made.to_json() | {"new": new} | ({"consistency": document["consistency"]} if previous else {}))
        return
    click.echo(f"{'checkpoint' if new else 'already checkpointed:'} seq {made.seq}  root {made.root}")
    click.echo(f"  at {made.at}, signed by operator key {made.operator_key}")
    if previous is not None:
        hashes = len(document["consistency"]["path"])  # type: ignore[index]
        click.echo(f"  extends checkpoint {previous.seq} (root {previous.root}): consistency proof of {hashes} hash(es)")
    if out is not None:
        click.echo(f"wrote {out}: checkpoint {made.seq}{' with its consistency proof' if previous else ''}", err=True)


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
    made = ctx.ledger().proofs.inclusion(tx_id)
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
def verify_proof_command(ctx: Context, path: str, operator_key: str | None) -> ProofReport:
    """Check a proof offline, with no database: signatures, hash, path and checkpoint (exit 3 if altered).

    \b
    Examples:
      wonledger verify-proof inv-7.proof.json --operator-key KEY
    """
    with ExitStack() as stack:
        stream, _ = open_input(stack, path)
        raw = stream.read(64 * 1024 * 1024 + 1)
    if len(raw) > 64 * 1024 * 1024:
        raise BadStatement(f"{path} is larger than any proof (64 MiB)")
    document = _strict_json(raw, path)
    if not isinstance(document, dict):
        raise BadStatement(f"{path} is not a wonledger proof (not a JSON object)")
    result = verify_proof(document, operator_key)
    if ctx.json:
        emit_json(result.to_json())
    else:
        _print_checks(result)
        if result.ok:
            click.echo(f"the proof holds: {result.tx} is entry {result.seq} under checkpoint {result.checkpoint_seq}")
            if operator_key is None:
                click.echo(f"  (trusting operator key {result.operator_key} from the file; pin it with --operator-key)")
    return result


def _strict_json(raw: bytes, path: str) -> object:
    """A proof or checkpoint file's JSON, read strictly (I-JSON: no member named twice)."""
    try:
        return strict_loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadStatement(f"{path} is not JSON: {exc}") from None


def _json_file(path: str) -> object:
    return _strict_json(read_small_file(path, 1024 * 1024, "checkpoint"), path)


def _print_checks(result) -> None:
    """What an offline check found, one line each: every check that held, then every one that failed."""
    for check in result.checks:
        click.echo(f"ok: {check}")
    for problem in result.problems:
        click.echo(f"FAILED: {problem}")


@click.command("verify-consistency")
@click.argument("old_path", metavar="OLD")
@click.argument("new_path", metavar="NEW")
@click.option("--operator-key", metavar="KEY", help="The operator's public key (base64url, or a file holding it) you trust; without it, OLD's key is.")
@json_option
@pass_context
def verify_consistency_command(ctx: Context, old_path: str, new_path: str, operator_key: str | None) -> ConsistencyReport:
    """Check offline that checkpoint NEW extends checkpoint OLD (RFC 9162 consistency proof; exit 3 if not).

    \b
    Examples:
      wonledger verify-consistency cp-1.json cp-2.json
      wonledger verify-consistency cp-1.json cp-2.json --operator-key KEY
    """
    pinned = operator_key_option(operator_key)
    result = verify_consistency(_json_file(old_path), _json_file(new_path), pinned)
    if ctx.json:
        emit_json(result.to_json())
    else:
        _print_checks(result)
        if result.ok:
            click.echo(f"the log only grew: checkpoint {result.new_seq} extends checkpoint {result.old_seq}")
    return result
