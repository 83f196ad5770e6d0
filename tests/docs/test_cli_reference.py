"""docs/cli.md documents every command of `wonledger --help`'s tree, with every option the command's own --help lists."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click

from wonledger_cli.main import cli

CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def command_tree() -> Iterator[tuple[str, click.Command]]:
    def walk(command: click.Command, path: list[str], ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
        if path:
            yield " ".join(path), command
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"`wonledger {' '.join([*path, name])}` is listed but does not load"
                yield from walk(sub, [*path, name], click.Context(sub, info_name=name, parent=ctx))

    yield from walk(cli, [], click.Context(cli, info_name="wonledger"))


def sections() -> dict[str, str]:
    """Each `### \\`wonledger NAME\\`` section of the reference, by NAME."""
    text = CLI_MD.read_text(encoding="utf-8")
    parts = re.split(r"^### `wonledger ([^`]+)`\s*$", text, flags=re.M)
    return {name: body.split("\n## ", 1)[0] for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_every_command_in_the_help_tree_has_its_section_and_every_option_is_in_it() -> None:
    documented = sections()
    missing, options_missing = [], []
    for name, command in command_tree():
        if name not in documented:
            missing.append(name)
            continue
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "as_json":
                if not any(f"`{flag}" in documented[name] or f", {flag}" in documented[name] for flag in param.opts):
                    options_missing.append(f"{name} {param.opts[0]}")
    assert not missing, f"docs/cli.md has no section for: {', '.join(missing)}"
    assert not options_missing, f"docs/cli.md does not document: {', '.join(options_missing)}"


def test_the_reference_names_no_command_that_does_not_exist() -> None:
    real = {name for name, _ in command_tree()}
    assert not set(sections()) - real, f"docs/cli.md documents commands wonledger lacks: {sorted(set(sections()) - real)}"


def test_the_global_options_are_documented() -> None:
    text = CLI_MD.read_text(encoding="utf-8")
    for param in cli.params:
        if isinstance(param, click.Option):
            assert param.opts[0] in text, f"global option {param.opts[0]} is not in docs/cli.md"
