"""The camt.053 wonledger writes is valid against the official ISO 20022 schema, whatever the ledger holds.

The schema is ISO 20022's camt.053.001.08 (``tests/schemas/``, with its
notice); ``xmlschema`` checks every statement here. Ids up to the wire's 128
characters and account ids with long labels do not fit ISO 20022's 35 and 34:
they are written as a stable short reference with the full id beside it,
and read back whole.
"""

from __future__ import annotations

import hashlib
import io
from datetime import date, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from wonledger import Ledger
from wonledger.statements import camt053, csvfile
from wonledger.statements.formats import read_statement
from wonledger.statements.statement import StatementEntry, StatementHeader, short_ref, uetr_for

SCHEMA_FILE = Path(__file__).parents[1] / "schemas" / "camt.053.001.08.xsd"
SCHEMA = xmlschema.XMLSchema(str(SCHEMA_FILE))
NS = {"c": camt053.NAMESPACE}
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", fullmatch=True)
#: memos as the wire takes them: up to 1,000 characters of any kind but NUL
memos = st.text(st.characters(blacklist_characters="\x00"), max_size=1000)


def export(ledger: Ledger, account: str, fmt: str = "camt053", **period: str) -> str:
    out = io.StringIO()
    ledger.statements.write(account, fmt, out, **period)
    return out.getvalue()


def test_the_schema_shipped_for_statement_validate_is_the_one_the_tests_use() -> None:
    from importlib.resources import files

    shipped = files("wonledger_fixtures").joinpath("schemas", "camt.053.001.08.xsd").read_bytes()
    assert shipped == SCHEMA_FILE.read_bytes()
    notice = (SCHEMA_FILE.parent / "NOTICE").read_text()
    assert hashlib.sha256(shipped).hexdigest() in notice


@settings(max_examples=40, deadline=None)
@given(
    account=st.tuples(ids, ids).map(lambda p: f"{p[0][:40]}:{p[1][:40]}"),
    entries=st.lists(st.tuples(ids, memos, st.integers(1, 2**53 - 1), st.booleans(), st.sampled_from(["transfer", "pay", "send", "swap", "reversal"])), max_size=6),
    exponent=st.sampled_from([0, 2]),
    opening=st.integers(-(2**53) + 1, 2**53 - 1),
)
def test_every_statement_is_valid_against_camt_053_001_08_whatever_its_ids_memos_and_amounts(account, entries, exponent, opening) -> None:  # type: ignore[no-untyped-def]
    day = "2026-12-01"
    header = StatementHeader(
        account=account, currency="KRW", asset="dKRW.hanriver", from_date=day, to_date=day, opening=opening, closing=opening,
        statement_id=short_ref("S" + account), message_id=short_ref("M" + account), sequence=len(entries),
    )
    made = [
        StatementEntry(amount, credit, "KRW", day, day, servicer_ref=f"wl-0123456789ab:{n}:0", end_to_end_id=tx_id,
                       uetr=uetr_for("wl-0123456789ab", tx_id), kind=kind, memo=memo or None)
        for n, (tx_id, memo, amount, credit, kind) in enumerate(entries, 1)
    ]
    out = io.StringIO()
    camt053.write(out, header, made, exponent, "2026-12-01T09:00:00Z")
    SCHEMA.validate(io.StringIO(out.getvalue()))
    # and read back, every id is whole again and every memo is there
    reader = read_statement(io.BytesIO(out.getvalue().encode()), exponent)
    back = list(reader)
    assert reader.header.account == account
    assert [(e.end_to_end_id, e.amount, e.credit) for e in back] == [(e.end_to_end_id, e.amount, e.credit) for e in made]
    assert [e.memo for e in back] == [camt053.remittance_text(e.memo).strip() or None if e.memo else None for e in made]


@sqlite_only
def test_long_transaction_and_account_ids_are_shortened_stably_and_reconcile_clean(ledger: Ledger) -> None:
    long_label = "operating-account-for-supplier-payments-in-won"
    account = ledger.registry.open_account("seoul-exports", "dKRW.hanriver", label=long_label).id
    assert len(account) > 34
    ledger.payments.transfer("alice:dKRW.hanriver", account, 70_000, tx_id="x" * 128, memo="m" * 1000)
    ledger.payments.transfer(account, "alice:dKRW.hanriver", 20_000, tx_id="invoice-2026-12-000001-supplier-seoul-exports-busan", memo="back")
    text = export(ledger, account)
    SCHEMA.validate(io.StringIO(text))
    root = ElementTree.fromstring(text)
    stmt = root.find("c:BkToCstmrStmt/c:Stmt", NS)
    short_account = stmt.findtext("c:Acct/c:Id/c:Othr/c:Id", namespaces=NS)
    assert short_account == short_ref(account, 34) and len(short_account) == 34
    assert stmt.findtext("c:AddtlStmtInf", namespaces=NS) == account
    details = [n.find("c:NtryDtls/c:TxDtls", NS) for n in stmt.findall("c:Ntry", NS)]
    e2e = [d.findtext("c:Refs/c:EndToEndId", namespaces=NS) for d in details]
    assert e2e == [short_ref("x" * 128), short_ref("invoice-2026-12-000001-supplier-seoul-exports-busan")]
    assert all(len(e) == 35 for e in e2e)
    assert [d.findtext("c:AddtlTxInf", namespaces=NS) for d in details] == ["x" * 128, "invoice-2026-12-000001-supplier-seoul-exports-busan"]
    # the memo of 1,000 characters is in RmtInf/Ustrd, 140 characters a line
    lines = [u.text for u in details[0].findall("c:RmtInf/c:Ustrd", NS)]
    assert "".join(lines) == "m" * 1000 and max(len(u) for u in lines) == 140
    # the same statement exported again is the same file but for its creation time: the references are stable
    assert short_account in export(ledger, account)
    report = ledger.statements.reconcile(io.BytesIO(text.encode()), account)
    assert report.ok and report.matched == 2


