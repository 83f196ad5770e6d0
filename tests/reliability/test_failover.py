"""A failover as a client sees it, played by a proxy in front of the real PostgreSQL: only latency.

The proxy (`faultproxy.py`) refuses connections, drops them, stalls them,
and cuts a commit on its way: before the server has it (the transaction
rolls back) or after the server committed and before the client hears it
(the acknowledgement is lost). Through it, `wonledger` runs as a real
process, once, as a script would run it: it must finish with exit 0 and
leave each transaction in the journal exactly once, or, past its bound,
exit 75 (`DB_UNAVAILABLE`) with one line saying what was done. The real
cluster (three PostgreSQL nodes under Patroni, the leader killed) is
`tests/cluster/`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy
from faultproxy import FaultProxy
from harness import WONLEDGER, Run, clean_env, fingerprint, journal_ids, record_figure, run_wonledger, write_lines

from wonledger import Ledger, Leg, Tx

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"


@pytest.fixture
def pg_ledger(pg_database: Callable[[], str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A fresh ledger on the real PostgreSQL: its direct URL and its keys."""
    url, keys = pg_database(), tmp_path / "keys"
    Ledger.create(url, keys).close()
    yield url, keys


@pytest.fixture
def proxy(pg_ledger: tuple[str, Path]) -> Iterator[FaultProxy]:
    parsed = sqlalchemy.engine.make_url(pg_ledger[0])
    made = FaultProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    yield made
    made.close()


def memo_count(url: str, memo: str) -> int:
    """How many journal entries carry ``memo`` (a payment without --id has a fresh id: its memo finds it)."""
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text("SELECT COUNT(*) FROM journal WHERE body LIKE :m"), {"m": f'%"memo":"{memo}"%'}).scalar_one()
    finally:
        engine.dispose()


def signed_transfers(url: str, keys: Path, prefix: str, count: int) -> list[str]:
    """``count`` signed transfers of 1 from alice, as JSON lines with ids ``prefix-N``."""
    with Ledger.open(url, keys) as ledger:
        lines = []
        for n in range(count):
            signed = ledger.sign(Tx(ledger=ledger.id, id=f"{prefix}-{n}", kind="transfer", legs=(Leg(ALICE, BANK, "dKRW.hanriver", 1),)), ["alice"])
            lines.append(json.dumps({"tx": signed.tx.to_wire(), "signatures": [s.to_wire() for s in signed.signatures]}))
    return lines


def as_seen(terminal: str) -> str:
    """What a terminal shows of ``terminal``'s output: each line as its last carriage return left it, without escapes."""
    lines = terminal.replace("\r\n", "\n").split("\n")
    return "\n".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line.rsplit("\r", 1)[-1]) for line in lines)


def run_at_a_terminal(url: str, *args: str, keys: Path, timeout: float = 120) -> tuple[int, str, str]:
    """Run wonledger with stderr on a pseudo-terminal (as a person sees it): exit code, stdout, what the terminal showed."""
    leader, follower = os.openpty()
    command = [WONLEDGER, "--db", url, "--keys", str(keys), *args]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower, env=clean_env())
    os.close(follower)
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    out, _ = process.communicate(timeout=timeout)
    reader.join(timeout=5)
    os.close(leader)
    return process.returncode, out.decode(), as_seen(shown.decode("utf-8", "replace"))


@pytest.mark.parametrize("reached_server", [True, False], ids=["acknowledgement-lost", "commit-never-sent"])
def test_a_pay_without_an_id_whose_commit_is_cut_is_posted_once_and_says_posted(
    pg_ledger: tuple[str, Path], proxy: FaultProxy, reached_server: bool
) -> None:
    url, keys = pg_ledger
    proxy.cut_commit(reached_server=reached_server)
    run = run_wonledger(proxy.url(url), "--json", "pay", "alice", "seoul-exports", "250000", "--memo", "cut-commit", keys=keys).ok()
    assert proxy.commits_cut == 1, "the proxy never cut the commit: the test proved nothing"
    receipt = run.json()
    assert receipt["duplicate"] is False and receipt["status"] == "posted"  # the command's own posting, not "already there"
    assert memo_count(url, "cut-commit") == 1
    assert journal_ids(url).count(receipt["id"]) == 1
    assert "Traceback" not in run.stderr
    run_wonledger(url, "verify", keys=keys).ok()


def test_a_submit_whose_chunk_commit_loses_its_acknowledgement_goes_on_and_posts_every_line_once(
    pg_ledger: tuple[str, Path], proxy: FaultProxy, tmp_path: Path
) -> None:
    url, keys = pg_ledger
    batch = write_lines(tmp_path / "batch.jsonl", signed_transfers(url, keys, "cut", 2500))
    proxy.cut_commit(nth=2, reached_server=True)  # the second chunk of 1,000 commits; its answer is lost
    run = run_wonledger(proxy.url(url), "--json", "submit", str(batch), keys=keys).ok()
    assert proxy.commits_cut == 1
    assert run.json() == {"posted": 2500, "duplicates": 0, "rejected": []}
    landed = journal_ids(url, "cut-")
    assert sorted(landed) == sorted(f"cut-{n}" for n in range(2500))
    run_wonledger(url, "verify", keys=keys).ok()


