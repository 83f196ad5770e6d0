"""statement, reconcile and report trial-balance as a user types them; untrusted XML refused.

Exit codes: 0 clean, 3 breaks, 2 bad input (a malformed, foreign or unsafe
file among them). The XML attacks run as real processes with a timeout: a
parser that expanded the bomb or opened the external entity (a FIFO nobody
writes to) would hang or blow up instead of answering.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.cli.conftest import Ledger

ALICE = "alice:dKRW.hanriver"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt><Id>&lol9;</Id></Stmt></BkToCstmrStmt></Document>
"""


def external_entity(target: Path) -> str:
    return (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{target}">]>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>'
        "<Id>&x;</Id></Stmt></BkToCstmrStmt></Document>\n"
    )


@pytest.fixture
def paid(wl: Ledger) -> Ledger:
    wl("account", "open", "seoul-exports", "dKRW.hanriver").ok()
    wl("transfer", "alice", "seoul-exports", "250000", "--id", "inv-7").ok()
    wl("transfer", "alice", "seoul-exports", "1000", "--id", "inv-8").ok()
    return wl


@pytest.mark.parametrize("fmt", ["camt053", "csv"])
def test_a_statement_written_to_a_file_reconciles_clean(paid: Ledger, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"alice.{fmt}"
    written = paid("statement", "alice", "--format", fmt, "--out", str(out)).ok()
    assert f"wrote {out}" in written.stdout and "3 entries" in written.stdout
    clean = paid("reconcile", str(out), "--account", "alice").ok()
    assert clean.stdout.startswith("clean: 3 matched, 0 break(s)")
    as_json = paid("--json", "reconcile", str(out), "--account", ALICE).ok().json()
    assert as_json["matched"] == 3 and as_json["breaks"] == []


def test_the_statement_goes_to_stdout_without_out(paid: Ledger) -> None:
    csv = paid("statement", "alice", "--format", "csv").ok().stdout
    assert csv.splitlines()[0].startswith("record,account,asset,currency,amount,credit_debit")
    assert sum(1 for line in csv.splitlines() if line.startswith("NTRY,")) == 3


def test_breaks_exit_3_with_the_json_shape_of_the_design(paid: Ledger, tmp_path: Path) -> None:
    good = paid("statement", "alice", "--format", "csv").ok().stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(line for line in good.splitlines() if ",inv-8," not in line) + "\n")
    run = paid("--json", "reconcile", str(bad), "--account", "alice")
    assert run.exit_code == 3, run.stderr
    report = run.json()
    assert report["matched"] == 2
    assert [(b["kind"], b["ref"]) for b in report["breaks"]] == [("missing_in_statement", "inv-8")]
    only = report["breaks"][0]
    assert set(only) == {"kind", "ref", "ledger", "statement"}
    assert only["statement"] is None and only["ledger"]["amount"] == 1000 and only["ledger"]["credit_debit"] == "DBIT"
    table = paid("reconcile", str(bad), "--account", "alice")
    assert table.exit_code == 3 and "missing_in_statement" in table.stdout and "inv-8" in table.stdout


def test_a_billion_laughs_is_refused_with_exit_2(sh: Ledger) -> None:
    bomb = sh.cwd / "bomb.xml"
    bomb.write_text(BILLION_LAUGHS)
    run = sh("reconcile", str(bomb), "--account", "alice")
    message = run.error("BAD_STATEMENT", exit_code=2)
    assert "DTD" in message


