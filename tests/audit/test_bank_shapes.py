"""Bank files in the shapes of twelve banks' exports: each is read as a person reading it finds, and reconciles against a ledger.

:mod:`tests.audit.bank_shapes` says, file by file, what each of
``bank_files/`` holds (written out by hand). The reader must give exactly
that: accounts, currencies, ids, balances and their dates, the days each
statement covers, and each entry's dates, signed amount and references.

Then a ledger is given exactly a file's payments: an account for each of
its statement accounts (the right asset for its currency), funded to its
first opening balance the day before, and each booked entry as a transfer
on its day, its end-to-end id as the transaction id where that is one.
The file, its dates moved onto the ledger's days, must reconcile clean
against it; and against a ledger that lacks one of its payments, with
exactly one break: that payment, missing in the ledger (the closing balance
it leaves different, and the next day's opening, are that break's, not
breaks of their own).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
import xmlschema

from tests.audit.bank_shapes import FILES, BankFile, E
from wonledger import Ledger
from wonledger.domain.model import ID_PATTERN
from wonledger.domain.money import Asset
from wonledger.flows.deposits import deposit_tx
from wonledger.statements.formats import read_statements

FOLDER = Path(__file__).parent / "bank_files"
SCHEMAS = Path(__file__).parents[1] / "schemas"
EXPONENT = {"KRW": 0}
#: The days the files are dated, from the first opening balance to the last entry.
FILE_DAYS = [date(2026, 11, 25) + timedelta(days=n) for n in range(12)]
#: Per currency: the bank that issues the ledger asset, the asset, whose account the statement is, who pays it.
PARTIES = {
    "KRW": ("namsan", "dKRW.namsan", "seoul-exports", "alice"),
    "HKD": ("harbour", "dHKD.harbour", "kowloon-supply", "peakfx"),
    **{ccy: ("harbour", f"d{ccy}.harbour", "kowloon-supply", "peakfx") for ccy in ("EUR", "CHF", "PLN", "USD")},
}


def by_name(name: str) -> BankFile:
    return next(f for f in FILES if f.name == name)


def read(data: bytes):  # type: ignore[no-untyped-def]
    """Every statement of a file, with its entries, read in the currency's exponent."""
    out = []
    for reader in read_statements(io.BytesIO(data), lambda header: EXPONENT.get(header.currency or "", 2)):
        out.append((reader.header, list(reader), reader.format))
    return out


@pytest.mark.parametrize("bank_file", FILES, ids=lambda f: f.name)
def test_each_bank_file_reads_as_a_person_reading_it_finds(bank_file: BankFile) -> None:
    statements = read((FOLDER / bank_file.name).read_bytes())
    assert len(statements) == len(bank_file.statements)
    for (header, entries, _), want in zip(statements, bank_file.statements, strict=True):
        got = (
            header.external_account, header.currency, header.statement_id, header.sequence, header.opening, header.opening_date,
            header.closing, header.closing_date, header.period(), header.pages, header.problems,
        )
        expected = (
            want.account, want.currency, want.statement_id, want.sequence, want.opening, want.opening_date,
            want.closing, want.closing_date, want.period, want.pages, [],
        )
        assert got == expected
        seen = [
            (e.booking_date, e.value_date, e.signed if e.amount_given else None, e.currency, e.end_to_end_id, e.servicer_ref, e.memo, e.status)
            for e in entries
        ]
        assert seen == [(w.booked, w.value, w.amount, want.currency, w.e2e, w.bank, w.memo, w.status) for w in want.entries]


def test_every_file_in_the_folder_is_described_and_the_shapes_are_of_at_least_eight_banks() -> None:
    described = {f.name for f in FILES} | {
        # the first bank files, read and reconciled in test_bank_files.py
        "namsan-camt053-v02-two-accounts.xml", "harbour-bah-camt053-v04-iban.xml", "namsan-camt052-v08-intraday.xml", "namsan-camt054-v08-credit.xml",
    }
    assert {p.name for p in FOLDER.iterdir()} == described
    real_banks = {f.bank for f in FILES if "fictional" not in f.bank}
    assert len(real_banks) >= 8 and len([f for f in FILES if "fictional" not in f.bank]) >= 30


@cache
def schema(version: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / f"{version}.xsd"))


