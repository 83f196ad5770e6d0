"""The `wonledger` entry point: global options, and errors turned into exit codes in one place.

Every failure reaches the user as one line ``error: CODE: message`` on
stderr (and ``{"error": {...}}`` on stdout with ``--json``) with the exit
code of DESIGN section 6: 1 refused by a ledger rule, 2 bad usage or input,
3 integrity problems. No traceback is ever printed (set WONLEDGER_DEBUG=1 to
see one for an unexpected failure).
"""

from __future__ import annotations

import os
import sys

import click

from cli.commands.audit import checkpoint, proof, reconcile, statement, verify_proof_command
from cli.commands.crossborder import quote, send, swap
from cli.commands.demo import demo
from cli.commands.deposits import deposit, pay, withdraw
from cli.commands.stablecoins import issuer, mint, redeem, report
from cli.commands.journal import history, submit, tx, verify
from cli.commands.keys import keys
from cli.commands.payments import post, reverse, transfer, void
from cli.commands.registry import account, balance, info, init, participant
from cli.commands.tools import bench
from cli.context import Context, defaults
from cli.render import error_line
from ledger import LedgerError

INTERNAL_EXIT = 70


class WonledgerGroup(click.Group):
    def main(self, args=None, prog_name=None, **extra):  # type: ignore[no-untyped-def, override]
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
            code = super().main(args=args, prog_name=prog_name or "wonledger", standalone_mode=False, **extra)
            sys.exit(code if isinstance(code, int) else 0)
        except LedgerError as exc:
            error_line(exc.code, exc.message, as_json)
            sys.exit(exc.exit_code)
        except click.exceptions.NoArgsIsHelpError as exc:
            # A bare `wonledger` (or a bare group) asks what there is: help, not an error.
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(0)
        except click.ClickException as exc:
            hint = f" (see 'wonledger {exc.ctx.command_path.partition(' ')[2]} --help')".replace("  ", " ") if getattr(exc, "ctx", None) else ""
            error_line("BAD_INPUT", exc.format_message() + hint, as_json)
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
            if os.environ.get("WONLEDGER_DEBUG"):
                raise
            error_line("INTERNAL", f"{type(exc).__name__}: {exc} (a bug in wonledger; WONLEDGER_DEBUG=1 shows where)", as_json)
            sys.exit(INTERNAL_EXIT)


@click.group(cls=WonledgerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", help="Database URL (default $WONLEDGER_DB or sqlite:///wonledger.db).")
@click.option("--keys", metavar="DIR", help="Key directory (default $WONLEDGER_KEYS or ./wonledger-keys).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@click.version_option(package_name="wonledger", prog_name="wonledger")
@click.pass_context
def cli(ctx: click.Context, db: str | None, keys: str | None, as_json: bool) -> None:
    """wonledger: a signed, double-entry ledger for tokenized deposits and won stablecoins."""
    default_db, default_keys = defaults()
    state = Context(db=db or default_db, keys=keys or default_keys, json=as_json)
    ctx.obj = state
    ctx.call_on_close(state.close)


for command in (init, info, participant, account, balance, deposit, withdraw, pay, issuer, mint, redeem, report, quote, swap, send, transfer, post, void, reverse, history, tx, submit, verify, bench, statement, reconcile, checkpoint, proof, verify_proof_command, demo):
    cli.add_command(command)
cli.add_command(keys)


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
