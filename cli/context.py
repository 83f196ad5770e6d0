"""What every command shares: the global options and the ledger they name.

Nothing here imports the ledger library until a command asks for the ledger
(or for the defaults, which the library defines), so `--help` stays quick.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from wonledger import Ledger


class Context:
    """The global options (as typed) and the ledger, opened on first use. A plain class: no import cost."""

    def __init__(self, db_option: str | None = None, keys_option: str | None = None, json: bool = False, wait_db: float | None = None) -> None:
        self.db_option = db_option
        self.keys_option = keys_option
        self.json = json
        #: --wait-db, else None: the library reads $WONLEDGER_WAIT_DB, else waits 60 s
        self.wait_db = wait_db
        self._ledger: Ledger | None = None

    @property
    def db(self) -> str:
        """--db, else $WONLEDGER_DB, else the library's default (./wonledger.db)."""
        from wonledger import DEFAULT_DB

        return self.db_option or os.environ.get("WONLEDGER_DB") or DEFAULT_DB

    @property
    def keys(self) -> str:
        """--keys, else $WONLEDGER_KEYS, else the library's default (./wonledger-keys)."""
        from wonledger import DEFAULT_KEYS

        return self.keys_option or os.environ.get("WONLEDGER_KEYS") or DEFAULT_KEYS

    def ledger(self) -> Ledger:
        """Open the ledger on first use (nothing connects before a command runs)."""
        if self._ledger is None:
            from wonledger import Ledger
            from wonledger_cli.waiting import terminal_reporter

            # Checked by the command's first read, in its transaction: a command that reads once is one transaction.
            self._ledger = Ledger.open(self.db, self.keys, check_now=False, wait_db=self.wait_db, on_wait=terminal_reporter())
        return self._ledger

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None


class Checked:
    """What a command checked, when no library result says it: ``ok`` false exits 3 (see ``wonledger_cli.main``)."""

    __slots__ = ("ok",)

    def __init__(self, ok: bool) -> None:
        self.ok = ok


pass_context = click.make_pass_decorator(Context)


def json_option(command):
    """Let `--json` follow the command (and, on a group, come before its subcommand) as well as precede it."""

    def turn_on(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            state = ctx.find_object(Context)
            if state is None:  # the wonledger group makes it before any subcommand's options are read
                raise RuntimeError("--json was read outside the wonledger command group")
            state.json = True

    return click.option("--json", is_flag=True, expose_value=False, callback=turn_on, is_eager=True, help="Print JSON on stdout.")(command)
