"""What every command shares: the global options and the ledger they name."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import click

from ledger import DEFAULT_DB, DEFAULT_KEYS, Ledger


@dataclass
class Context:
    db: str = DEFAULT_DB
    keys: str = DEFAULT_KEYS
    json: bool = False
    _ledger: Ledger | None = field(default=None, repr=False)

    def ledger(self) -> Ledger:
        """Open the ledger on first use (nothing connects before a command runs)."""
        if self._ledger is None:
            self._ledger = Ledger.open(self.db, self.keys)
        return self._ledger

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None


def defaults() -> tuple[str, str]:
    return os.environ.get("WONLEDGER_DB") or DEFAULT_DB, os.environ.get("WONLEDGER_KEYS") or DEFAULT_KEYS


pass_context = click.make_pass_decorator(Context)


def json_option(command):  # type: ignore[no-untyped-def]
    """Let `--json` follow the command as well as precede it."""

    def turn_on(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.find_object(Context).json = True

    return click.option("--json", is_flag=True, expose_value=False, callback=turn_on, is_eager=True, help="Print JSON on stdout.")(command)
