"""Statements as banks send them reconcile against the ledger: camt.053 .02/.04, camt.052, camt.054, MT940.

The files in ``bank_files/`` were written for these tests from the ISO 20022
schemas (each is validated against its official XSD here) and the usual
shape of banks' files: several statements in one message, a business
application header around the document, an IBAN, the bank's own references
on every entry, a day's payments booked as one batched entry, intraday
entries not yet booked, a single-payment notification, MT940 with ``:61:``
and ``:86:`` lines. They describe one scenario: on 1 December 2026
seoul-exports pays three invoices from its namsan account and on 2 December
alice pays it back 750,000. :func:`scenario` books exactly that in a fresh
ledger; the files' dates are moved onto the days the ledger booked them
(after the test world was made, since commit times never go back).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import xmlschema

from wonledger import AssetMismatch, BadStatement, Ledger

FILES = Path(__file__).parent / "bank_files"
SCHEMAS = Path(__file__).parents[1] / "schemas"
SEOUL = "seoul-exports:dKRW.namsan"
SAVINGS = "seoul-exports:dKRW.namsan:savings"
#: The days the files are dated; :func:`scenario` books on later days and the files are moved onto those.
FILE_DAYS = [date(2026, 11, 30) + timedelta(days=n) for n in range(5)]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Scenario:
    def __init__(self, ledger: Ledger, first_day: date, base: Path) -> None:
        self.ledger = ledger
        self.base = base
        self.days = [first_day + timedelta(days=n - 1) for n in range(5)]  # the files' 30 Nov .. 4 Dec

    def text(self, name: str) -> str:
        """A bank file with its dates moved onto the days the ledger booked the scenario."""
        text = (FILES / name).read_bytes().decode()
        for old, new in zip(FILE_DAYS, self.days, strict=True):
            text = text.replace(old.isoformat(), new.isoformat())
        if name.endswith(".sta"):  # MT940 dates: YYMMDD, and an entry date MMDD after the :61: value date
            moved = {old.strftime("%y%m%d"): new for old, new in zip(FILE_DAYS, self.days, strict=True)}
            text = re.sub(r"(:6[024][FM]?:[CD])(\d{6})", lambda m: m[1] + moved[m[2]].strftime("%y%m%d"), text)
            text = re.sub(r":61:(\d{6})(\d{4})", lambda m: ":61:" + moved[m[1]].strftime("%y%m%d") + moved[m[1]].strftime("%m%d"), text)
        return text

    def reconcile(self, text: str, account: str | None = SEOUL, **options):  # type: ignore[no-untyped-def]
        return self.ledger.statements.reconcile(io.BytesIO(text.encode()), account, **options)


@pytest.fixture
def scenario(sqlite_ledger_dir: Callable[[str], Path]) -> Scenario:
    base = sqlite_ledger_dir("default")
    first = datetime.now(UTC).date() + timedelta(days=2)
    clock = Clock(datetime.combine(first, datetime.min.time(), UTC).replace(hour=2))
    ledger = Ledger.open(f"sqlite:///{base / 'wonledger.db'}", base / "keys", clock=clock)
    ledger.registry.open_account("seoul-exports", "dKRW.namsan", label="savings")
    for owner in ("alice", "kstable"):
        ledger.registry.open_account(owner, "dKRW.namsan")
    for n, (payee, amount) in enumerate((("alice", 1_200_000), ("kstable", 3_400_000), ("alice", 560_000)), 1):
        clock.now += timedelta(minutes=1)
        ledger.payments.transfer(SEOUL, f"{payee}:dKRW.namsan", amount, tx_id=f"po-1201-{n}", memo=f"invoice {300 + n}")
    clock.now += timedelta(days=1)
    ledger.payments.transfer("alice:dKRW.namsan", SEOUL, 750_000, tx_id="rcv-1202-1", memo="refund")
    yield Scenario(ledger, first, base)
    ledger.close()


def kinds(report) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return sorted((b.kind, b.ref) for b in report.breaks)


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("namsan-camt053-v02-two-accounts.xml", "camt.053.001.02"),
        ("harbour-bah-camt053-v04-iban.xml", "camt.053.001.04"),
        ("namsan-camt052-v08-intraday.xml", "camt.052.001.08"),
        ("namsan-camt054-v08-credit.xml", "camt.054.001.08"),
    ],
)
def test_each_bank_file_is_valid_against_the_official_schema_of_its_version(name: str, schema: str) -> None:
    from xml.etree import ElementTree

    root = ElementTree.parse(FILES / name).getroot()
    document = root if root.tag.endswith("}Document") else next(e for e in root if e.tag.endswith("}Document"))
    assert document.tag == f"{{urn:iso:std:iso:20022:tech:xsd:{schema}}}Document"
    xmlschema.XMLSchema(str(SCHEMAS / f"{schema}.xsd")).validate(document)


def test_a_camt053_v02_batch_is_matched_transaction_by_transaction_and_a_bank_reference_does_not_stop_matching(scenario: Scenario) -> None:
    text = scenario.text("namsan-camt053-v02-two-accounts.xml")
    report = scenario.reconcile(text, statement_account="1002-334-556677")
    assert report.ok, report.breaks
    # the batched entry gave three items, each matched to its leg by end-to-end id; the incoming payment
    # (the bank's AcctSvcrRef and the payer's own end-to-end id, neither ours) matched by amount and date
    assert (report.matched, report.statement_entries, report.ledger_entries) == (4, 4, 4)
    assert report.statement_id == "NMS-1002334556677-20261202" and report.format == "camt.053.001.02"


def test_a_batch_whose_transactions_do_not_add_up_to_the_entry_is_a_break(scenario: Scenario) -> None:
    text = scenario.text("namsan-camt053-v02-two-accounts.xml").replace('<Amt Ccy="KRW">5160000<', '<Amt Ccy="KRW">5160500<')
    report = scenario.reconcile(text, statement_account="1002-334-556677")
    assert kinds(report) == [("amount_mismatch", "NMS261201B000417")]
    only = report.breaks[0].to_json()
    assert only["ledger"] is None and only["statement"]["batch_entry"] == -5_160_500 and only["statement"]["batch_total"] == -5_160_000
    # the three payments themselves still matched
    assert report.matched == 4


def test_a_file_of_several_statements_gives_the_one_of_the_account_and_refuses_when_none_is(scenario: Scenario) -> None:
    text = scenario.text("namsan-camt053-v02-two-accounts.xml")
    with pytest.raises(BadStatement) as refused:
        scenario.reconcile(text)  # the bank names the account 1002-334-556677, the ledger seoul-exports:dKRW.namsan
    assert "1002-334-556678, 1002-334-556677" in refused.value.message and refused.value.hint == "statement-account"  # the CLI words it: --statement-account ID or --account-map FILE
    savings = scenario.reconcile(text, SAVINGS, statement_account="1002-334-556678")
    assert savings.ok and savings.statement_id == "NMS-1002334556678-20261202" and savings.matched == 0


def test_all_reconciles_every_statement_of_the_file_against_the_account_it_maps_to(scenario: Scenario) -> None:
    text = scenario.text("namsan-camt053-v02-two-accounts.xml")
    both = {"1002-334-556677": SEOUL, "1002-334-556678": SAVINGS}
    report = scenario.reconcile(text, None, all_statements=True, account_map=both)
    assert report.ok and [s.account for s in report.statements] == [SAVINGS, SEOUL] and report.matched == 4
    with pytest.raises(BadStatement, match="1002-334-556678, which is no ledger account"):
        scenario.reconcile(text, None, all_statements=True, account_map={"1002-334-556677": SEOUL})
    # --account with --statement-account names one of them, the map the other
    mixed = scenario.reconcile(text, SAVINGS, all_statements=True, statement_account="1002-334-556678", account_map={"1002-334-556677": SEOUL})
    assert mixed.ok and [s.account for s in mixed.statements] == [SAVINGS, SEOUL]
    # a break says whose it is when the file held several statements (a closing its entries do not add up to)
    broken = scenario.reconcile(text.replace(">1995590000<", ">1995590001<", 1), None, all_statements=True, account_map=both)
    assert [(b.kind, b.ref, b.account) for b in broken.breaks] == [("unbalanced_statement", "NMS-1002334556677-20261202", SEOUL)]


def test_a_statement_in_an_envelope_with_an_iban_reconciles_through_the_account_map(scenario: Scenario) -> None:
    text = scenario.text("harbour-bah-camt053-v04-iban.xml")
    with pytest.raises(BadStatement, match="GB29NWBK60161331926819"):
        scenario.reconcile(text)
    # an IBAN may be written in groups of four in the map
    report = scenario.reconcile(text, account_map={"GB29 NWBK 6016 1331 9268 19": SEOUL})
    assert report.ok and report.matched == 4 and report.statement_account == "GB29NWBK60161331926819"


def test_an_entry_in_another_currency_never_pairs_by_amount(scenario: Scenario) -> None:
    text = scenario.text("harbour-bah-camt053-v04-iban.xml").replace('<camt:Amt Ccy="KRW">750000', '<camt:Amt Ccy="USD">750000')
    report = scenario.reconcile(text, statement_account="GB29NWBK60161331926819")
    # an entry in another currency is a break of its own kind; with only the bank's reference it names no leg
    assert kinds(report) == [("asset_mismatch", "HB-20261202-8C1X04"), ("missing_in_statement", "rcv-1202-1")]
    # a statement whose account is in another currency is refused outright
    with pytest.raises(AssetMismatch):
        scenario.reconcile(text.replace("<camt:Ccy>KRW</camt:Ccy>", "<camt:Ccy>HKD</camt:Ccy>"), statement_account="GB29NWBK60161331926819")


def test_an_intraday_camt052_matches_what_is_booked_and_skips_what_is_pending(scenario: Scenario) -> None:
    report = scenario.reconcile(scenario.text("namsan-camt052-v08-intraday.xml"), statement_account="1002-334-556677")
    assert report.ok and report.format == "camt.052.001.08"
    assert (report.matched, report.skipped) == (1, 2)  # the PDNG and the INFO entries are not booked yet


def test_a_camt054_notification_matches_its_payment_and_reports_no_other_leg_missing(scenario: Scenario) -> None:
    text = scenario.text("namsan-camt054-v08-credit.xml")
    report = scenario.reconcile(text, statement_account="1002-334-556677")
    # the other legs around it (the three payments, the account's funding) are not breaks of a notification
    assert report.ok and report.matched == 1 and report.unreported == report.ledger_entries - 1 >= 3
    wrong = scenario.reconcile(text.replace(">750000<", ">750001<"), statement_account="1002-334-556677")
    assert kinds(wrong) == [("missing_in_ledger", "ALC-REFUND-0042")]


def test_an_mt940_file_reconciles_with_the_same_matching_and_breaks(scenario: Scenario) -> None:
    text = scenario.text("namsan-mt940.sta")
    report = scenario.reconcile(text, statement_account="1002-334-556677")
    assert report.ok and report.format == "MT940" and report.matched == 4 and report.statement_id == "NMS261202556677"
    # the bank booked 900 more, and its closing balance says so: one break, the payment's
    edited = text.replace("D3400000,NTRFpo-1201-2", "D3400900,NTRFpo-1201-2").replace("KRW1995590000,", "KRW1995589100,")
    assert kinds(scenario.reconcile(edited, statement_account="1002-334-556677")) == [("amount_mismatch", "po-1201-2")]
    # the incoming payment (NONREF, the bank's reference only) pairs by amount and date; moved two days, it cannot
    on_day = lambda n: scenario.days[n].strftime("%y%m%d%m%d")  # noqa: E731  (a :61: value date and entry date)
    late = text.replace(f":61:{on_day(2)}C750000", f":61:{on_day(4)}C750000")
    assert late != text
    assert kinds(scenario.reconcile(late, statement_account="1002-334-556677")) == [
        ("missing_in_ledger", "NMS1202C000988"),
        ("missing_in_statement", "rcv-1202-1"),
    ]
    all_of_it = scenario.reconcile(text, None, all_statements=True, account_map={"1002-334-556677": SEOUL, "1002-334-556678": SAVINGS})
    assert all_of_it.ok and len(all_of_it.statements) == 2


def wonledger(scenario: Scenario, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script as a user runs it, on the scenario's ledger."""
    command = [str(Path(sys.executable).parent / "wonledger"), "--db", f"sqlite:///{scenario.base / 'wonledger.db'}", "--keys", str(scenario.base / "keys")]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)