@sqlite_only
def test_each_statement_has_its_own_message_and_statement_id_and_the_fields_cbpr_plus_asks_for(ledger: Ledger) -> None:
    ledger.registry.open_account("seoul-exports", "dKRW.hanriver")
    ledger.payments.transfer("alice:dKRW.hanriver", "seoul-exports:dKRW.hanriver", 1_000, tx_id="inv-1", memo="invoice 1")
    today = date.today()
    statements = {
        "alice": export(ledger, "alice:dKRW.hanriver"),
        "seoul": export(ledger, "seoul-exports:dKRW.hanriver"),
        "alice earlier": export(ledger, "alice:dKRW.hanriver", since=(today - timedelta(days=9)).isoformat(), until=(today - timedelta(days=2)).isoformat()),
    }
    ids = set()
    for text in statements.values():
        SCHEMA.validate(io.StringIO(text))
        root = ElementTree.fromstring(text)
        stmt = root.find("c:BkToCstmrStmt/c:Stmt", NS)
        ids |= {root.findtext("c:BkToCstmrStmt/c:GrpHdr/c:MsgId", namespaces=NS), stmt.findtext("c:Id", namespaces=NS)}
        assert stmt.findtext("c:CreDtTm", namespaces=NS).endswith("+00:00")
        assert root.findtext("c:BkToCstmrStmt/c:GrpHdr/c:CreDtTm", namespaces=NS).endswith("+00:00")
        assert stmt.findtext("c:StmtPgntn/c:PgNb", namespaces=NS) == "1" and stmt.findtext("c:StmtPgntn/c:LastPgInd", namespaces=NS) == "true"
        assert int(stmt.findtext("c:ElctrncSeqNb", namespaces=NS)) == ledger.info().transactions
    assert len(ids) == 6  # two per statement, none shared
    stmt = ElementTree.fromstring(statements["seoul"]).find("c:BkToCstmrStmt/c:Stmt", NS)
    inv = next(n for n in stmt.findall("c:Ntry", NS) if n.findtext("c:NtryDtls/c:TxDtls/c:Refs/c:EndToEndId", namespaces=NS) == "inv-1")
    code = inv.find("c:BkTxCd", NS)
    assert [code.findtext(p, namespaces=NS) for p in ("c:Domn/c:Cd", "c:Domn/c:Fmly/c:Cd", "c:Domn/c:Fmly/c:SubFmlyCd", "c:Prtry/c:Cd")] == [
        "PMNT", "RCDT", "BOOK", "transfer",
    ]
    assert inv.findtext("c:NtryDtls/c:TxDtls/c:RmtInf/c:Ustrd", namespaces=NS) == "invoice 1"
    alice = ElementTree.fromstring(statements["alice"]).find("c:BkToCstmrStmt/c:Stmt", NS)
    paid = next(n for n in alice.findall("c:Ntry", NS) if n.findtext("c:NtryDtls/c:TxDtls/c:Refs/c:EndToEndId", namespaces=NS) == "inv-1")
    assert paid.findtext("c:BkTxCd/c:Domn/c:Fmly/c:Cd", namespaces=NS) == "ICDT"


@sqlite_only
def test_the_csv_statement_has_a_memo_column(ledger: Ledger) -> None:
    ledger.registry.open_account("seoul-exports", "dKRW.hanriver")
    ledger.payments.transfer("alice:dKRW.hanriver", "seoul-exports:dKRW.hanriver", 1_000, tx_id="inv-2", memo='invoice 2, "urgent"')
    text = export(ledger, "alice:dKRW.hanriver", "csv")
    assert text.splitlines()[0].split(",")[-1] == "memo"
    assert [e.memo for e in read_statement(io.BytesIO(text.encode()), 0) if e.end_to_end_id == "inv-2"] == ['invoice 2, "urgent"']
    header = StatementHeader(account="a:b", currency="KRW")
    out = io.StringIO()
    csvfile.write(out, header, [], 0)
    assert out.getvalue().startswith("record,account,asset,currency,amount,credit_debit")
