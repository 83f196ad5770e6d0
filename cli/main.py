"""The `wonledger` entry point: global options, the command table, and errors turned into exit codes in one place.

Commands are loaded lazily: `wonledger --help` lists them from the table
below without importing any command module (nor the ledger library, nor
SQLAlchemy), and `wonledger COMMAND` imports only COMMAND's module. This is
click's documented pattern for lazy subcommands; the one-line summaries live
in the table so that the listing needs nothing else.

Every failure reaches the user as one line ``error: CODE: message`` on
stderr (and ``{"error": {...}}`` on stdout with ``--json``) with the exit
code of docs/cli.md's exit codes: 1 refused by a ledger rule, 2 bad usage or input,
3 integrity problems, 75 a database unavailable for now. No traceback is ever printed (set WONLEDGER_DEBUG=1 to
see one for an unexpected failure).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from collections.abc import Sequence

INTERNAL_EXIT = 70


#: name -> (module, attribute, one-line summary shown by `wonledger --help`).
#: `report` gathers subcommands from three modules, listed after the first.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("wonledger_cli.commands.registry", "init", "Create the ledger: schema, default world, keys."),
    "info": ("wonledger_cli.commands.registry", "info", "Ledger id, database, schema, counts, operator key."),
    "participant": ("wonledger_cli.commands.registry", "participant", "List, show or add participants."),
    "account": ("wonledger_cli.commands.registry", "account", "Open and list accounts."),
    "asset": ("wonledger_cli.commands.lists", "asset", "List the assets and who issues them."),
    "balance": ("wonledger_cli.commands.registry", "balance", "Balances of accounts, or of all of an owner's."),
    "deposit": ("wonledger_cli.commands.deposits", "deposit", "A bank tokenizes a customer's deposit."),
    "withdraw": ("wonledger_cli.commands.deposits", "withdraw", "Deposit tokens back into an ordinary deposit."),
    "pay": ("wonledger_cli.commands.deposits", "pay", "Pay a resident in deposit tokens, across banks too."),
    "issuer": ("wonledger_cli.commands.stablecoins", "issuer", "Register or list stablecoin issuers."),
    "mint": ("wonledger_cli.commands.stablecoins", "mint", "Mint stablecoins against deposit tokens, at par."),
    "redeem": ("wonledger_cli.commands.stablecoins", "redeem", "Redeem stablecoins for deposit tokens, at par."),
    "report": ("wonledger_cli.commands.stablecoins,wonledger_cli.commands.crossborder,wonledger_cli.commands.audit", "report", "Supply, trial balance, flows, rejections."),
    "quote": ("wonledger_cli.commands.crossborder", "quote", "The dealer's firm quote between two stablecoins."),
    "swap": ("wonledger_cli.commands.crossborder", "swap", "Exchange stablecoins with the dealer (PvP)."),
    "send": ("wonledger_cli.commands.crossborder", "send", "Send won deposit tokens abroad in one transaction."),
    "transfer": ("wonledger_cli.commands.payments", "transfer", "Move an amount between two accounts (or hold it)."),
    "hold": ("wonledger_cli.commands.lists", "hold", "List pending holds and when they expire."),
    "post": ("wonledger_cli.commands.payments", "post", "Post a hold, whole or in part (the rest is released)."),
    "void": ("wonledger_cli.commands.payments", "void", "Void a hold: release all of it."),
    "fulfil": ("wonledger_cli.commands.payments", "fulfil", "Fulfil a conditional hold with its preimage: all of it moves."),
    "reject": ("wonledger_cli.commands.payments", "reject", "Reject a conditional hold (its creditors): release all of it."),
    "reverse": ("wonledger_cli.commands.payments", "reverse", "Undo a transaction with a new one."),
    "history": ("wonledger_cli.commands.journal", "history", "The transactions that touched an account."),
    "tx": ("wonledger_cli.commands.journal", "tx", "Show one transaction as the journal holds it."),
    "submit": ("wonledger_cli.commands.journal", "submit", "Ingest signed JSON lines (idempotent)."),
    "verify": ("wonledger_cli.commands.journal", "verify", "Replay the journal; compare every table with it."),
    "statement": ("wonledger_cli.commands.audit", "statement", "An account's statement as camt.053 or CSV."),
    "reconcile": ("wonledger_cli.commands.audit", "reconcile", "Match a statement to an account; list breaks."),
    "checkpoint": ("wonledger_cli.commands.audit", "checkpoint", "The operator signs the journal's Merkle root."),
    "proof": ("wonledger_cli.commands.audit", "proof", "A transaction's offline inclusion proof."),
    "verify-proof": ("wonledger_cli.commands.audit", "verify_proof_command", "Check an inclusion proof offline."),
    "verify-consistency": ("wonledger_cli.commands.audit", "verify_consistency_command", "Check offline that a checkpoint extends an older one."),
    "keys": ("wonledger_cli.commands.keys", "keys", "Make, rotate, revoke or list a participant's keys."),
    "partner": ("wonledger_cli.commands.crossledger", "partner", "The other ledger this one settles with, by its card."),
    "xsend": ("wonledger_cli.commands.crossledger", "xsend", "Pay across two ledgers: both holds fulfilled, or neither."),
    "xresume": ("wonledger_cli.commands.crossledger", "xresume", "Finish or unwind what a killed driver began."),
    "verify-pair": ("wonledger_cli.commands.crossledger", "verify_pair", "Check two ledgers together: no payment half done."),
    "bundle": ("wonledger_cli.commands.crossledger", "bundle", "A signed checkpoint and proofs of the linked holds."),
    "demo": ("wonledger_cli.commands.demo", "demo", "Settlement timing: correspondent vs stablecoin."),
    "bench": ("wonledger_cli.commands.tools", "bench", "Batch ingest throughput on this machine."),
}


class WonledgerGroup(click.Group):
    """The top-level group: commands from :data:`COMMANDS`, imported when first needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        modules, attribute, summary = COMMANDS[cmd_name]
        loaded = [importlib.import_module(name) for name in modules.split(",")]
        command = getattr(loaded[0], attribute)
        command.short_help = summary  # the table is the one source of the summary
        return command

    def resolve_command(self, ctx: click.Context, args: list[str]):
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand:
            # click suggests from the loaded commands only; ours are in the table
            raise click.exceptions.NoSuchCommand(str(args[0]), possibilities=list(COMMANDS), ctx=ctx) from None

    def make_context(self, info_name, args, parent=None, **extra):
        # The terminal's width, found as shutil would find it but without importing shutil
        # (and with it bz2, lzma and zlib): a tenth of `wonledger --help`'s time.
        extra.setdefault("terminal_width", _terminal_width())
        return super().make_context(info_name, args, parent=parent, **extra)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The listing from the table alone: no command module is imported to print it.
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][2]) for name in self.list_commands(ctx)])

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> NoReturn:
        # Always standalone: click runs the command non-standalone below, and this method exits with its code.
        if not standalone_mode:
            raise TypeError("the wonledger command exits with its command's code: it has no standalone_mode=False")
        args = list(sys.argv[1:] if args is None else args)
        as_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
        for arg in args:
            # Bytes that are not UTF-8 reach us as lone surrogates; no id, amount or memo may hold them.
            if not arg.isascii() and not _is_utf8(arg):
                shown = repr(arg) if len(arg) <= 40 else repr(arg[:40]) + "..."
                error_line("BAD_INPUT", f"argument {shown} is not UTF-8 text", as_json)
                sys.exit(2)
            if "\x00" in arg:
                # No shell can pass one, but a program calling us can; file names and ids choke on it.
                shown = repr(arg) if len(arg) <= 40 else repr(arg[:40]) + "..."
                error_line("BAD_INPUT", f"argument {shown} holds a NUL character", as_json)
                sys.exit(2)
        try:
            result = super().main(args=args, prog_name=prog_name or "wonledger", complete_var=complete_var, standalone_mode=False, **extra)
            sys.exit(result_exit_code(result))
        except click.exceptions.NoSuchOption as exc:
            if _looks_negative(exc.option_name):
                # `transfer a b -1`: click reads -1 as an option; it is an amount, and amounts are positive
                error_line(
                    "BAD_AMOUNT",
                    f"{exc.option_name}... is a negative amount; amounts are positive (to move money back, swap FROM and TO, or `reverse` the transaction)",
                    as_json,
                )
                sys.exit(2)
            error_line("BAD_INPUT", exc.format_message() + _hint(exc), as_json)
            sys.exit(2)
        except click.exceptions.NoArgsIsHelpError as exc:
            # A bare `wonledger` (or a bare group) asks what there is: help, not an error.
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(0)
        except click.ClickException as exc:
            error_line("BAD_INPUT", exc.format_message() + _hint(exc), as_json)
            sys.exit(2 if exc.exit_code == 1 else exc.exit_code)
        except (click.exceptions.Abort, KeyboardInterrupt) as exc:
            # click turns Ctrl-C into Abort, keeping the KeyboardInterrupt as its cause
            done = getattr(exc.__cause__ or exc, "result", None)  # a batch ingest says how far it got
            if done is None:
                error_line("INTERRUPTED", "stopped before finishing; nothing half-done was kept", as_json)
            else:
                error_line(
                    "INTERRUPTED",
                    f"stopped by Ctrl-C: {done.posted:,} line(s) had posted, {done.duplicates:,} were duplicates and "
                    f"{len(done.rejected):,} were refused before it; the chunk in flight was rolled back whole. "
                    "Run the same command on the same input to post the rest (what landed comes back as duplicates)",
                    as_json,
                )
            sys.exit(130)
        except BrokenPipeError:
            # The reader went away (e.g. `| head`); say nothing more.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except Exception as exc:  # the last line of defence: no traceback for users
            errors = sys.modules.get("wonledger.domain.errors")  # imported by whichever command ran, if any
            if errors is not None and isinstance(exc, errors.LedgerError):
                done = exc.result.to_json() if exc.result is not None else None  # how far a batch got, when one stopped
                error_line(exc.code, exc.message + _worded_hint(exc.hint), as_json, done)
                sys.exit(_exit_code(errors, exc))
            if os.environ.get("WONLEDGER_DEBUG"):
                raise
            error_line("INTERNAL", f"{type(exc).__name__}: {exc} (a bug in wonledger; WONLEDGER_DEBUG=1 shows where)", as_json)
            sys.exit(INTERNAL_EXIT)


