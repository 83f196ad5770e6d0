"""Every shell block of README.md and docs/*.md runs, and what a block shows it printing is what it prints.

The convention is in tests/docs/docblocks.py (and, for writers, docs/testing.md,
"How the docs are tested"). Each page runs in a fresh directory of its own,
its blocks in order in one bash session; a failure names the page, the
block, the command, what it printed and how it ended.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from docblocks import Block, Command, blocks_of, output_matches, parse_commands

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Blocks that may be left unrun, across all pages: keep the manual a script.
MAX_NOT_RUN = 6


def all_blocks() -> list[Block]:
    return [b for page in PAGES for b in blocks_of(page, ROOT)]


def test_every_page_parses_and_skips_only_few_blocks_each_with_a_reason() -> None:
    blocks = all_blocks()
    skipped = [b for b in blocks if b.not_run is not None]
    assert len(skipped) <= MAX_NOT_RUN, f"too many blocks not run: {[(b.page, b.line, b.not_run) for b in skipped]}"
    assert all(b.not_run for b in skipped), "a `not run` block needs its reason"
    readme = [c for b in blocks if b.page == "README.md" and b.not_run is None for c in b.commands]
    assert any(c.text == "wonledger init" for c in readme), "the README's tour does not start with `wonledger init`"
    assert any(c.text.startswith("wonledger demo") for c in readme), "the README's tour does not end with the demo"
    assert not any("pip install" in c.text for b in blocks if b.not_run is None for c in b.commands), "an install step would run"
    assert sum(len(c.expected) for b in blocks for c in b.commands) > 50, "the manual shows almost no output: nothing is checked"


def test_the_readme_tests_block_is_what_ci_runs() -> None:
    """`.ci/run` runs the README's "Tests" block exactly: the two must not drift apart."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Tests\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    commands = [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").split("# The README's \"Tests\" block, exactly:\n", 1)
    assert len(ci) == 2, ".ci/run no longer marks where it runs the README's Tests block"
    ran = [line for line in ci[1].splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert ran == commands, f"README's Tests block and .ci/run differ:\n  README: {commands}\n  .ci/run: {ran}"
    assert {"pip install -e \".[test]\"", "python -m pytest -q -n 2 --dist loadgroup"} <= set(commands)


def test_shown_output_is_matched_line_for_line_with_placeholders() -> None:
    (cmd, other, failing, erroring) = parse_commands("p", 1, [
        "$ wonledger info   # the ledger", "ledger        <ledger>", "…", "operator key  <key>",
        "$ true",
        "$ wonledger verify", "[exit 3]",
        "$ wonledger balance alcie", "error: UNKNOWN_PARTICIPANT: no participant alcie; did you mean …?",
    ])
    assert (cmd.text, other.expected, failing.exit_code, erroring.exit_code) == ("wonledger info   # the ledger", (), 3, None)
    printed = "ledger        wl-0123456789ab\ndb            x\nschema        0005\noperator key  uaDgnCuIUXUJ5wlgRafFtOMrh0XKBSOjvrAIrWRvndM\n\n"
    assert output_matches(cmd.expected, printed)
    assert not output_matches(cmd.expected, printed.replace("wl-", "xx-"))
    assert not output_matches(("a",), "a\nb\n"), "an extra printed line is drift"
    assert output_matches(("posted <n>, duplicates 0",), "posted 1,234, duplicates 0")
    with pytest.raises(ValueError, match="neither"):
        parse_commands("p", 1, ["wonledger init"])  # a command without its prompt


def run_page(page: Path, tmp_path: Path) -> list[str]:
    blocks = blocks_of(page, ROOT)
    runnable: list[Command] = []
    script = ["set +e"]
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    for shipped in ("tests", "fixtures"):  # as in a clone: the sample bank statements, the fixtures
        (work / shipped).symlink_to(ROOT / shipped)
    script.append(f"cd {shlex.quote(str(work))}")
    for block in blocks:
        if block.not_run is not None:
            if block.stand_in:
                script.append(f"{block.stand_in} >/dev/null 2>&1 </dev/null")
            continue
        for command in block.commands:
            n = len(runnable)
            runnable.append(command)
            script.append(f"{{\n{command.text}\n}} >{out}/{n}.out 2>&1 </dev/null")
            script.append(f"echo $? >{out}/{n}.rc")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    env["COLUMNS"] = "100"
    subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env, timeout=900, check=False)

    failures = []
    for n, command in enumerate(runnable):
        rc_file = out / f"{n}.rc"
        if not rc_file.exists():
            failures.append(f"{command.where()}: `{command.text}` never ran")
            continue
        code = int(rc_file.read_text())
        printed = (out / f"{n}.out").read_text(errors="replace")
        ok_exit = code in (1, 2) if command.exit_code is None else code == command.exit_code
        ok_output = not command.expected or output_matches(command.expected, printed)
        if not (ok_exit and ok_output) or "Traceback" in printed:
            wanted = "exit 1 or 2" if command.exit_code is None else f"exit {command.exit_code}"
            shown = "\n    ".join(command.expected) or "(anything)"
            failures.append(
                f"{command.where()}:\n  $ {command.text}\n  wanted {wanted}, got exit {code}\n"
                f"  shown:\n    {shown}\n  printed:\n    " + "\n    ".join(printed.rstrip().splitlines()[-40:])
            )
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shell_block_of_the_page_runs_in_order_and_prints_what_it_shows(page: Path, tmp_path: Path) -> None:
    if not any(b.not_run is None and b.commands for b in blocks_of(page, ROOT)):
        pytest.skip(f"{page.name} has no shell block to run")
    failures = run_page(page, tmp_path)
    assert not failures, f"{len(failures)} command(s) of {page.name} did not do what the page says:\n\n" + "\n\n".join(failures)
