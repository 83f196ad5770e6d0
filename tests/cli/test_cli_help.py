"""Help a newcomer can use: quick to print, summaries not cut, an example in every command's help."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from wonledger_cli.main import COMMANDS, cli


def every_command() -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(cli)

    def walk(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
        yield path, command
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{path} {name} is listed but does not load"
                yield from walk(sub, f"{path} {name}".strip())

    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None, f"{name} is listed but does not load"
        yield from walk(command, name)


COMMAND_PATHS = [path for path, _ in every_command()]


def help_of(path: str) -> str:
    result = CliRunner().invoke(cli, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_in_the_table_loads_under_its_own_name() -> None:
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name, name


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_every_command_help_shows_examples_of_how_it_is_typed(path: str) -> None:
    text = help_of(path)
    assert "Examples:" in text, f"`wonledger {path} --help` has no examples"
    examples = text.split("Examples:", 1)[1].split("Options:", 1)[0]
    typed = [line.strip() for line in examples.splitlines() if line.strip()]
    assert typed and all(line.startswith("wonledger ") for line in typed), typed
    # each example names this command (a group's examples name one of its subcommands)
    assert all(f" {path.split()[0]}" in line for line in typed), typed


@pytest.mark.parametrize("path", ["", *sorted({p.split()[0] for p in COMMAND_PATHS if " " in p})])
def test_no_summary_in_a_command_listing_is_cut_short(path: str) -> None:
    text = help_of(path) if path else CliRunner().invoke(cli, ["--help"]).output
    listing = text.split("Commands:", 1)[1]
    cut = [line.strip() for line in listing.splitlines() if line.rstrip().endswith("...")]
    assert not cut, f"cut summaries in `wonledger {path} --help`: {cut}"


def test_the_transfer_summary_is_a_whole_sentence() -> None:
    listing = CliRunner().invoke(cli, ["--help"]).output
    line = next(line for line in listing.splitlines() if line.strip().startswith("transfer "))
    assert line.split(None, 1)[1] == "Move an amount between two accounts (or hold it)."


def test_top_level_help_imports_no_command_module_nor_the_library() -> None:
    probe = (
        "import sys\n"
        "from wonledger_cli.main import main\n"
        "sys.argv = ['wonledger', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('ledger', 'sqlalchemy', 'cryptography') or m.startswith('wonledger_cli.commands.'))\n"
        "print('LOADED', loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "Commands:" in out
    assert out.strip().endswith("LOADED []"), out.splitlines()[-1]


def test_a_command_imports_only_its_own_module() -> None:
    probe = (
        "import sys\n"
        "from wonledger_cli.main import main\n"
        "sys.argv = ['wonledger', 'asset', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith('wonledger_cli.commands.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip().endswith("LOADED ['wonledger_cli.commands', 'wonledger_cli.commands.lists']") or out.strip().endswith("LOADED ['wonledger_cli.commands.lists']"), out


def test_every_command_defined_in_cli_commands_is_in_the_lazy_table() -> None:
    """A command added with `@click.command()` in cli/commands/ needs a line in cli.main.COMMANDS too,
    or `wonledger` never offers it (commands are not registered with add_command any more)."""
    import importlib
    import pkgutil

    import wonledger_cli.commands

    modules = [importlib.import_module(f"wonledger_cli.commands.{info.name}") for info in pkgutil.iter_modules(wonledger_cli.commands.__path__)]
    commands = [value for module in modules for value in vars(module).values() if isinstance(value, click.Command)]
    subcommands = {id(sub) for group in commands if isinstance(group, click.Group) for sub in group.commands.values()}
    missing = sorted({c.name or "" for c in commands if id(c) not in subcommands and c.name not in COMMANDS})
    assert not missing, f"commands defined in cli/commands but missing from cli.main.COMMANDS: {missing}"