def result_exit_code(result: object) -> int:
    """The exit code of a command that ran to its end, from what it returned: the one place a "not ok" becomes exit 3.

    A command that checks something (verify, reconcile, a proof, a trial
    balance, a statement's schema) returns its result; one whose ``ok`` is
    false found an integrity problem: exit 3. An int is an exit code a
    command chose itself; anything else is success.
    """
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    return 3 if getattr(result, "ok", True) is False else 0


#: A database unavailable for now (EX_TEMPFAIL of sysexits.h): the same command, run again later, may succeed.
UNAVAILABLE_EXIT = 75


def _exit_code(errors, exc: Exception) -> int:
    """The CLI's exit codes by family of error: 2 bad usage or input, 3 integrity problems, 75 try again later, 1 any other refusal."""
    if isinstance(exc, errors.DatabaseUnavailable):
        return UNAVAILABLE_EXIT
    if isinstance(exc, errors.BadInput):
        return 2
    if isinstance(exc, errors.IntegrityProblem):
        return 3
    return 1


#: What the user could do next, as the library names it (LedgerError.hint), in this CLI's words.
HINTS = {
    "init": ": run `wonledger init` first (or pass --db)",
    "other-db": "; remove it or choose another --db",
    "keys": " (set --keys or WONLEDGER_KEYS)",
    "quote": ": ask the dealer for one with `wonledger quote`",
    "account-open": " (open one with `wonledger account open`)",
    "registrar": ": name one with --by",
    "checkpoint": ": run `wonledger checkpoint` first",
    "verify": ": run `wonledger verify`",
    "revoke": ": `wonledger keys revoke ID --public-key NEW`",
    "keys-new": " (what `wonledger keys new` prints)",
    "reconcile-which": " (--account ACCOUNT, or --all)",
    "reconcile-account": "; reconcile it with --account",
    "account-map": ": map it to one (--account-map FILE)",
    "statement-account": "; if the bank names the account otherwise, say so with --statement-account ID or --account-map FILE",
    "wait-longer": " (wait longer with --wait-db SECONDS or WONLEDGER_WAIT_DB)",
    "same-id": " (pass it as --id ID to the same command; wait longer with --wait-db SECONDS)",
    "resubmit": ". Run the same command on the same input to post the rest (what landed comes back as duplicates)",
    "partner": ": record its card first (`wonledger partner add`, with the card `wonledger partner card` writes on that ledger)",
}


