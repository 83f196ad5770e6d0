"""How the manual's shell blocks are read, run and checked against what they show (tests/docs/test_docs_blocks.py runs them).

The convention, for README.md and every docs/*.md page (docs/testing.md, "How the docs are tested", says it for writers):

- Every fenced block marked ```console (or ```shell, ```sh) runs. Blocks of
  one page run in order in one bash session, in a fresh empty directory
  holding only links to the repository's ``tests/`` and ``fixtures/``, with no
  WONLEDGER_* variable set; each page starts from nothing, so a page that
  needs a ledger shows its own ``wonledger init``.
- A line starting with ``$ `` is a command; a command ending in ``\\``
  continues on the next line, and a here-document runs to its terminator.
  The lines under a command, up to the next ``$ ``, are what it prints
  (stdout and stderr as one stream) and must match it line for line, with:
  ``…`` inside a line matches any text; a line that is only ``…`` matches
  any number of lines; ``<hash>`` (hex), ``<key>`` (base64url key or
  signature), ``<time>`` (an ISO 8601 moment), ``<date>`` (``YYYY-MM-DD``), ``<ledger>`` (``wl-`` and 12
  hex digits), ``<quote>`` (``q-`` and 16 hex digits) and ``<n>`` (a
  number, with separators) match what they name. A command with no lines
  under it may print anything.
- The command must exit 0, unless a last line ``[exit N]`` says N, or the
  shown output holds an ``error: CODE:`` line, which means exit 1 or 2.
- A block right after ``<!-- not run: REASON -->`` does not run (install
  steps, a cluster, hours). Keep them few; a reason is required. With
  ``<!-- not run: REASON; stand-in: COMMAND -->`` the stand-in runs instead
  (unchecked), for a block that waits on a change elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

SHELL_LANGS = ("console", "shell", "sh")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>.*?)(?:;\s*stand-in:\s*(?P<stand_in>.*?))?\s*-->$")
ELLIPSIS = "…"
PLACEHOLDERS = {
    "<hash>": r"[0-9a-f]{8,64}",
    "<key>": r"[A-Za-z0-9_-]{20,100}",
    "<time>": r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?",
    "<date>": r"\d{4}-\d\d-\d\d",
    "<ledger>": r"wl-[0-9a-f]{12}",
    "<quote>": r"q-[0-9a-f]{16}",
    "<n>": r"-?\d[\d,]*(?:\.\d+)?",
}
_TOKEN = re.compile("|".join(re.escape(t) for t in (ELLIPSIS, *PLACEHOLDERS)))


@dataclass(frozen=True)
class Command:
    page: str
    block: int
    text: str
    expected: tuple[str, ...] = ()
    exit_code: int | None = 0  # None: 1 or 2 (an `error: CODE:` line is shown)

    def where(self) -> str:
        return f"{self.page}, shell block {self.block}"


@dataclass(frozen=True)
class Block:
    page: str
    number: int
    line: int
    lines: tuple[str, ...]
    not_run: str | None = None
    stand_in: str | None = None
    commands: tuple[Command, ...] = field(default=())


def blocks_of(path: Path, root: Path) -> list[Block]:
    """The shell blocks of one page, in order, each with its commands."""
    page = str(path.relative_to(root))
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        fence = re.match(r"^(```+)(\S*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        ticks, lang = fence.groups()
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(ticks):
            body.append(lines[i])
            i += 1
        i += 1
        if lang not in SHELL_LANGS:
            continue
        previous = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        mark = NOT_RUN.match(previous)
        number = len(found) + 1
        commands = tuple(parse_commands(page, number, body))
        found.append(
            Block(page, number, start + 1, tuple(body), mark.group("reason") if mark else None, mark.group("stand_in") if mark else None, commands)
        )
    return found


def parse_commands(page: str, block: int, body: list[str]) -> list[Command]:
    """``$ `` lines are commands; the lines under each, its shown output (see the module docstring)."""
    found: list[Command] = []
    i = 0
    while i < len(body):
        line = body[i]
        if not line.startswith("$ "):
            raise ValueError(f"{page}, shell block {block}: line {line!r} is neither a `$ ` command nor under one")
        text = [line[2:]]
        heredoc = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        while text[-1].endswith("\\") and i + 1 < len(body):
            i += 1
            text.append(body[i].removeprefix("> "))
        if heredoc:
            while i + 1 < len(body):
                i += 1
                text.append(body[i])
                if body[i].strip() == heredoc.group(1):
                    break
        i += 1
        shown: list[str] = []
        while i < len(body) and not body[i].startswith("$ "):
            shown.append(body[i])
            i += 1
        while shown and not shown[-1].strip():
            shown.pop()
        exit_code: int | None = 0
        if shown and (last := re.fullmatch(r"\[exit (\d+)\]", shown[-1].strip())):
            exit_code = int(last.group(1))
            shown.pop()
        elif any(s.startswith("error: ") for s in shown):
            exit_code = None
        found.append(Command(page, block, "\n".join(text), tuple(shown), exit_code))
    return found


def line_pattern(shown: str) -> re.Pattern[str]:
    parts, at = [], 0
    for token in _TOKEN.finditer(shown):
        parts.append(re.escape(shown[at : token.start()]))
        parts.append(".*?" if token.group() == ELLIPSIS else PLACEHOLDERS[token.group()])
        at = token.end()
    parts.append(re.escape(shown[at:]))
    return re.compile("".join(parts))


def output_matches(shown: tuple[str, ...], printed: str) -> bool:
    """Whether ``printed`` is what ``shown`` shows, line for line (``…`` lines elide any number)."""
    actual = [line.rstrip() for line in printed.splitlines()]
    while actual and not actual[-1]:
        actual.pop()
    wanted = [line.rstrip() for line in shown]
    memo: dict[tuple[int, int], bool] = {}

    def match(w: int, a: int) -> bool:
        key = (w, a)
        if key not in memo:
            if w == len(wanted):
                memo[key] = a == len(actual)
            elif wanted[w] == ELLIPSIS:
                memo[key] = any(match(w + 1, k) for k in range(a, len(actual) + 1))
            else:
                memo[key] = a < len(actual) and line_pattern(wanted[w]).fullmatch(actual[a]) is not None and match(w + 1, a + 1)
        return memo[key]

    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * (len(wanted) + len(actual)) + 100))
    try:
        return match(0, 0)
    finally:
        sys.setrecursionlimit(limit)
