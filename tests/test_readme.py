"""The README is a script: every shell block, in order, in one fresh directory, does what it says.

How the README is read (write new sections the same way and this test keeps them true):

- Every fenced block marked ```sh runs, in the order of the file, in one bash
  session (variables set by one command, such as ``Q=$(...)``, are there for
  the next), in an empty temporary directory, with no WONLEDGER_* variable
  set: the defaults are ./wonledger.db and ./wonledger-keys, as for a user.
- A block right after the line ``<!-- readme-test: skip -->`` is not run
  (installing, or commands that need a person at a terminal); keep these few.
- Each command line (a line ending in ``\\`` continues it; a here-document
  runs to its terminator) must exit 0, unless a comment line under it says
  otherwise before the next command:
  ``# error: CODE: ...`` means it must fail with exit 1 or 2 and print
  ``error: CODE:`` on stderr; ``# exit N`` (or ``(exit N)`` anywhere in such a
  comment) means it must exit N. Any other comment is shown output and is
  not checked.

A failure names the section, the command, what it printed and how it ended.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SKIP_MARK = "<!-- readme-test: skip -->"


@dataclass(frozen=True)
class Command:
    section: str
    block: int
    text: str
    exit_code: int = 0
    error_code: str | None = None

    def where(self) -> str:
        return f"README section {self.section!r}, shell block {self.block}"


@dataclass(frozen=True)
class Block:
    section: str
    number: int
    lines: tuple[str, ...]
    skipped: bool


def shell_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    section = "(top)"
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#") and not line.startswith("#!"):
            section = line.lstrip("#").strip()
        fence = re.match(r"^(```+)(\S*)\s*$", line)
        if fence:
            ticks, lang = fence.groups()
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].startswith(ticks):
                body.append(lines[i])
                i += 1
            if lang == "sh":
                previous = next((lines[j].strip() for j in range(i - len(body) - 2, -1, -1) if lines[j].strip()), "")
                blocks.append(Block(section, len(blocks) + 1, tuple(body), previous == SKIP_MARK))
        i += 1
    return blocks


def commands(block: Block) -> list[Command]:
    """The block's commands, each with what the comment lines under it say it must end with."""
    found: list[Command] = []
    lines = list(block.lines)
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith("#") and found:
            last = found[-1]
            error = re.match(r"#\s*error:\s*([A-Z_]+):", stripped)
            exit_code = re.match(r"#\s*exit (\d+)", stripped) or re.search(r"\(exit (\d+)\)", stripped)
            if error:
                found[-1] = Command(last.section, last.block, last.text, 1, error.group(1))
            elif exit_code:
                found[-1] = Command(last.section, last.block, last.text, int(exit_code.group(1)), last.error_code)
        elif stripped and not stripped.startswith("#"):
            text = [lines[i]]
            heredoc = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", lines[i])
            while text[-1].endswith("\\") and i + 1 < len(lines):
                i += 1
                text.append(lines[i])
            if heredoc:
                while i + 1 < len(lines):
                    i += 1
                    text.append(lines[i])
                    if lines[i].strip() == heredoc.group(1):
                        break
            found.append(Command(block.section, block.number, "\n".join(text)))
        i += 1
    return found


def readme_commands() -> tuple[list[Command], list[Block]]:
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    return [c for b in blocks if not b.skipped for c in commands(b)], blocks


def test_the_readme_parser_sees_the_quick_start_and_skips_only_marked_blocks() -> None:
    runnable, blocks = readme_commands()
    skipped = [b for b in blocks if b.skipped]
    assert any(c.text.strip() == "wonledger init" for c in runnable), "Quick start's `wonledger init` is not run"
    assert not any("pip install" in c.text for c in runnable), "an install step would run"
    assert len(skipped) <= 3, f"too many blocks skipped: {[b.section for b in skipped]}"
    assert any(c.error_code for c in runnable), "no `# error: CODE:` expectation was read"


def test_a_comment_under_a_command_sets_what_it_must_end_with() -> None:
    block = Block("s", 1, ("wonledger a", "# error: RESIDENCY: no", "wonledger b   # fine", "#   output shown", "wonledger c", "# exit 3 when breaks"), False)
    assert [(c.text, c.exit_code, c.error_code) for c in commands(block)] == [
        ("wonledger a", 1, "RESIDENCY"), ("wonledger b   # fine", 0, None), ("wonledger c", 3, None),
    ]


@pytest.mark.slow
def test_every_shell_block_of_the_readme_runs_in_order_in_a_fresh_directory(tmp_path: Path) -> None:
    runnable, _ = readme_commands()
    work, out = tmp_path / "work", tmp_path / "out"
    work.mkdir()
    out.mkdir()
    # As in a clone: commands may name the repository's own files (the sample bank statements under tests/).
    for shipped in ("tests", "fixtures"):
        (work / shipped).symlink_to(ROOT / shipped)
    script = ["set +e", f"cd {shlex.quote(str(work))}"]
    for n, command in enumerate(runnable):
        script.append(f"{{\n{command.text}\n}} >{out}/{n}.out 2>{out}/{n}.err </dev/null")
        script.append(f"echo $? >{out}/{n}.rc")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
    subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env, timeout=1200, check=False)

    failures = []
    for n, command in enumerate(runnable):
        rc_file = out / f"{n}.rc"
        if not rc_file.exists():
            failures.append(f"{command.where()}: `{command.text}` never ran")
            continue
        code = int(rc_file.read_text())
        stdout = (out / f"{n}.out").read_text(errors="replace")
        stderr = (out / f"{n}.err").read_text(errors="replace")
        if command.error_code is not None:
            ok = code in (1, 2) and f"error: {command.error_code}:" in stderr
            wanted = f"exit 1 or 2 with `error: {command.error_code}:`"
        else:
            ok = code == command.exit_code
            wanted = f"exit {command.exit_code}"
        ok = ok and "Traceback" not in stderr
        if not ok:
            failures.append(
                f"{command.where()}:\n  $ {command.text}\n  wanted {wanted}, got exit {code}\n"
                f"  stderr: {stderr.strip()[-600:]}\n  stdout: {stdout.strip()[-300:]}"
            )
    assert not failures, f"{len(failures)} of {len(runnable)} README commands did not do what the README says:\n\n" + "\n\n".join(failures)

    # What the README says a command did, beyond its exit code: a `pay` between customers
    # of two banks settles between the banks in wKRW (it once became a same-bank transfer).
    pays = [re.search(r"--id (\S+)", c.text) for c in runnable if c.text.startswith("wonledger pay ")]
    assert any(pays), "no `wonledger pay ... --id ID` in the README to check"
    for found in filter(None, pays):
        shown = subprocess.run(["wonledger", "--json", "tx", "show", found.group(1)], cwd=work, env=env, capture_output=True, text=True, check=True)
        assets = [leg["asset"] for leg in json.loads(shown.stdout)["legs"]]
        assert "wKRW" in assets, f"README's pay {found.group(1)} did not cross banks: legs in {assets}"