def test_a_server_that_refuses_for_a_while_is_waited_for_and_a_terminal_is_told_why(pg_ledger: tuple[str, Path], proxy: FaultProxy) -> None:
    url, keys = pg_ledger
    proxy.refuse()
    threading.Timer(4.0, proxy.accept).start()
    started = time.monotonic()
    code, out, shown = run_at_a_terminal(proxy.url(url), "transfer", ALICE, BANK, "7", "--id", "after-refusal", keys=keys)
    took = time.monotonic() - started
    assert code == 0, shown
    assert out.startswith("posted   after-refusal  transfer")
    lines = [line for line in shown.splitlines() if line.strip()]
    assert lines[0].startswith("wonledger: waiting for the database: the server refused the connection; trying again for up to 60 s (--wait-db)"), shown
    assert lines[-1].startswith("wonledger: the database is back after "), shown
    assert "Traceback" not in shown
    assert journal_ids(url).count("after-refusal") == 1
    record_figure("failover-proxy.jsonl", case="refused for 4 s", command="transfer", exit=code, seconds=round(took, 1))


def test_past_its_bound_a_command_exits_75_with_one_line_and_writes_nothing(pg_ledger: tuple[str, Path], proxy: FaultProxy) -> None:
    url, keys = pg_ledger
    before = fingerprint(url)
    proxy.refuse()
    by_option = run_wonledger(proxy.url(url), "--wait-db", "2", "transfer", ALICE, BANK, "7", "--id", "never", keys=keys)
    message = by_option.error("DB_UNAVAILABLE", 75)
    assert "the server refused the connection" in message and "as long as this command waits (2 s)" in message, message
    assert "nothing was written" in message and "--wait-db" in message
    by_environment = run_wonledger(proxy.url(url), "--json", "balance", "alice", keys=keys, env={"WONLEDGER_WAIT_DB": "1"})
    by_environment.error("DB_UNAVAILABLE", 75)
    assert json.loads(by_environment.stdout)["error"]["code"] == "DB_UNAVAILABLE"
    assert run_wonledger(proxy.url(url), "--wait-db", "0", "info", keys=keys).error("DB_UNAVAILABLE", 75).startswith(
        "the database is unavailable and this command does not wait"
    )
    assert fingerprint(url) == before


def test_a_pay_that_gives_up_names_its_id_so_that_running_it_again_posts_it_at_most_once(pg_ledger: tuple[str, Path], proxy: FaultProxy) -> None:
    url, keys = pg_ledger
    proxy.cut_commit(reached_server=True)
    threading.Thread(target=_refuse_once_cut, args=(proxy,), daemon=True).start()
    gave_up = run_wonledger(proxy.url(url), "--wait-db", "2", "pay", "alice", "seoul-exports", "1000", "--memo", "gave-up", keys=keys)
    message = gave_up.error("DB_UNAVAILABLE", 75)
    assert "may or may not have landed" in message, message
    tx_id = message.split("The transaction's id is ", 1)[1].split(":", 1)[0]
    assert memo_count(url, "gave-up") == 1  # it had landed: the acknowledgement was what got lost
    proxy.accept()
    again = run_wonledger(proxy.url(url), "--json", "pay", "alice", "seoul-exports", "1000", "--memo", "gave-up", "--id", tx_id, keys=keys).ok()
    assert again.json()["duplicate"] is True
    assert memo_count(url, "gave-up") == 1


def _refuse_once_cut(proxy: FaultProxy) -> None:
    """Go down for good the moment the proxy has cut its commit (the primary died with the acknowledgement)."""
    deadline = time.monotonic() + 60
    while proxy.commits_cut == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    proxy.refuse()


def test_a_submit_that_gives_up_says_what_posted_and_from_which_line_the_rest_was_not_tried(
    pg_ledger: tuple[str, Path], proxy: FaultProxy, tmp_path: Path
) -> None:
    url, keys = pg_ledger
    lines = signed_transfers(url, keys, "stop", 2500)
    lines.insert(1500, "{not json")  # a malformed line in the chunk read ahead: reported by the run that reaches it
    batch = write_lines(tmp_path / "batch.jsonl", lines)
    proxy.cut_commit(nth=2, reached_server=False)
    threading.Thread(target=_refuse_once_cut, args=(proxy,), daemon=True).start()
    stopped = run_wonledger(proxy.url(url), "--json", "--wait-db", "2", "submit", str(batch), keys=keys)
    message = stopped.error("DB_UNAVAILABLE", 75)
    assert "1,000 line(s) had posted, 0 were duplicates and 0 were refused before it; 1,501 line(s) from line 1,001 on were not tried" in message
    assert "Run the same command on the same input to post the rest" in message
    done = json.loads(stopped.stdout)
    assert {k: done[k] for k in ("posted", "duplicates", "rejected", "not_tried", "resume_line")} == {
        "posted": 1000, "duplicates": 0, "rejected": [], "not_tried": 1501, "resume_line": 1001,
    }
    assert done["error"]["code"] == "DB_UNAVAILABLE"
    assert len(journal_ids(url, "stop-")) == 1000
    proxy.accept()
    rest = run_wonledger(proxy.url(url), "--json", "submit", str(batch), keys=keys)
    assert rest.exit_code == 1  # the malformed line, now reached
    assert {k: v for k, v in rest.json().items() if k != "rejected"} == {"posted": 1500, "duplicates": 1000}
    assert [r["line"] for r in rest.json()["rejected"]] == [1501]
    assert sorted(journal_ids(url, "stop-")) == sorted(f"stop-{n}" for n in range(2500))