def _worded_hint(hint: str | None) -> str:
    return HINTS.get(hint, "") if hint is not None else ""


@click.group(cls=WonledgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", help="Database URL (default $WONLEDGER_DB or sqlite:///wonledger.db).")
@click.option("--keys", metavar="DIR", help="Key directory (default $WONLEDGER_KEYS or ./wonledger-keys).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@click.option(
    "--wait-db",
    metavar="SECONDS",
    type=click.FloatRange(0, 86400),
    help="Wait out an unavailable database (a failover) this long, retrying (default $WONLEDGER_WAIT_DB or 60; 0: no wait).",
)
@click.version_option(package_name="wonledger", prog_name="wonledger")
@click.pass_context
def cli(ctx: click.Context, db: str | None, keys: str | None, as_json: bool, wait_db: float | None) -> None:
    """wonledger: a signed, double-entry ledger for tokenized deposits and won stablecoins.

    \b
    Start here:
      wonledger init                        # ./wonledger.db and ./wonledger-keys/
      wonledger balance alice
      wonledger pay alice seoul-exports 250000 --memo "invoice 7"
      wonledger COMMAND --help              # each command's help ends with examples
    """
    from wonledger_cli.context import Context  # not needed by `wonledger --help`, which never gets here

    state = Context(db_option=db, keys_option=keys, json=as_json, wait_db=wait_db)
    ctx.obj = state
    ctx.call_on_close(state.close)


def error_line(code: str, message: str, as_json: bool, done: dict[str, object] | None = None) -> None:
    from wonledger_cli.render import error_line as write  # imported on the way out: help and success never pay for it

    write(code, message, as_json, done)


def _terminal_width() -> int:
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def _looks_negative(option: str) -> bool:
    body = option[1:].replace(",", "").replace("_", "")
    return body.replace(".", "", 1).isdigit()


def _hint(exc: click.ClickException) -> str:
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return ""
    return f" (see 'wonledger {ctx.command_path.partition(' ')[2]} --help')".replace("  ", " ")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def main() -> None:
    cli.main()


if __name__ == "__main__":
    main()
