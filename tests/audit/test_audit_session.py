"""The audit works through a narrow session, reads what it needs once, and knows statement formats from one table."""

from __future__ import annotations

import ast
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wonledger import Ledger
from wonledger.statements.formats import FORMATS, detect_format, writable

LEDGER = Path(__file__).resolve().parents[2] / "ledger"


def _imported(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (TYPE_CHECKING blocks and function bodies too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_nothing_under_audit_statements_or_flows_imports_the_facade() -> None:
    for part in ("audit", "statements", "flows"):
        for path in (LEDGER / part).rglob("*.py"):
            assert not any(m == "wonledger.service" or m.startswith("wonledger.service.") for m in _imported(path)), path


def test_the_format_modules_import_the_statement_values_never_the_door() -> None:
    readers = {f"wonledger.statements.{f.module}" for f in FORMATS}
    for path in (LEDGER / "statements").glob("*.py"):
        imported = _imported(path)
        if path.stem != "formats":
            assert "wonledger.statements.formats" not in imported, path
        if path.stem == "statement":
            assert not imported & readers, path  # the values module imports no reader: no cycle


def test_every_row_of_the_table_has_its_reader_and_writer() -> None:
    assert writable() == ("camt053", "csv")  # statement --format's choices
    assert len({f.name for f in FORMATS}) == len(FORMATS)
    for f in FORMATS:
        assert callable(f.reader())
        if f.writes:
            assert callable(f.writer())


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"\xef\xbb\xbf\n  <?xml version='1.0'?><Document", "camt053"),
        (b"{1:F01BANKKRSEAXXX0000000000}{4:\r\n:20:", "mt940"),
        (b":20:STMT-1\r\n:25:1002", "mt940"),
        (b"record,account,asset,currency,amount", "csv"),
    ],
)
def test_a_file_is_told_by_its_first_bytes(head: bytes, name: str) -> None:
    assert detect_format(head).name == name


def test_the_cli_offers_the_tables_formats() -> None:
    from wonledger_cli.commands.audit import statement

    (option,) = [p for p in statement.params if p.name == "fmt"]
    assert tuple(option.type.choices) == writable()  # type: ignore[attr-defined]


@pytest.fixture
def sqlite_ledger(sqlite_ledger_dir: Callable[[str], Path]) -> Iterator[Ledger]:
    base = sqlite_ledger_dir("default")
    ledger = Ledger.open(f"sqlite:///{base / 'wonledger.db'}", base / "keys")
    yield ledger
    ledger.close()


def _count_reads(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    store, reading, count = ledger._store, ledger._store.reading, [0]

    def counted(work):  # type: ignore[no-untyped-def]
        count[0] += 1
        return reading(work)

    monkeypatch.setattr(store, "reading", counted)
    return count


def test_statement_export_is_one_read_and_its_pages(sqlite_ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    account = max(sqlite_ledger.registry.accounts(), key=lambda a: a.credits_posted).id
    upto = sqlite_ledger.info().transactions
    count = _count_reads(sqlite_ledger, monkeypatch)
    list(sqlite_ledger._store.stream_account_legs(account, None, None, upto, with_memo=True))
    pages, count[0] = count[0], 0
    sqlite_ledger.statements.write(account, "csv", io.StringIO())
    assert count[0] == 1 + pages


def test_reconcile_reads_an_account_map_of_any_length_in_one_read(sqlite_ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = [a.id for a in sqlite_ledger.registry.accounts()]
    account = max(sqlite_ledger.registry.accounts(), key=lambda a: a.credits_posted).id
    out = io.StringIO()
    sqlite_ledger.statements.write(account, "csv", out)
    data = out.getvalue().encode()
    count = _count_reads(sqlite_ledger, monkeypatch)
    reads = []
    for mapped in (accounts[:1], accounts):
        count[0] = 0
        report = sqlite_ledger.statements.reconcile(io.BytesIO(data), account, account_map={f"KR{n:020}": a for n, a in enumerate(mapped)})
        assert report.ok
        reads.append(count[0])
    assert len(accounts) > 5 and 0 < reads[0] == reads[1]


def test_results_say_whether_they_are_ok(sqlite_ledger: Ledger) -> None:
    assert sqlite_ledger.reports.trial_balance().ok
    assert sqlite_ledger.reports.trial_balance().to_json()["balanced"] is True
    assert sqlite_ledger.verify().ok