def test_stale_pooled_connections_after_a_restart_are_not_handed_out(pg_ledger: tuple[str, Path], proxy: FaultProxy) -> None:
    url, keys = pg_ledger
    waits: list[str | None] = []
    with Ledger.open(proxy.url(url), keys, on_wait=lambda reason, _waited, _bound: waits.append(reason)) as ledger:
        before = ledger.balances(["alice"])[0].balance
        ledger.payments.transfer(ALICE, BANK, 5, tx_id="pooled-1")
        used = proxy.connections
        proxy.drop_all()  # every pooled connection is now dead, as after a failover
        assert ledger.balances(["alice"])[0].balance == before - 5
        ledger.payments.transfer(ALICE, BANK, 5, tx_id="pooled-2")
    assert proxy.connections > used, "no new connection was made: the test proved nothing"
    assert waits == [], "a dead pooled connection reached a transaction (it was pinged out: nothing to wait for)"


def test_a_stalled_server_only_delays_the_command(pg_ledger: tuple[str, Path], proxy: FaultProxy) -> None:
    url, keys = pg_ledger
    proxy.stall(3.0)
    run_wonledger(proxy.url(url), "transfer", ALICE, BANK, "3", "--id", "stalled", keys=keys).ok()
    assert journal_ids(url).count("stalled") == 1


def test_what_waiting_cannot_fix_is_said_at_once(pg_ledger: tuple[str, Path]) -> None:
    url, keys = pg_ledger
    missing = sqlalchemy.engine.make_url(url).set(database="wl_no_such_database_h22").render_as_string(hide_password=False)
    # A bound of a day: had it waited at all, the subprocess's own timeout would have ended it.
    assert "does not exist" in run_wonledger(missing, "--wait-db", "86400", "info", keys=keys, timeout=60).error("DB_UNREACHABLE", 2)
    nowhere = sqlalchemy.engine.make_url(url).set(host="no-such-host.invalid").render_as_string(hide_password=False)
    run_wonledger(nowhere, "--wait-db", "86400", "info", keys=keys, timeout=60).error("DB_UNREACHABLE", 2)
    run_wonledger(url, "info", keys=keys, env={"WONLEDGER_WAIT_DB": "soon"}).error("BAD_INPUT", 2)
    assert run_wonledger(url, "--wait-db", "-1", "info", keys=keys).exit_code == 2


def test_four_inits_at_once_on_one_empty_postgres_database_make_one_ledger(pg_database: Callable[[], str], tmp_path: Path) -> None:
    url = pg_database()
    runs = _inits_at_once(url, tmp_path, 4)
    assert sorted(r.exit_code for r in runs) == [0, 2, 2, 2], [r.stderr for r in runs]
    for r in runs:
        if r.exit_code:
            assert "already holds a ledger" in r.error("ALREADY_EXISTS", 2)
    winner = next(n for n, r in enumerate(runs) if r.exit_code == 0)
    run_wonledger(url, "verify", keys=tmp_path / f"keys-{winner}").ok()


def test_four_inits_at_once_on_one_new_sqlite_file_make_one_ledger_and_leave_it_in_place(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    runs = _inits_at_once(url, tmp_path, 4)
    assert sorted(r.exit_code for r in runs) == [0, 2, 2, 2], [r.stderr for r in runs]
    winner = next(n for n, r in enumerate(runs) if r.exit_code == 0)
    run_wonledger(url, "verify", keys=tmp_path / f"keys-{winner}").ok()


def _inits_at_once(url: str, tmp_path: Path, count: int) -> list[Run]:
    """``count`` `wonledger init` processes started together on ``url``, each with a key directory of its own."""
    processes = [
        subprocess.Popen([WONLEDGER, "--db", url, "--keys", str(tmp_path / f"keys-{n}"), "init"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        for n in range(count)
    ]
    runs = []
    for p in processes:
        out, err = p.communicate(timeout=180)
        runs.append(Run(("init",), p.returncode, out.decode(), err.decode()))
    assert not any("Traceback" in r.stderr or "duplicate key" in r.stderr for r in runs), [r.stderr for r in runs]
    return runs