def test_the_command_reads_bank_files_with_the_account_options_and_refuses_another_accounts_statement(scenario: Scenario, tmp_path: Path) -> None:
    mt940 = tmp_path / "namsan.sta"
    mt940.write_text(scenario.text("namsan-mt940.sta"))
    clean = wonledger(scenario, "reconcile", str(mt940), "--account", SEOUL, "--statement-account", "1002-334-556677")
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.startswith("clean: 4 matched, 0 break(s)")
    camt = tmp_path / "namsan.xml"
    camt.write_text(scenario.text("namsan-camt053-v02-two-accounts.xml"))
    refused = wonledger(scenario, "reconcile", str(camt), "--account", SEOUL)
    assert refused.returncode == 2 and refused.stderr.startswith("error: BAD_STATEMENT: the file holds no statement of seoul-exports:dKRW.namsan")
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(f'[accounts]\n"1002-334-556677" = "{SEOUL}"\n"1002-334-556678" = "{SAVINGS}"\n')
    both = wonledger(scenario, "--json", "reconcile", str(camt), "--all", "--account-map", str(accounts))
    assert both.returncode == 0, both.stderr
    report = __import__("json").loads(both.stdout)
    assert report["matched"] == 4 and report["breaks"] == [] and [s["account"] for s in report["statements"]] == [SAVINGS, SEOUL]
    camt.write_text(scenario.text("namsan-camt053-v02-two-accounts.xml").replace('<Amt Ccy="KRW">5160000<', '<Amt Ccy="KRW">5160500<'))
    broken = wonledger(scenario, "reconcile", str(camt), "--all", "--account-map", str(accounts))
    assert broken.returncode == 3
    lines = broken.stdout.splitlines()
    assert lines[2:4] == ["1 break by kind:", "  amount_mismatch              1"]
    assert "entry 1 of -5,160,500 whose transactions add up to -5,160,000" in broken.stdout
