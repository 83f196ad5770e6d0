"""transfer, holds (post, void), reverse, history, tx show, verify and bench through CliRunner."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Ledger, Run

ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"
KOWLOON = "kowloon-supply:dHKD.harbour"
HARBOUR = "harbour:dHKD.harbour"
TX_FIELDS = {"id", "kind", "status", "seq", "hash", "memo", "legs"}


def moved(before: dict, after: dict, account: str) -> int:
    return after[account]["balance"] - before[account]["balance"]


# -- transfer ----------------------------------------------------------------------


def test_a_transfer_moves_the_amount_from_one_account_to_the_other_and_nothing_else(wl: Ledger) -> None:
    before = wl.balances()
    run = wl("transfer", ALICE, BANK, "1,000").ok()
    assert run.stdout.startswith("posted ")
    assert "1,000 dKRW.hanriver" in run.stdout
    after = wl.balances()
    assert moved(before, after, ALICE) == -1000
    assert moved(before, after, BANK) == 1000
    assert {k for k in after if after[k] != before[k]} == {ALICE, BANK}
    assert wl("verify").exit_code == 0


def test_a_transfer_reads_major_units_of_the_asset_and_stores_minor_units(wl: Ledger) -> None:
    shown = wl("--json", "transfer", KOWLOON, HARBOUR, "12.50 dHKD.harbour").ok().json()
    assert shown["legs"] == [{"debit": KOWLOON, "credit": HARBOUR, "asset": "dHKD.harbour", "amount": 1250}]
    assert wl.balances()[KOWLOON]["balance"] == 100_000_00 - 1250


def test_a_transfer_may_name_owners_when_each_has_one_account_in_the_asset(wl: Ledger) -> None:
    wl("account", "open", "seoul-exports", "dKRW.hanriver").ok()
    shown = wl("--json", "transfer", "alice", "seoul-exports", "700").ok().json()
    assert shown["legs"][0]["debit"] == ALICE
    assert shown["legs"][0]["credit"] == "seoul-exports:dKRW.hanriver"


def test_a_transfer_json_is_the_transaction_shape_with_its_receipt(wl: Ledger) -> None:
    shown = wl("--json", "transfer", ALICE, BANK, "5").ok().json()
    assert TX_FIELDS <= set(shown)
    assert (shown["kind"], shown["status"], shown["seq"], shown["duplicate"]) == ("transfer", "posted", 45, False)
    assert re.fullmatch(r"[0-9a-f]{64}", shown["hash"])


def test_a_transfer_with_an_id_resubmitted_returns_the_same_receipt_and_moves_money_once(wl: Ledger) -> None:
    first = wl("--json", "transfer", ALICE, BANK, "300", "--id", "inv-7").ok().json()
    balances = wl.balances()
    again = wl("--json", "transfer", ALICE, BANK, "300", "--id", "inv-7")
    assert again.exit_code == 0
    second = again.json()
    assert (second["seq"], second["hash"], second["duplicate"]) == (first["seq"], first["hash"], True)
    assert wl.balances() == balances
    assert wl.read("--json", "info").json()["transactions"] == 45
    assert "already in the journal" in wl("transfer", ALICE, BANK, "300", "--id", "inv-7").ok().stdout


def test_a_reused_id_with_other_content_is_a_duplicate_conflict_and_changes_nothing(wl: Ledger) -> None:
    wl("transfer", ALICE, BANK, "300", "--id", "inv-8").ok()
    before = wl.state()
    wl("transfer", ALICE, BANK, "301", "--id", "inv-8").error("DUPLICATE_CONFLICT", exit_code=1)
    assert wl.state() == before


def test_a_transfer_beyond_the_available_balance_is_insufficient_funds_and_changes_nothing(wl: Ledger) -> None:
    before = wl.state()
    message = wl("transfer", ALICE, BANK, "5,000,001").error("INSUFFICIENT_FUNDS", exit_code=1)
    assert "5,000,000" in message
    assert wl.state() == before


def test_a_memo_with_quotes_sql_emoji_and_backslashes_comes_back_unchanged(wl: Ledger) -> None:
    memo = 'He said "pay \'now\'"; DROP TABLE journal; -- 💸 송금 \\ back\\slash end'
    wl("transfer", ALICE, BANK, "1", "--id", "memo-1", "--memo", memo).ok()
    assert wl.tx("memo-1")["memo"] == memo
    assert "DROP TABLE journal" in wl("tx", "show", "memo-1").ok().stdout
    assert wl("verify").exit_code == 0


@pytest.mark.parametrize("control", ["\n", "\r\n", "\t", "\x1b[2J", "\u202e"])
def test_a_memo_with_a_newline_tab_escape_or_bidi_override_is_refused_and_changes_nothing(wl: Ledger, control: str) -> None:
    # (Control characters were accepted and stored before issue 11; they can disguise text on a terminal.)
    before = wl.state()
    message = wl("transfer", ALICE, BANK, "1", "--memo", f"invoice{control}7").error("BAD_INPUT", exit_code=2)
    assert "control character" in message
    assert wl.state() == before


def test_a_memo_longer_than_the_limit_is_refused_and_changes_nothing(wl: Ledger) -> None:
    before = wl.state()
    wl("transfer", ALICE, BANK, "1", "--memo", "m" * 1001).error("BAD_INPUT", exit_code=2)
    assert wl.state() == before
    assert wl("verify").exit_code == 0


# -- holds -------------------------------------------------------------------------


def test_a_hold_reserves_the_amount_as_pending_until_it_is_finished(wl: Ledger) -> None:
    shown = wl("--json", "transfer", ALICE, BANK, "50,000", "--hold", "--timeout", "600", "--id", "hold-1").ok().json()
    assert (shown["kind"], shown["status"], shown["timeout"]) == ("hold", "pending", 600)
    b = wl.balances()
    assert (b[ALICE]["balance"], b[ALICE]["debits_pending"], b[ALICE]["available"]) == (5_000_000, 50_000, 4_950_000)
    assert b[BANK]["credits_pending"] == 50_000


def test_a_hold_without_timeout_waits_an_hour(wl: Ledger) -> None:
    assert wl("--json", "transfer", ALICE, BANK, "1", "--hold").ok().json()["timeout"] == 3600


def test_posting_a_hold_whole_moves_the_held_amount(wl: Ledger) -> None:
    wl("transfer", ALICE, BANK, "50,000", "--hold", "--id", "hold-1").ok()
    posted = wl("--json", "post", "hold-1").ok().json()
    assert (posted["kind"], posted["ref"], posted["legs"][0]["amount"]) == ("post", "hold-1", 50_000)
    b = wl.balances()
    assert (b[ALICE]["balance"], b[ALICE]["debits_pending"]) == (4_950_000, 0)
    assert wl.tx("hold-1")["status"] == "posted"


def test_a_partial_post_moves_that_amount_and_releases_the_rest(wl: Ledger) -> None:
    wl("transfer", ALICE, BANK, "50,000", "--hold", "--id", "hold-1").ok()
    wl("post", "hold-1", "30,000").ok()
    b = wl.balances()
    assert (b[ALICE]["balance"], b[ALICE]["available"], b[ALICE]["debits_pending"]) == (4_970_000, 4_970_000, 0)
    assert (b[BANK]["credits_pending"], b[BANK]["balance"]) == (0, -10_005_000_000 + 30_000)
    assert wl("verify").exit_code == 0


def test_voiding_a_hold_releases_all_of_it(wl: Ledger) -> None:
    before = wl.balances()
    wl("transfer", ALICE, BANK, "50,000", "--hold", "--id", "hold-2").ok()
    voided = wl("--json", "void", "hold-2").ok().json()
    assert (voided["kind"], voided["ref"], voided["legs"]) == ("void", "hold-2", [])
    assert wl.balances() == before
    assert wl.tx("hold-2")["status"] == "voided"


def test_posting_a_hold_twice_is_refused_as_not_pending_and_changes_nothing(wl: Ledger) -> None:
    wl("transfer", ALICE, BANK, "500", "--hold", "--id", "hold-1").ok()
    wl("post", "hold-1").ok()
    before = wl.state()
    wl("post", "hold-1").error("HOLD_NOT_PENDING", exit_code=1)
    wl("void", "hold-1").error("HOLD_NOT_PENDING", exit_code=1)
    assert wl.state() == before


def test_posting_more_than_is_held_is_refused_and_changes_nothing(wl: Ledger) -> None:
    wl("transfer", ALICE, BANK, "500", "--hold", "--id", "hold-1").ok()
    before = wl.state()
    wl("post", "hold-1", "501").error("BAD_AMOUNT", exit_code=2)
    wl("post", "hold-1", "1.5").error("BAD_AMOUNT", exit_code=2)
    wl("post", "hold-1", "0").error("BAD_AMOUNT", exit_code=2)
    assert wl.state() == before
    assert wl.tx("hold-1")["status"] == "pending"


@pytest.mark.parametrize("command", ["post", "void"])
def test_finishing_an_unknown_hold_is_unknown_transaction_and_changes_nothing(wl: Ledger, command: str) -> None:
    before = wl.state()
    wl(command, "no-such-hold").error("UNKNOWN_TRANSACTION", exit_code=2)
    wl(command, "genesis-deposit-alice").error("UNKNOWN_TRANSACTION", exit_code=2)
    assert wl.state() == before


def test_timeout_without_hold_is_a_usage_error(wl: Ledger) -> None:
    before = wl.state()
    wl("transfer", ALICE, BANK, "1", "--timeout", "5").error("BAD_INPUT", exit_code=2)
    wl("transfer", ALICE, BANK, "1", "--hold", "--timeout", "0").error("BAD_INPUT", exit_code=2)
    assert wl.state() == before


# -- reverse -----------------------------------------------------------------------


def test_reverse_undoes_a_transfer_with_a_new_entry_and_only_once(wl: Ledger) -> None:
    before = wl.balances()
    wl("transfer", ALICE, BANK, "2,500", "--id", "oops").ok()
    shown = wl("--json", "reverse", "oops", "--id", "undo-oops").ok().json()
    assert (shown["kind"], shown["ref"]) == ("reversal", "oops")
    assert shown["legs"] == [{"debit": BANK, "credit": ALICE, "asset": "dKRW.hanriver", "amount": 2500}]
    after = wl.balances()
    assert [after[a]["balance"] for a in (ALICE, BANK)] == [before[a]["balance"] for a in (ALICE, BANK)]
    assert after[ALICE]["debits_posted"] == 2500  # undone by a new entry, not by rewriting the old one
    assert {k for k in after if after[k] != before[k]} == {ALICE, BANK}
    assert wl.tx("oops")["status"] == "posted"  # nothing is deleted or rewritten
    state = wl.state()
    wl("reverse", "oops").error("ALREADY_REVERSED", exit_code=1)
    wl("reverse", "no-such-tx").error("UNKNOWN_TRANSACTION", exit_code=2)
    assert wl.state() == state
    assert wl("verify").exit_code == 0


def test_a_hold_or_a_void_cannot_be_reversed(wl: Ledger) -> None:
    wl("transfer", ALICE, BANK, "5", "--hold", "--id", "h-1").ok()
    wl("void", "h-1", "--id", "v-1").ok()
    before = wl.state()
    wl("reverse", "h-1").error("BAD_INPUT", exit_code=2)
    wl("reverse", "v-1").error("BAD_INPUT", exit_code=2)
    assert wl.state() == before


# -- the journal -------------------------------------------------------------------


def test_tx_show_json_has_the_transaction_shape(wl: Ledger) -> None:
    wl("transfer", ALICE, BANK, "42", "--id", "pay-42", "--memo", "invoice 42").ok()
    shown = wl("--json", "tx", "show", "pay-42").ok().json()
    assert TX_FIELDS <= set(shown)
    assert shown["id"] == "pay-42"
    assert (shown["kind"], shown["status"], shown["memo"]) == ("transfer", "posted", "invoice 42")
    assert isinstance(shown["seq"], int) and shown["seq"] == 45
    assert re.fullmatch(r"[0-9a-f]{64}", shown["hash"])
    assert shown["legs"] == [{"debit": ALICE, "credit": BANK, "asset": "dKRW.hanriver", "amount": 42}]
    assert shown["signers"] == ["alice"]


def test_tx_show_for_people_prints_the_legs_in_major_units(wl: Ledger) -> None:
    wl("transfer", KOWLOON, HARBOUR, "0.05", "--id", "cents").ok()
    text = wl("tx", "show", "cents").ok().stdout
    assert "0.05 dHKD.harbour" in text and f"{KOWLOON} -> {HARBOUR}" in text


def test_tx_show_of_an_unknown_id_is_unknown_transaction(wl: Ledger) -> None:
    wl("tx", "show", "nope").error("UNKNOWN_TRANSACTION", exit_code=2)
    wl("--json", "tx", "show", "nope").error("UNKNOWN_TRANSACTION", exit_code=2)


def test_history_lists_the_transactions_of_an_account_oldest_first(wl: Ledger) -> None:
    wl("transfer", ALICE, BANK, "1", "--id", "h-1").ok()
    wl("transfer", ALICE, BANK, "2", "--id", "h-2").ok()
    shown = wl("--json", "history", ALICE).ok().json()
    assert shown["account"] == ALICE
    assert [t["id"] for t in shown["transactions"]] == ["genesis-deposit-alice", "h-1", "h-2"]
    assert [t["id"] for t in wl("--json", "history", ALICE, "--limit", "1").ok().json()["transactions"]] == ["h-2"]
    text = wl("history", ALICE).ok().stdout
    assert "amount (dKRW.hanriver)" in text and "balance 4,999,997 dKRW.hanriver" in text
    row = next(line for line in text.splitlines() if " h-2 " in line)
    assert row.split()[5] == "-2"


def test_history_shows_a_hold_as_held_and_the_void_that_released_it(wl: Ledger) -> None:
    wl("transfer", ALICE, BANK, "70", "--hold", "--id", "h-held").ok()
    wl("void", "h-held", "--id", "h-released").ok()
    shown = wl("--json", "history", ALICE).ok().json()["transactions"]
    assert [(t["id"], t["status"]) for t in shown][-2:] == [("h-held", "voided"), ("h-released", "posted")]
    text = wl("history", ALICE).ok().stdout
    assert "(-70 held)" in text


def test_history_of_an_unknown_account_is_refused(wl: Ledger) -> None:
    wl("history", "nobody:KRWS").error("UNKNOWN_ACCOUNT", exit_code=2)


def test_verify_of_a_clean_ledger_exits_zero_and_reports_no_problems(wl: Ledger) -> None:
    wl("transfer", ALICE, BANK, "10").ok()
    report = wl("--json", "verify")
    assert report.exit_code == 0
    assert report.json() == {"ok": True, "transactions": 45, "problems": []}
    assert wl("verify").ok().stdout.startswith("ok: 45 transactions")


def test_verify_of_an_empty_world_is_clean(wl_empty: Ledger) -> None:
    assert wl_empty("--json", "verify").ok().json()["ok"] is True


# -- bench -------------------------------------------------------------------------


def test_bench_with_a_small_count_completes_with_sane_figures(cli_run: Callable[..., Run]) -> None:
    result = cli_run("--json", "bench", "--count", "50").ok().json()
    assert result["count"] == 50
    assert result["ingest_per_s"] > 0 and result["floor_per_s"] > 0
    assert result["ingest_s"] >= 0 and result["floor_s"] >= 0
    assert 0 < result["ratio"] < 1000
    assert result["peak_rss_mib"] > 0 and result["cpus"] >= 1
