"""Helpers of the reliability suite: the console script as a real process, and a ledger's tables read from outside.

`run_wonledger(url, *args, keys=…, env=…, input=…)` runs the installed console
script as a user would and returns a `Run`; `fingerprint(url)` reads every
table of a ledger through a connection of its own, so a test can prove a
refused input changed nothing at all; `raw_sql` changes a database behind
wonledger's back, as someone with access to it could.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy

#: The console script installed beside the interpreter running the tests.
WONLEDGER = str(Path(sys.executable).with_name("wonledger"))
WORKERS = Path(__file__).with_name("workers")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without a developer's WONLEDGER_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_") or k == "WONLEDGER_TEST_PG_URL"}
    env.update(extra)
    return env


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def ok(self) -> Run:
        assert self.exit_code == 0, f"wonledger {' '.join(self.args)} exited {self.exit_code}: {self.stderr}"
        return self

    def error(self, code: str, exit_code: int) -> str:
        """Exactly one line ``error: CODE: message`` on stderr, no traceback, the given exit code."""
        assert "Traceback" not in self.stderr, self.stderr
        lines = self.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {code}: "), self.stderr
        assert self.exit_code == exit_code, f"exit {self.exit_code}, expected {exit_code}: {self.stderr}"
        return lines[0][len(f"error: {code}: ") :]


def run_wonledger(
    url: str,
    *args: str,
    keys: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    timeout: float = 120,
) -> Run:
    command = [WONLEDGER, "--db", url, *(["--keys", str(keys)] if keys is not None else []), *args]
    done = subprocess.run(command, capture_output=True, input=input, timeout=timeout, env=clean_env(**(env or {})))
    return Run(tuple(args), done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))


#: The one table a refusal is meant to change: the record of refused attempts (`report rejections`).
REFUSAL_RECORD = "rejections"


def fingerprint(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the record of refusals, sorted: equal fingerprints mean nothing changed."""
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            names = sorted(set(sqlalchemy.inspect(conn).get_table_names()) - {REFUSAL_RECORD})
            return {n: sorted(tuple(map(repr, r)) for r in conn.exec_driver_sql(f'SELECT * FROM "{n}"')) for n in names}
    finally:
        engine.dispose()


def journal_ids(url: str, prefix: str = "", limit: int | None = None) -> list[str]:
    """Ids of the journal's entries (those starting with ``prefix``), in sequence order."""
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    query = "SELECT id FROM journal WHERE substr(id, 1, :n) = :prefix ORDER BY seq" + (f" LIMIT {int(limit)}" if limit else "")
    try:
        with engine.connect() as conn:
            return list(conn.execute(sqlalchemy.text(query), {"n": len(prefix), "prefix": prefix}).scalars())
    finally:
        engine.dispose()


def legs_per_entry(url: str) -> dict[str, int]:
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT j.id, COUNT(l.idx) FROM journal j LEFT JOIN legs l ON l.seq = j.seq GROUP BY j.id")
            return {r[0]: r[1] for r in rows}
    finally:
        engine.dispose()


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def raw_sql(url: str, sql: str) -> None:
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def remount(target: Path, options: str) -> None:
    """Change a mounted tmpfs's options (``ro``, ``rw``, ``size=8m``) under a ledger, as an operator could."""
    subprocess.run(["mount", "-o", f"remount,{options}", str(target)], check=True, capture_output=True)


def record_figure(name: str, **figures: Any) -> None:
    """Append a measured figure to $WONLEDGER_FIGURES (JSON lines), if set: what the README reports comes from here."""
    target = os.environ.get("WONLEDGER_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({"name": name, **figures}) + "\n")
