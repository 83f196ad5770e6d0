"""What a newcomer meets: names resolved predictably, lists of what exists, and state shown as it is."""

from __future__ import annotations

import contextlib
import json
import os
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from wonledger_cli.main import cli

if TYPE_CHECKING:
    from conftest import Ledger

ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"


# -- names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "suggestion"),
    [
        (("balance", "alcie"), "UNKNOWN_PARTICIPANT", "did you mean alice?"),
        (("send", "alice", "kowloon-supply", "1000", "--deliver", "HKD"), "UNKNOWN_ASSET", "did you mean HKDS?"),
        (("balance", "alice:dKRW.hanrivr"), "UNKNOWN_ACCOUNT", "did you mean alice:dKRW.hanriver"),
        (("deposit", "alcie", "100", "--bank", "hanriver"), None, None),
    ],
)
def test_a_mistyped_name_is_refused_with_the_closest_real_names(wl: Ledger, args: tuple[str, ...], code: str | None, suggestion: str | None) -> None:
    run = wl(*args)
    if code is None:  # the deposit names alcie only inside the transaction: whatever the code, nothing changed
        assert run.exit_code in (1, 2)
        return
    message = run.error(code, exit_code=2)
    assert message.endswith(suggestion) or suggestion in message, message


def test_a_name_with_nothing_close_gets_no_suggestion(wl: Ledger) -> None:
    assert "did you mean" not in wl("balance", "zzzzzz").error("UNKNOWN_PARTICIPANT", exit_code=2)


def test_an_owner_with_several_accounts_is_answered_with_the_exact_ids_to_type(wl: Ledger) -> None:
    wl("deposit", "alice", "100", "--bank", "namsan").ok()
    message = wl("statement", "alice", "--format", "csv").error("BAD_INPUT", exit_code=2)
    assert "alice has 2 accounts; name one of: alice:dKRW.hanriver, alice:dKRW.namsan" in message
    for account in ("alice:dKRW.hanriver", "alice:dKRW.namsan"):
        wl("statement", account, "--format", "csv").ok()


def test_an_owner_with_one_account_in_the_asset_stands_for_it_and_the_receipt_names_it(wl: Ledger) -> None:
    shown = wl("transfer", "alice", "hanriver", "1000").ok().stdout
    assert f"{ALICE} -> {BANK}" in shown


@pytest.mark.parametrize("amount", ["-1", "-1,000", "-0.5"])
def test_a_negative_amount_is_a_bad_amount_not_an_unknown_option(wl: Ledger, amount: str) -> None:
    before = wl.state()
    message = wl("transfer", ALICE, BANK, amount).error("BAD_AMOUNT", exit_code=2)
    assert "No such option" not in message and "positive" in message
    assert wl.state() == before


@pytest.mark.parametrize("args", [("report", "--json", "supply"), ("report", "supply", "--json"), ("--json", "report", "supply")])
def test_json_may_come_before_or_after_a_group_or_its_command(wl: Ledger, args: tuple[str, ...]) -> None:
    assert {a["asset"] for a in wl(*args).ok().json()["assets"]} == {"HKDS", "KRWS", "USDS"}


# -- lists --------------------------------------------------------------------------


def test_asset_list_names_every_asset_with_its_issuer(wl: Ledger) -> None:
    assets = {a["asset"]: a for a in wl("--json", "asset", "list").ok().json()["assets"]}
    assert assets["KRWS"] == {"asset": "KRWS", "kind": "stablecoin", "currency": "KRW", "exponent": 0, "issuer": "kstable"}
    assert assets["wKRW"]["issuer"] == "bok"
    text = wl("asset", "list").ok().stdout
    assert "dHKD.harbour" in text and "deposit_token" in text


def test_issuer_list_shows_each_registered_issuer_and_a_new_registration(wl: Ledger) -> None:
    issuers = wl("--json", "issuer", "list").ok().json()["issuers"]
    assert [(i["asset"], i["issuer"]) for i in issuers] == [("HKDS", "victoria"), ("KRWS", "kstable"), ("USDS", "usdco")]
    assert all(i["registered_at"].endswith("Z") for i in issuers)


