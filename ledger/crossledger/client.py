"""Talking to a ledger's node process: start it, send it one JSON line, read its one-line answer.

A node is started as ``python -m wonledger.crossledger.node`` with the
interpreter running the driver, one per ledger. An answer that never comes
(the node died, its pipe closed, it did not start) is NODE_UNAVAILABLE; a
refusal by the ledger comes back as the same error, by its code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wonledger.domain.errors import BadInput, NodeUnavailable, error_for_code


@dataclass(frozen=True, slots=True)
class LedgerPlace:
    """Where a ledger is: its database URL and key directory.

    A directory stands for ``DIR/wonledger.db`` with keys in ``DIR/keys``;
    anything with ``://`` is a database URL (its keys named apart).
    """

    url: str
    keys: str

    @classmethod
    def parse(cls, where: str, keys: str | None = None) -> LedgerPlace:
        if "://" in where:
            if keys is None:
                raise BadInput(f"{where} is a database URL: name its key directory too")
            return cls(where, keys)
        folder = Path(where)
        if not (folder / "wonledger.db").exists():
            raise BadInput(f"{where} holds no wonledger.db (a ledger directory holds wonledger.db and keys/)")
        return cls(f"sqlite:///{folder / 'wonledger.db'}", keys or str(folder / "keys"))


class NodeClient:
    """One node process and the requests sent to it, one at a time."""

    def __init__(self, place: LedgerPlace, name: str, wait_db: float | None = None) -> None:
        self.name = name
        command = [sys.executable, "-m", "wonledger.crossledger.node", "--db", place.url, "--keys", place.keys, "--name", name]
        if wait_db is not None:
            command += ["--wait-db", str(wait_db)]
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ)
            )
        except OSError as exc:
            raise NodeUnavailable(f"the {name} node could not be started: {exc}") from None
        self.ledger = ""

    def ready(self) -> NodeClient:
        """Wait for the node's first line: its ledger's id once it opened it, or why it could not."""
        first = self._read()
        if not first.get("ok"):
            self.close()
            raise error_for_code(first["error"]["code"], f"the {self.name} ledger: {first['error']['message']}")
        self.ledger = str(first["result"]["ledger"])
        return self

    def call(self, op: str, **args: Any) -> Any:
        """The node's answer to ``op``; the ledger's refusal raised as its error."""
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._gone(f"sending {op}") from None
        answer = self._read(op)
        if not answer.get("ok"):
            error = answer.get("error", {})
            raise error_for_code(error.get("code", "LEDGER_ERROR"), f"the {self.name} ledger: {error.get('message', '')}")
        return answer.get("result")

    def _read(self, op: str = "starting") -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise self._gone(op)
        try:
            answer = json.loads(line)
        except ValueError:
            raise NodeUnavailable(f"the {self.name} node answered {op} with no JSON: {line[:200]!r}") from None
        if not isinstance(answer, dict):
            raise NodeUnavailable(f"the {self.name} node answered {op} with {line[:200]!r}")
        return answer

    def _gone(self, op: str) -> NodeUnavailable:
        code = self._process.poll()
        if code is None:
            try:
                code = self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
        stderr = ""
        if self._process.stderr is not None and code is not None:
            stderr = self._process.stderr.read()[-500:].strip()
        said = f": {stderr}" if stderr else ""
        return NodeUnavailable(f"the {self.name} node stopped answering while {op} (exit {code}){said}")

    def close(self) -> None:
        process = self._process
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


__all__ = ["LedgerPlace", "NodeClient"]
