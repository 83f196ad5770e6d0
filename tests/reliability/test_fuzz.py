"""Hostile input: Hypothesis throws bytes and arguments at the JSONL reader and at every CLI command.

Random bytes, huge numbers, deep JSON nesting, long strings, unicode
confusables in ids, NUL bytes, and valid signed lines with one field made
hostile. Whatever comes in: no traceback, no exception that is not the
ledger's own, an exit code of the README's CLI conventions with one `error: CODE:` line,
and an input that is refused changes nothing at all (every table compared).
Examples are bounded (max_examples) so CI stays fast; a few cases run
through real subprocesses too, where the operating system passes the bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from harness import fingerprint, record_figure, run_wonledger
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wonledger import Ledger, LedgerError, Leg, Tx, parse_line
from wonledger_cli.main import cli

EXAMPLES = 200
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

#: Ids a user might mean, and lookalikes of them: Cyrillic a, a zero-width space, full-width letters, a NUL.
CONFUSABLES = [
    "alice", "аlice", "alice\u200b", "ａｌｉｃｅ", "alice\x00", "ALICE", "alice:dKRW.hanriver", "аlice:dKRW.hanriver",
    "hanriver:dKRW.hanriver", "hanriver:dKRW.hanrivеr", "dKRW.hanriver", "KRWS", "KRWЅ", "seoul-exports", "funding-1",
]
NUMBERS = [
    "0", "-1", "1", "1.5", "1e3", "1e400", "NaN", "Infinity", "-0", "9" * 400, "1,000,000", "1,00", "0x10", "1_000",
    "١٢٣", "𝟏𝟎𝟎", "１２３", str(2**63), str(2**64 + 1), "12.345", "12.50 HKDS",
]
NASTY = ["", " ", "-", "--", "\x00", "x" * 5000, "../../etc/passwd", "'; DROP TABLE journal; --", "\u202eevil", "\ud800"]

#: What a user would type: with these among the hostile values, many commands get as far as the ledger's rules.
PLAUSIBLE = ["alice", "hanriver:dKRW.hanriver", "alice:dKRW.hanriver", "seoul-exports", "kowloon-supply", "1", "250", "1,000,000",
             "funding-1", "KRWS", "HKDS", "dKRW.namsan", "dKRW.hanriver", "hanriver", "kpay"]

hostile_text = st.one_of(
    st.sampled_from(CONFUSABLES + NUMBERS + NASTY),
    st.sampled_from(PLAUSIBLE),
    st.sampled_from(PLAUSIBLE),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=100, max_size=2000),
    st.integers().map(str),
)


def deep(n: int) -> str:
    return "[" * n + "]" * n


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), hostile_text),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)),
    max_leaves=12,
)


@pytest.fixture
def fuzz_ledger(sqlite_ledger_dir) -> Iterator[Ledger]:
    base = sqlite_ledger_dir("default")
    ledger = Ledger.open(f"sqlite:///{base / 'wonledger.db'}", base / "keys")
    yield ledger
    ledger.close()


def valid_line(ledger: Ledger, tx_id: str) -> dict:
    tx = Tx(ledger=ledger.id, id=tx_id, kind="transfer", legs=(Leg("alice:dKRW.hanriver", "hanriver:dKRW.hanriver", "dKRW.hanriver", 7),))
    return json.loads(json.dumps(ledger.sign(tx).to_wire()))


def landed_send_line(ledger: Ledger) -> dict:
    """A cross-border send as the journal holds it: quote and travel-rule data bound into the signed payload."""
    receipt = ledger.crossborder.send("alice", "kowloon-supply", 2_000_000, "HKDS", tx_id="fuzz-send")
    entry = ledger.transaction(receipt.id)
    return {"tx": json.loads(entry.canonical), "signatures": [sig.to_wire() for sig in entry.signatures]}


def hostile_lines(ledger: Ledger) -> st.SearchStrategy[bytes]:
    """Bytes, hostile JSON, and valid signed lines (a transfer, a send) with one field replaced by something hostile."""
    transfer, send = valid_line(ledger, "fuzz-base"), landed_send_line(ledger)

    def mutate(case: tuple[dict, str, object]) -> bytes:
        base, path, value = case
        line = json.loads(json.dumps(base))
        target = line
        *parents, last = path.split("/")
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value
        return json.dumps(line, ensure_ascii=False).encode("utf-8", "surrogatepass")

    fields = ["tx/ledger", "tx/id", "tx/kind", "tx/memo", "tx/legs/0/debit", "tx/legs/0/credit", "tx/legs/0/asset", "tx/legs/0/amount",
              "tx/legs", "tx/ref", "tx/timeout", "tx/extra", "tx/quote", "tx/travel", "signatures/0/signer", "signatures/0/sig", "signatures", "extra"]
    send_fields = ["tx/quote/id", "tx/quote/rate", "tx/quote/source", "tx/quote/expires_at", "tx/travel/originator/id",
                   "tx/travel/originator/jurisdiction", "tx/travel/beneficiary/account", "tx/travel/beneficiary", "tx/legs/4/amount", "tx/legs/1"]
    return st.one_of(
        st.binary(max_size=300),
        st.builds(lambda n: deep(n).encode(), st.integers(min_value=500, max_value=100_000)),
        st.builds(lambda n: ('{"tx": {"ledger": "x", "legs": [{"amount": ' + "9" * n + "}]}}").encode(), st.integers(min_value=20, max_value=6000)),
        json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
        st.tuples(st.just(transfer), st.sampled_from(fields), json_values).map(mutate),
        st.tuples(st.just(send), st.sampled_from(fields + send_fields), json_values).map(mutate),
        st.just(json.dumps(transfer).encode().replace(b"fuzz-base", b"fuzz\x00base")),
    )


@pytest.mark.slow
def test_the_jsonl_reader_refuses_hostile_lines_with_a_code_and_changes_nothing(fuzz_ledger: Ledger) -> None:
    seen = {"examples": 0, "posted": 0}

    @FUZZ
    @given(line=hostile_lines(fuzz_ledger))
    def check(line: bytes) -> None:
        seen["examples"] += 1
        try:
            parse_line(line)
        except LedgerError:
            pass  # refused with a code: what we want of a hostile line
        before = fingerprint(fuzz_ledger._store.url)
        result = fuzz_ledger.ingest([line])  # anything other than a result, a raised exception, fails the test
        if result.rejected:
            assert [r.line for r in result.rejected] == [1] and result.rejected[0].code.isupper()
            assert fingerprint(fuzz_ledger._store.url) == before
        else:
            seen["posted"] += result.posted

    check()
    assert fuzz_ledger.verify().ok
    record_figure("fuzz.jsonl", examples=seen["examples"], posted=seen["posted"], tracebacks=0, changes_from_refused=0)


def every_command(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    ctx = click.Context(group)
    # list_commands/get_command, not group.commands: the top-level group loads its commands lazily
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found.extend(every_command(command, (*prefix, name)))
        else:
            found.append(((*prefix, name), command))
    return found


#: Commands that only measure or draw on this machine for seconds on end; their arguments are parsed alike.
SLOW = {("bench",), ("demo",)}
COMMANDS = [(path, command) for path, command in every_command(cli) if path not in SLOW]


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[list[str], bytes | None]:
    path, command = draw(st.sampled_from(COMMANDS))
    args: list[str] = list(path)
    for param in command.params:
        if isinstance(param, click.Argument):
            count = 1 if param.nargs == 1 else draw(st.integers(0, 3))
            args.extend(draw(hostile_text) for _ in range(count))
        elif isinstance(param, click.Option) and param.name != "help" and (param.required or draw(st.integers(0, 3)) == 0):
            args.append(param.opts[0])
            if not param.is_flag:
                args.append(draw(hostile_text))
    if draw(st.integers(0, 4)) == 0:
        args.insert(draw(st.integers(0, len(args))), draw(hostile_text))  # a stray argument anywhere
    stdin = draw(st.one_of(st.none(), st.binary(max_size=200)))
    return args, stdin


@pytest.mark.slow
def test_every_cli_command_meets_hostile_arguments_with_an_error_line_and_no_change(fuzz_ledger: Ledger, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # whatever a command writes lands here
    runner = CliRunner(env={"WONLEDGER_DB": None, "WONLEDGER_KEYS": None, "WONLEDGER_KEY_PASSPHRASE": None, "WONLEDGER_DEBUG": None})
    url, keys = fuzz_ledger._store.url, str(fuzz_ledger._keys.directory)
    exits: dict[int, int] = {}
    codes: dict[str, int] = {}
    fuzz_ledger.close()

    @FUZZ
    @given(case=command_lines())
    def check(case: tuple[list[str], bytes | None]) -> None:
        args, stdin = case
        before = fingerprint(url)
        result = runner.invoke(cli, ["--db", url, "--keys", keys, *args], input=stdin)
        exits[result.exit_code] = exits.get(result.exit_code, 0) + 1
        code = result.stderr.split(": ")[1] if result.stderr.startswith("error: ") else "ok"
        codes[code] = codes.get(code, 0) + 1
        shown = f"wonledger {args!r} -> {result.exit_code}: {result.stderr[-500:]!r}"
        assert result.exception is None or isinstance(result.exception, SystemExit), shown
        assert result.exit_code in (0, 1, 2, 3), shown
        assert "Traceback" not in result.stdout + result.stderr, shown
        if result.exit_code in (1, 2):
            lines = result.stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: ") and lines[0].split(": ")[1].isupper(), shown
            assert fingerprint(url) == before, shown

    check()
    record_figure("fuzz.cli", examples=sum(exits.values()), commands=len(COMMANDS), exit_codes=exits, codes=codes, tracebacks=0, changes_from_refused=0)


@pytest.mark.parametrize(
    ("args", "stdin", "code"),
    [
        ((b"transfer", b"al\xffice", b"hanriver:dKRW.hanriver", b"1"), None, "BAD_INPUT"),
        ((b"transfer", b"alice", b"hanriver:dKRW.hanriver", b"9" * 400), None, "BAD_AMOUNT"),
        ((b"transfer", "аlice".encode(), b"hanriver:dKRW.hanriver", b"1"), None, "BAD_INPUT"),
        ((b"submit", b"-"), deep(200_000).encode() + b"\n", None),
        ((b"submit", b"-"), b'{"tx": \x00}\n\xff\xfe\n', None),
        ((b"tx", b"show", b"x" * 100_000), None, "UNKNOWN_TRANSACTION"),  # once echoed all 100,000 characters back
        ((b"balance", b"x:" * 50_000), None, "UNKNOWN_ACCOUNT"),
    ],
)
def test_hostile_bytes_through_a_real_process_get_an_error_line_and_change_nothing(sqlite_ledger_dir, args, stdin, code) -> None:
    import subprocess

    from harness import WONLEDGER, clean_env

    base = sqlite_ledger_dir("default")
    url = f"sqlite:///{base / 'wonledger.db'}"
    before = fingerprint(url)
    done = subprocess.run([WONLEDGER.encode(), b"--db", url.encode(), b"--keys", str(base / "keys").encode(), *args], input=stdin, capture_output=True, env=clean_env(), timeout=60)
    stderr = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr
    if code is None:  # submit reports each bad line by number and exits 1
        assert done.returncode == 1, stderr
    else:
        assert done.returncode == 2 and stderr.startswith(f"error: {code}: ") and len(stderr.splitlines()) == 1, stderr[:300]
        assert len(stderr) < 2100  # hostile input is not echoed back without bound
    assert fingerprint(url) == before
    assert run_wonledger(url, "verify", keys=base / "keys").exit_code == 0