@pytest.mark.parametrize("name", [f.name for f in FILES if f.name.endswith(".xml")])
def test_each_camt_file_is_valid_against_the_official_schema_of_its_version(name: str) -> None:
    from xml.etree import ElementTree

    root = ElementTree.parse(FOLDER / name).getroot()
    version = root.tag[1:].split("}")[0].rsplit(":", 1)[1]
    named = re.search(r"camt(05\d)-v(\d\d)", name)
    assert named is not None and version == f"camt.{named[1]}.001.{named[2]}"  # the name says the version
    schema(version).validate(root)


# -- reconciliation against a ledger of the file's payments -------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Bank:
    """A ledger that holds a bank file's payments (all, or all but one), and the file moved onto its days."""

    def __init__(self, ledger: Ledger, clock: Clock, first_day: date) -> None:
        self.ledger, self.clock = ledger, clock
        self.day_of = {d: first_day + timedelta(days=n) for n, d in enumerate(FILE_DAYS)}
        self.accounts: dict[str, str] = {}  # the statement's account id → the ledger account

    def moved(self, raw: bytes) -> bytes:
        """The file with every date of FILE_DAYS moved onto the ledger's days (ISO, MT940's YYMMDD and MMDD)."""
        text = raw.decode("latin-1")  # any bytes, back as they were
        iso = {d.isoformat(): self.day_of[d].isoformat() for d in FILE_DAYS}
        short = {d.strftime("%y%m%d"): self.day_of[d].strftime("%y%m%d") for d in FILE_DAYS}
        month_day = {d.strftime("%m%d"): self.day_of[d].strftime("%m%d") for d in FILE_DAYS}
        text = re.sub(r"\d{4}-\d\d-\d\d", lambda m: iso.get(m[0], m[0]), text)
        text = re.sub(r"(:6[0245][FM]?:[CD])(\d{6})", lambda m: m[1] + short.get(m[2], m[2]), text)
        text = re.sub(
            r":61:(\d{6})(\d{4})?", lambda m: ":61:" + short.get(m[1], m[1]) + (month_day.get(m[2], m[2]) if m[2] else ""), text
        )
        return text.encode("latin-1")

    def at(self, day: str, minute: int = 0) -> None:
        moment = datetime.combine(self.day_of[date.fromisoformat(day)], datetime.min.time(), UTC) + timedelta(hours=9, minutes=minute)
        self.clock.now = max(self.clock.now + timedelta(seconds=1), moment)

    def open_accounts(self, bank_file: BankFile) -> None:
        """One ledger account per statement account, funded to its first opening balance; payers with plenty."""
        registry = self.ledger.registry
        known = {a.code for a in registry.assets()}
        counted: dict[str, int] = {}
        for statement in bank_file.statements:
            if statement.account in self.accounts:
                continue
            bank, asset, owner, payer = PARTIES[statement.currency]
            if asset not in known:
                registry.add_asset(Asset(asset, statement.currency, "deposit_token", 2, bank))
                known.add(asset)
            n = counted[asset] = counted.get(asset, 0) + 1
            label = "" if n == 1 else f"a{n}"
            account = f"{owner}:{asset}" + (f":{label}" if label else "")
            if not any(a.id == account for a in registry.accounts(owner)):
                registry.open_account(owner, asset, label=label)
            if not any(a.id == f"{payer}:{asset}" for a in registry.accounts(payer)):
                registry.open_account(payer, asset)
                self.ledger.submit(self.ledger.sign(deposit_tx(self.ledger.id, bank, asset, f"{payer}:{asset}", 10**13), [bank]))
            self.accounts[statement.account] = account
            have = registry.account(account).balance
            opening = statement.opening or 0
            if opening > have:
                self.ledger.payments.transfer(f"{payer}:{asset}", account, opening - have)
            elif opening < have:
                self.ledger.payments.transfer(account, f"{payer}:{asset}", have - opening)

    def book(self, bank_file: BankFile, leave_out: E | None = None) -> None:
        """Each booked entry as a transfer on its day (but ``leave_out``)."""
        ids = [e.e2e for s in bank_file.statements for e in s.entries]
        entries = sorted(
            ((e.booked, n, s, e) for n, (s, e) in enumerate((s, e) for s in bank_file.statements for e in s.entries) if e.status == "BOOK"),
            key=lambda t: (t[0], t[1]),
        )
        for minute, (day, _, statement, entry) in enumerate(entries):
            if entry is leave_out or statement is not next(s for s in bank_file.statements if entry in s.entries):
                continue  # (a statement the file holds twice is one statement's payments)
            self.at(day, minute)
            payer = f"{PARTIES[statement.currency][3]}:{PARTIES[statement.currency][1]}"
            account = self.accounts[statement.account]
            amount = entry.amount if entry.amount is not None else entry.ledger
            assert amount is not None
            credit = amount > 0 if entry.amount is not None else True
            usable = entry.e2e and ID_PATTERN.fullmatch(entry.e2e) and entry.e2e != "NOTPROVIDED" and ids.count(entry.e2e) == 1
            debit_account, credit_account = (payer, account) if credit else (account, payer)
            self.ledger.payments.transfer(debit_account, credit_account, abs(amount), tx_id=entry.e2e if usable else None)

    def reconcile(self, raw: bytes):  # type: ignore[no-untyped-def]
        return self.ledger.statements.reconcile(io.BytesIO(self.moved(raw)), None, all_statements=True, account_map=self.accounts)