def test_an_external_entity_is_refused_without_opening_the_file_it_names(sh: Ledger) -> None:
    # A FIFO nobody writes to: opening it for reading would block, so the command would time out.
    trap = sh.cwd / "trap"
    os.mkfifo(trap)
    attack = sh.cwd / "xxe.xml"
    attack.write_text(external_entity(trap))
    run = sh("reconcile", str(attack), "--account", "alice")
    run.error("BAD_STATEMENT", exit_code=2)
    secret = sh.cwd / "secret.txt"
    secret.write_text("top secret")
    attack.write_text(external_entity(secret))
    run = sh("--json", "reconcile", str(attack), "--account", "alice")
    assert "top secret" not in run.stdout + run.stderr
    run.error("BAD_STATEMENT", exit_code=2)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08"><BkToCstmrAcctRpt/></Document>', "camt.052"),
        ("<html><body>a web page</body></html>", "<html>"),
        ('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>', "not well-formed"),
        ("date,description,amount\n2026-01-01,coffee,4.50\n", "lacks the column"),
        ("record,amount,credit_debit,booking_date\nNTRY,12.5,CRDT,2026-01-01\n", "more decimals"),
        ("record,amount,credit_debit,booking_date\nNTRY,12,SIDEWAYS,2026-01-01\n", "credit_debit"),
        ("record,amount,credit_debit,booking_date\nNTRY,12,CRDT,yesterday\n", "not a date"),
        ("", "empty"),
    ],
)
def test_a_malformed_or_foreign_file_gets_a_clear_error_and_exit_2(paid: Ledger, tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "statement"
    path.write_text(content)
    message = paid("reconcile", str(path), "--account", "alice").error("BAD_STATEMENT", exit_code=2)
    assert says in message


def test_a_missing_file_or_unknown_account_is_bad_input(paid: Ledger, tmp_path: Path) -> None:
    paid("reconcile", str(tmp_path / "nope.xml"), "--account", "alice").error("BAD_INPUT", exit_code=2)
    statement = tmp_path / "s.csv"
    statement.write_text(paid("statement", "alice", "--format", "csv").ok().stdout)
    paid("reconcile", str(statement), "--account", "nobody:KRWS").error("UNKNOWN_ACCOUNT", exit_code=2)
    paid("statement", "alice", "--format", "pdf").error("BAD_INPUT", exit_code=2)


def test_the_trial_balance_balances_and_exits_3_when_counters_were_edited(paid: Ledger) -> None:
    paid("transfer", "alice", "hanriver:dKRW.hanriver", "5000", "--hold", "--id", "h-1").ok()
    report = paid("--json", "report", "trial-balance").ok().json()
    assert report["balanced"] is True
    row = next(r for r in report["assets"] if r["asset"] == "dKRW.hanriver")
    assert row["debits_posted"] == row["credits_posted"] == row["journal_posted"]
    assert row["debits_pending"] == row["credits_pending"] == row["journal_pending"] == 5000
    with sqlite3.connect(paid.base / "wonledger.db") as db:
        db.execute("UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = ?", (ALICE,))
    run = paid("report", "trial-balance")
    assert run.exit_code == 3 and "UNBALANCED" in run.stdout


def test_a_proof_checks_offline_in_a_directory_with_no_ledger_and_a_tampered_one_fails(paid: Ledger, process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    paid("proof", "inv-7").error("BAD_INPUT", exit_code=2)  # no checkpoint yet: says so
    made = paid("--json", "checkpoint").ok().json()
    assert made["new"] is True and made["seq"] == paid.read("--json", "info").json()["transactions"]
    assert paid("--json", "checkpoint").ok().json()["new"] is False
    proof = paid("proof", "inv-7").ok().stdout
    elsewhere = tmp_path / "auditor"
    elsewhere.mkdir()
    (elsewhere / "inv-7.json").write_text(proof)
    good = process("verify-proof", "inv-7.json", "--operator-key", made["operator_key"], cwd=elsewhere).ok()
    assert "the proof holds: inv-7" in good.stdout
    assert sorted(p.name for p in elsewhere.iterdir()) == ["inv-7.json"]  # no database was made or needed
    (elsewhere / "tampered.json").write_text(proof.replace('"amount": 250000', '"amount": 2500000'))
    bad = process("--json", "verify-proof", "tampered.json", cwd=elsewhere)
    assert bad.exit_code == 3 and bad.json()["ok"] is False
    assert "signature of alice does not verify" in bad.json()["problems"][0]
    (elsewhere / "junk.json").write_text("this is not json")
    process("verify-proof", "junk.json", cwd=elsewhere).error("BAD_STATEMENT", exit_code=2)


def test_proof_out_writes_the_file(paid: Ledger, tmp_path: Path) -> None:
    paid("checkpoint").ok()
    out = tmp_path / "p.json"
    paid("proof", "inv-8", "--out", str(out)).ok()
    assert paid("verify-proof", str(out)).ok().stdout.count("ok: ") == 4


def test_statement_json_summarises_the_file_it_wrote_and_needs_out(paid: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "today.xml"
    today = paid.tx("inv-7")["at"][:10]
    summary = paid("--json", "statement", "alice", "--from", today, "--to", today, "--out", str(out)).ok().json()
    assert summary["entries"] == 3 and summary["from"] == summary["to"] == today
    assert summary["opening"] == 0 and summary["closing"] == 5_000_000 - 251_000
    paid("--json", "statement", "alice").error("BAD_INPUT", exit_code=2)
    paid("statement", "alice", "--from", "yesterday").error("BAD_INPUT", exit_code=2)


@pytest.mark.slow
@pytest.mark.postgres
def test_on_postgresql_statement_reconcile_checkpoint_and_proof_work_as_processes(pg_database, process, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = ("--db", pg_database(), "--keys", str(tmp_path / "keys"))
    process(*base, "init", cwd=tmp_path).ok()
    process(*base, "transfer", ALICE, "hanriver:dKRW.hanriver", "1,000", "--id", "pg-1", cwd=tmp_path).ok()
    process(*base, "statement", "alice", "--format", "camt053", "--out", "alice.xml", cwd=tmp_path).ok()
    clean = process(*base, "--json", "reconcile", "alice.xml", "--account", "alice", cwd=tmp_path).ok().json()
    assert (clean["matched"], clean["breaks"]) == (2, [])
    assert process(*base, "--json", "report", "trial-balance", cwd=tmp_path).ok().json()["balanced"] is True
    key = process(*base, "--json", "checkpoint", cwd=tmp_path).ok().json()["operator_key"]
    (tmp_path / "pg-1.json").write_text(process(*base, "proof", "pg-1", cwd=tmp_path).ok().stdout)
    process("verify-proof", "pg-1.json", "--operator-key", key, cwd=tmp_path).ok()
    assert process(*base, "--json", "verify", cwd=tmp_path).ok().json()["ok"] is True


def test_statement_validate_checks_the_file_against_the_iso_20022_schema(paid: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "alice.xml"
    run = paid("statement", "alice", "--out", str(out), "--validate").ok()
    assert "valid against the ISO 20022 schema camt.053.001.08" in run.stdout
    as_json = paid("--json", "statement", "alice", "--out", str(out), "--validate").ok().json()
    assert as_json["valid"] is True and as_json["problems"] == [] and as_json["schema"] == "camt.053.001.08"
    paid("statement", "alice", "--validate").error("BAD_INPUT", exit_code=2)  # to stdout: nothing to check
    paid("statement", "alice", "--format", "csv", "--out", str(tmp_path / "a.csv"), "--validate").error("BAD_INPUT", exit_code=2)


def test_statement_validate_names_the_extra_to_install_when_xmlschema_is_missing(sh: Ledger) -> None:
    import subprocess
    import sys

    # the console script's own entry point, in a Python where importing xmlschema fails
    code = (
        "import sys; sys.modules['xmlschema'] = None; "
        "sys.argv = ['wonledger', 'statement', 'alice', '--out', 'alice.xml', '--validate']; "
        "from wonledger_cli.main import main; main()"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_")}
    env |= {"WONLEDGER_DB": sh.db, "WONLEDGER_KEYS": str(sh.keys)}
    done = subprocess.run([sys.executable, "-c", code], cwd=sh.cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "error: BAD_INPUT: checking a statement against the ISO 20022 schema needs xmlschema: pip install 'wonledger[validate]'"
    assert (sh.cwd / "alice.xml").exists()  # the statement itself was written


def test_the_report_gives_the_breaks_by_kind_first_and_max_breaks_bounds_the_list(paid: Ledger, tmp_path: Path) -> None:
    good = paid("statement", "alice", "--format", "csv").ok().stdout
    lines = good.splitlines()
    kept = [line for line in lines if ",inv-7," not in line and ",inv-8," not in line]
    foreign = next(line for line in lines if ",inv-8," in line).replace(",inv-8,", ",theirs-1,").split(",")
    foreign[9] = foreign[11] = ""  # no servicer reference, no UETR: a payment the ledger never made
    foreign[4] = "999"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*kept, ",".join(foreign)]) + "\n")
    run = paid("reconcile", str(bad), "--account", "alice", "--max-breaks", "1")
    assert run.exit_code == 3
    out = run.stdout.splitlines()
    assert out[0] == "3 breaks by kind:"
    assert out[1].split() == ["missing_in_statement", "2"] and out[2].split() == ["missing_in_ledger", "1"]
    # in the order found: the entry no leg could pair with is known first, the legs the statement lacks at its end
    assert out[3] == "breaks:" and out[4].startswith("  missing_in_ledger     theirs-1") and out[5].startswith("  ... and 2 more")
    assert "... and 2 more (--max-breaks 1; --json for all)" in run.stdout
    assert out[-1].startswith("1 matched, 3 break(s)")
    report = paid("--json", "reconcile", str(bad), "--account", "alice", "--max-breaks", "1")
    assert report.exit_code == 3
    data = report.json()
    assert len(data["breaks"]) == 1 and data["break_count"] == 3
    assert data["summary"] == {"missing_in_ledger": 1, "missing_in_statement": 2}
    paid("reconcile", str(bad)).error("BAD_INPUT", exit_code=2)  # neither --account nor --all


def test_a_failed_statement_out_leaves_the_file_it_was_pointed_at_as_it_was(paid: Ledger, tmp_path: Path) -> None:
    folder = tmp_path / "statements"
    folder.mkdir()
    out = folder / "alice.csv"
    out.write_text("last month's statement\n")
    out.chmod(0o640)
    paid("statement", "alcie", "--format", "csv", "--out", str(out)).error("UNKNOWN_PARTICIPANT", exit_code=2)
    assert out.read_text() == "last month's statement\n"
    paid("statement", "alice", "--from", "2026-13-01", "--out", str(out)).error("BAD_INPUT", exit_code=2)
    assert out.read_text() == "last month's statement\n"
    assert sorted(p.name for p in folder.iterdir()) == ["alice.csv"]  # no temporary file left beside it
    paid("statement", "alice", "--format", "csv", "--out", str(out)).ok()
    assert out.read_text().startswith("record,account") and (out.stat().st_mode & 0o777) == 0o640  # replaced whole, its mode kept
    assert sorted(p.name for p in folder.iterdir()) == ["alice.csv"]
    paid("statement", "alice", "--out", str(folder / "no-such-dir" / "a.xml")).error("BAD_INPUT", exit_code=2)
    paid("statement", "alice", "--out", str(folder)).error("BAD_INPUT", exit_code=2)


def test_a_memo_that_starts_with_equals_reaches_the_csv_as_text(paid: Ledger, tmp_path: Path) -> None:
    paid("transfer", "alice", "seoul-exports", "10", "--id", "inv-9", "--memo", "=cmd|' /c calc'!A1").ok()
    csv = paid("statement", "seoul-exports:dKRW.hanriver", "--format", "csv").ok().stdout
    line = next(row for row in csv.splitlines() if ",inv-9," in row)
    assert line.endswith(",'=cmd|' /c calc'!A1")
    statement = tmp_path / "s.csv"
    statement.write_text(csv)
    report = paid("--json", "reconcile", str(statement), "--account", "seoul-exports:dKRW.hanriver").ok().json()
    assert report["matched"] == 3 and report["breaks"] == []


def test_reconcile_says_which_days_it_compared(paid: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "alice.xml"
    paid("statement", "alice", "--out", str(out)).ok()
    text = paid("reconcile", str(out), "--account", "alice").ok().stdout
    assert re.fullmatch(r"clean: 3 matched, 0 break\(s\); 3 statement entries, 3 ledger legs booked \d{4}-\d\d-\d\d\n", text)
    report = paid("--json", "reconcile", str(out), "--account", "alice").ok().json()
    assert set(report["period"]) == {"from", "to"} and report["period"]["from"] == report["period"]["to"]


def test_a_broken_mt940_is_refused_naming_the_line(paid: Ledger, tmp_path: Path) -> None:
    bad = tmp_path / "bank.sta"
    bad.write_text("{1:F01HANRKRSEAXXX0000000000}{4:\n:20:X\n:25:alice:dKRW.hanriver\n:28C:1\n:61:2612011201D1,NTRFNONREF\n-}\n")
    message = paid("reconcile", str(bad), "--account", "alice").error("BAD_STATEMENT", exit_code=2)
    assert message.startswith("MT940 line 5: expected the opening balance :60F:")