def test_hold_list_shows_pending_holds_with_their_expiry_and_forgets_finished_ones(wl: Ledger) -> None:
    assert wl("hold", "list").ok().stdout.strip() == "no pending holds"
    wl("transfer", ALICE, BANK, "500", "--hold", "--timeout", "600", "--id", "h-1").ok()
    wl("transfer", ALICE, BANK, "70", "--hold", "--timeout", "60", "--id", "h-2").ok()
    holds = wl("--json", "hold", "list").ok().json()["holds"]
    assert [h["id"] for h in holds] == ["h-2", "h-1"]  # soonest expiry first
    made = wl.tx("h-1")
    assert holds[1]["expires_at"] == wl("--json", "tx", "show", "h-1").ok().json()["expires_at"]
    assert holds[1]["legs"] == made["legs"]
    wl("void", "h-2").ok()
    assert [h["id"] for h in wl("--json", "hold", "list").ok().json()["holds"]] == ["h-1"]
    text = wl("hold", "list", "--account", "alice").ok().stdout
    assert "h-1" in text and holds[1]["expires_at"][:19] in text


# -- state shown as it is -----------------------------------------------------------


def test_a_reversed_transaction_says_so_and_by_which_reversal_in_tx_show_and_history(wl: Ledger) -> None:
    wl("transfer", ALICE, BANK, "1000", "--id", "inv-7").ok()
    reversal = wl("--json", "reverse", "inv-7").ok().json()["id"]
    assert wl.tx("inv-7")["reversed_by"] == reversal
    assert wl("tx", "show", "inv-7").ok().stdout.startswith("reversed inv-7")
    rows = wl("--json", "history", ALICE).ok().json()["transactions"]
    assert next(t for t in rows if t["id"] == "inv-7")["reversed_by"] == reversal
    text = wl("history", ALICE).ok().stdout
    row = next(line for line in text.splitlines() if " inv-7 " in line)
    assert "reversed" in row and f"reversed by {reversal}" in row


def test_a_partial_post_says_how_much_was_released(wl: Ledger) -> None:
    wl("transfer", ALICE, BANK, "50000", "--hold", "--id", "hold-1").ok()
    shown = wl("--json", "post", "hold-1", "30000").ok().json()
    assert shown["released"] == [{"account": ALICE, "asset": "dKRW.hanriver", "amount": 20000}]
    wl("transfer", ALICE, BANK, "50000", "--hold", "--id", "hold-3").ok()
    assert "released: 20,000 dKRW.hanriver back to alice:dKRW.hanriver" in wl("post", "hold-3", "30000").ok().stdout


def test_a_hold_shows_when_it_expires_not_only_its_timeout(wl: Ledger) -> None:
    made = wl("--json", "transfer", ALICE, BANK, "10", "--hold", "--timeout", "600", "--id", "h").ok().json()
    assert made["expires_at"] > made["at"]
    assert f"hold:   600 s, expires {made['expires_at']}" in wl("tx", "show", "h").ok().stdout