@pytest.fixture
def bank(sqlite_ledger_dir: Callable[[str], Path]):  # type: ignore[no-untyped-def]
    base = sqlite_ledger_dir("default")
    first_day = datetime.now(UTC).date() + timedelta(days=3)
    clock = Clock(datetime.combine(first_day - timedelta(days=2), datetime.min.time(), UTC))
    ledger = Ledger.open(f"sqlite:///{base / 'wonledger.db'}", base / "keys", clock=clock)
    yield Bank(ledger, clock, first_day)
    ledger.close()


def breaks(report) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return sorted(((b.kind, b.ref) for b in report.breaks), key=lambda k: (k[0], k[1] or ""))


RECONCILED = [f for f in FILES if f.reconciles]


@pytest.mark.parametrize("name", ["hsbc-hk-mt940.sta", "hsbc-hk-camt053-v08.xml", "asn-mt940-daily.sta"])
def test_a_statement_whose_opening_balance_is_dated_on_its_first_entrys_day_reconciles_clean(bank: Bank, name: str) -> None:
    # the period used to start the day after the opening balance's date, and lost that day's entries:
    # every payment of the day came back missing in the ledger, and the opening balance a break
    bank_file = by_name(name)
    assert bank_file.statements[0].opening_date == bank_file.statements[0].entries[0].booked
    bank.clock.now += timedelta(hours=1)
    bank.open_accounts(bank_file)
    bank.book(bank_file)
    report = bank.reconcile((FOLDER / name).read_bytes())
    assert report.ok, [b.to_json() for b in report.breaks]
    assert report.matched == sum(len(s.entries) for s in bank_file.statements)
    first = bank.day_of[date.fromisoformat(bank_file.statements[0].opening_date or "")].isoformat()
    assert report.period[0] == first  # the days compared start on the opening balance's own day


@pytest.mark.slow
@pytest.mark.parametrize("bank_file", RECONCILED, ids=lambda f: f.name)
def test_each_bank_file_reconciles_clean_against_a_ledger_of_exactly_its_payments(bank: Bank, bank_file: BankFile) -> None:
    bank.clock.now += timedelta(hours=1)
    bank.open_accounts(bank_file)
    bank.book(bank_file)
    report = bank.reconcile((FOLDER / bank_file.name).read_bytes())
    assert breaks(report) == sorted(bank_file.still), [b.to_json() for b in report.breaks]
    booked = [e for s in bank_file.statements for e in s.entries if e.status == "BOOK"]
    copies = len(bank_file.still)
    assert report.matched == len(booked) - copies * len(bank_file.statements[-1].entries)


@pytest.mark.slow
@pytest.mark.parametrize("bank_file", RECONCILED, ids=lambda f: f.name)
def test_each_bank_file_gives_exactly_one_break_when_the_ledger_lacks_one_of_its_payments(bank: Bank, bank_file: BankFile) -> None:
    booked = [e for s in bank_file.statements for e in s.entries if e.status == "BOOK"]
    # a payment out (leaving one in out of the ledger might leave too little for the next payment out)
    missing = next((e for e in booked if e.amount is not None and e.amount < 0), booked[0])
    bank.clock.now += timedelta(hours=1)
    bank.open_accounts(bank_file)
    bank.book(bank_file, leave_out=missing)
    report = bank.reconcile((FOLDER / bank_file.name).read_bytes())
    ref = (missing.e2e if missing.e2e != "NOTPROVIDED" else None) or missing.bank
    assert breaks(report) == sorted([("missing_in_ledger", ref), *bank_file.still]), [b.to_json() for b in report.breaks]