def test_account_list_shows_balances_in_columns_with_the_asset_apart(wl: Ledger) -> None:
    lines = wl("account", "list", "--owner", "peakfx").ok().stdout.splitlines()
    assert lines[0].split() == ["account", "asset", "balance", "available", "held", "flags"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["peakfx:KRWS"][1:4] == ["KRWS", "10,000,000,000", "10,000,000,000"]
    assert rows["peakfx:HKDS"][1:4] == ["HKDS", "10,000,000.00", "10,000,000.00"]


def test_amounts_of_one_column_line_up_by_their_units_digit(wl: Ledger) -> None:
    lines = wl("balance", "peakfx").ok().stdout.splitlines()
    balance_end = lines[0].index("balance") + len("balance")
    krw = next(line for line in lines if line.startswith("peakfx:KRWS"))
    hkd = next(line for line in lines if line.startswith("peakfx:HKDS"))
    # "10,000,000,000   " and "10,000,000.00": the units digits sit one above another
    assert krw[: balance_end].rstrip().endswith("10,000,000,000")
    assert krw.index("10,000,000,000") + len("10,000,000,000") == hkd.index("10,000,000.00") + len("10,000,000")


def test_blank_means_nothing_held_and_zero_is_printed_as_zero(wl: Ledger) -> None:
    lines = wl("balance", "kstable:dKRW.namsan:reserve", ALICE).ok().stdout.splitlines()
    reserve = lines[1].split()
    assert reserve[1:] == ["dKRW.namsan", "0", "0"]  # a zero balance is 0, and "held" is blank
    wl("transfer", ALICE, BANK, "5", "--hold").ok()
    assert wl("balance", ALICE).ok().stdout.splitlines()[1].split()[-1] == "5"


def test_counts_carry_thousands_separators(wl: Ledger, tmp_path: Path) -> None:
    info = wl("info").ok().stdout
    assert "transactions  44" in info
    assert wl("verify").ok().stdout.startswith("ok: 44 transactions")
    from wonledger_cli.render import count

    assert count(100016, "entry", "entries") == "100,016 entries" and count(1, "entry", "entries") == "1 entry"


def test_info_prints_the_operator_key_that_verify_proof_can_pin(wl: Ledger) -> None:
    key = next(line.split()[-1] for line in wl("info").ok().stdout.splitlines() if line.startswith("operator key"))
    made = wl("--json", "checkpoint").ok().json()
    assert made["operator_key"] == key
    assert wl("--json", "info").ok().json()["operator_key"] == key


def test_keys_list_shows_a_first_key_valid_from_its_registration_not_1970(wl: Ledger) -> None:
    text = wl("keys", "list", "alice").ok().stdout
    registered = wl.read("--json", "tx", "show", "register:alice").json()["at"]
    assert "1970" not in text and registered in text
    wl("keys", "rotate", "alice").ok()
    rows = wl("keys", "list", "alice").ok().stdout.splitlines()[1:]
    assert registered in rows[0] and "1970" not in rows[1]


def test_proof_reports_the_file_it_wrote_on_stdout_like_statement(wl: Ledger, tmp_path: Path) -> None:
    wl("transfer", ALICE, BANK, "1", "--id", "p-1").ok()
    wl("checkpoint").ok()
    out = tmp_path / "p.json"
    run = wl("proof", "p-1", "--out", str(out)).ok()
    assert run.stdout.startswith(f"wrote {out}") and run.stderr == ""
    statement = wl("statement", ALICE, "--format", "csv", "--out", str(tmp_path / "s.csv")).ok()
    assert statement.stdout.startswith("wrote ") and statement.stderr == ""


# -- history --------------------------------------------------------------------------


def test_history_from_to_and_limit_pick_the_period_and_the_newest(wl: Ledger) -> None:
    for n in range(5):
        wl("transfer", ALICE, BANK, str(n + 1), "--id", f"h-{n}").ok()
    ids = lambda *args: [t["id"] for t in wl("--json", "history", ALICE, *args).ok().json()["transactions"]]  # noqa: E731
    every = ids()
    assert every == ["genesis-deposit-alice", "h-0", "h-1", "h-2", "h-3", "h-4"]
    assert ids("--limit", "2") == ["h-3", "h-4"]
    at = {t["id"]: t["at"] for t in wl("--json", "history", ALICE).ok().json()["transactions"]}
    assert ids("--from", at["h-2"]) == ["h-2", "h-3", "h-4"]
    assert ids("--to", at["h-2"]) == ["genesis-deposit-alice", "h-0", "h-1"]  # --to a time: strictly before it
    assert ids("--from", at["h-1"], "--to", at["h-4"], "--limit", "2") == ["h-2", "h-3"]
    assert ids("--to", "2000-01-01") == []
    day = at["h-0"][:10]
    assert ids("--from", day, "--to", day) == every  # a day is the whole day
    wl("history", ALICE, "--from", "yesterday").error("BAD_INPUT", exit_code=2)


@pytest.mark.slow
def test_history_memory_stays_flat_however_long_the_account(wl: Ledger) -> None:
    """Peak traced memory of printing a history does not grow when the account gets four times longer."""
    from wonledger import Ledger as Library
    from wonledger.flows import transfer_tx

    def add(start: int, count: int) -> None:
        with Library.open(wl.db, wl.keys) as ledger:
            for first in range(start, start + count, 500):
                ledger.submit_many([ledger.sign(transfer_tx(ledger.id, ALICE, BANK, "dKRW.hanriver", 1, tx_id=f"m-{n}")) for n in range(first, first + 500)])

    def peak() -> int:
        # the command as the console script runs it, printing to /dev/null (a runner would keep the output)
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            tracemalloc.start()
            try:
                cli.main(["--db", wl.db, "--keys", str(wl.keys), "history", ALICE])
            except SystemExit as done:
                assert done.code == 0
            _, top = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        return top

    add(0, 1500)
    peak()  # warm imports and caches first
    short = peak()
    add(1500, 4500)
    long = peak()
    assert long < short * 1.25, (short, long)
    shown = CliRunner().invoke(cli, ["--db", wl.db, "--keys", str(wl.keys), "--json", "history", ALICE, "--limit", "1"]).output
    assert json.loads(shown)["transactions"][-1]["id"] == "m-5999"


@pytest.mark.parametrize(("typed", "meant"), [("balanse", "balance"), ("hodl", "hold"), ("verfy", "verify")])
def test_a_mistyped_command_gets_the_command_meant_though_commands_load_lazily(wl: Ledger, typed: str, meant: str) -> None:
    suggestion = wl(typed, "x").error("BAD_INPUT", exit_code=2).split("Did you mean", 1)[1]
    assert f"'{meant}'" in suggestion.split("?", 1)[0]  # alone, or beside a command of like name (verify, verify-pair)
