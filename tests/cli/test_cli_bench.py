"""`wonledger bench` as a user runs it: a real process, a throw-away ledger, sane figures.

No timing is asserted (the machine is shared); what is checked is that the
benchmark completes through the parallel path (a batch above the size at
which the book starts its verification workers), reports both sides and
every round, leaves nothing behind (no ledger in the working directory, no
database on the PostgreSQL server), and that its floor chains the same
hashes as the journal does.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy

from wonledger.book.signature_pool import POOL_THRESHOLD
from wonledger.domain.chain import GENESIS, digest, envelope_bytes, next_hash
from wonledger.domain.signing import KeyStore, canonical_bytes, public_bytes
from wonledger.tools import bench

if TYPE_CHECKING:
    from tests.cli.conftest import Run

#: Above the verifier's threshold, so ingest checks signatures in worker processes.
COUNT = 2 * POOL_THRESHOLD + 44


def _sane(result: dict, count: int, rounds: int) -> None:
    assert result["count"] == count
    assert result["rounds"] == rounds
    assert len(result["ingest_runs_s"]) == rounds and len(result["floor_runs_s"]) == rounds
    assert result["ingest_s"] == min(result["ingest_runs_s"]) > 0
    assert result["floor_s"] == min(result["floor_runs_s"]) > 0
    # Times are printed to the millisecond and rates from the unrounded times: they agree within that.
    for side in ("ingest", "floor"):
        seconds = result[f"{side}_s"]
        assert count / (seconds + 0.0005) - 1 <= result[f"{side}_per_s"] <= count / max(seconds - 0.0005, 1e-9) + 1
    slowest = (result["ingest_s"] + 0.0005) / max(result["floor_s"] - 0.0005, 1e-9)
    fastest = (result["ingest_s"] - 0.0005) / (result["floor_s"] + 0.0005)
    assert fastest - 0.005 <= result["ratio"] <= slowest + 0.005
    assert 1 / slowest - 0.005 <= result["throughput_ratio"] <= 1 / fastest + 0.005
    assert result["ingest_command"].startswith("wonledger submit") and "whole process" in result["floor_command"]
    assert result["ingest_cpu_s"] > 0 and result["floor_cpu_s"] > 0
    assert 0 < result["peak_rss_mib"] < 4096
    assert result["cpus"] >= 1 and result["platform"] and result["python"]
    assert result["lines_alone_s"] > 0 and result["lines_alone_cpu_s"] > 0


@pytest.mark.slow
def test_bench_runs_both_sides_in_a_throw_away_ledger_and_reports_every_round(process: Callable[..., Run], tmp_path: Path) -> None:
    result = process("--json", "bench", "--count", str(COUNT), "--rounds", "2", cwd=tmp_path).ok().json()
    _sane(result, COUNT, 2)
    assert result["db"] == "sqlite"
    assert list(tmp_path.iterdir()) == [], "bench must not leave a ledger or keys in the working directory"


def test_bench_prints_rates_ratio_memory_and_platform_for_people(process: Callable[..., Run], tmp_path: Path) -> None:
    out = process("bench", "--count", "40", "--rounds", "1", cwd=tmp_path).ok().stdout
    for label in (
        "ingest (wonledger submit)", "floor (bare sqlite3)", "throughput submit/floor", "ratio ingest/floor", "CPU (user+system)",
        "lines parsed and checked", "peak memory", "platform",
    ):
        assert label in out


def test_the_floor_chains_the_same_hashes_as_the_journal_from_the_same_lines(tmp_path: Path) -> None:
    keys, url = tmp_path / "keys", f"sqlite:///{tmp_path / 'ledger.db'}"
    bench._set_up(url, keys, "wl-floor")
    batch = tmp_path / "batch.jsonl"
    payers = bench._sign_batch(batch, KeyStore(keys), "wl-floor", 30, lambda _done: None)
    public_keys = tmp_path / "keys.json"
    public_keys.write_text(json.dumps({p: public_bytes(KeyStore(keys).load(p)).hex() for p in payers}))
    bench._floor(tmp_path / "floor.db", batch, public_keys, 30)  # it checks that it wrote 30 rows
    with closing(sqlite3.connect(tmp_path / "floor.db")) as db:
        rows = db.execute("SELECT seq, at, body, signatures, digest, hash FROM journal ORDER BY seq").fetchall()
    previous = GENESIS
    for (seq, at, body, signatures, tx_digest, tx_hash), line in zip(rows, batch.read_bytes().splitlines(), strict=True):
        tx = json.loads(line)["tx"]
        assert body.encode() == canonical_bytes(tx) and tx_digest == digest(body.encode())
        previous = next_hash(previous, envelope_bytes(seq, at, body.encode(), json.loads(signatures)))
        assert tx_hash == previous


def test_bench_refuses_a_database_that_is_not_a_postgresql_server(process: Callable[..., Run], tmp_path: Path) -> None:
    process("bench", "--count", "40", "--db", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path).error("BAD_INPUT", exit_code=2)
    assert not (tmp_path / "x.db").exists()


@pytest.mark.postgres
def test_bench_on_postgresql_uses_a_throw_away_database_and_drops_it(
    process: Callable[..., Run], tmp_path: Path, pg_database: Callable[[], str]
) -> None:
    server = os.environ["WONLEDGER_TEST_PG_URL"]  # pg_database has skipped (or failed in CI) without it
    engine = sqlalchemy.create_engine(server, poolclass=sqlalchemy.pool.NullPool)

    def databases() -> set[str]:
        with engine.connect() as conn:
            # Other tests make databases on the same server at the same time: look at bench's own.
            return set(conn.exec_driver_sql("SELECT datname FROM pg_database WHERE starts_with(datname, 'wonledger_bench')").scalars())

    try:
        before = databases()
        result = process("--json", "bench", "--count", str(COUNT), "--rounds", "1", "--db", server, cwd=tmp_path).ok().json()
        _sane(result, COUNT, 1)
        assert result["db"].startswith("postgresql+psycopg://")
        assert databases() == before
    finally:
        engine.dispose()


@pytest.mark.slow
def test_the_cross_ledger_figure_times_settled_payments_across_two_ledgers_beside_two_plain_transfers(tmp_path: Path) -> None:
    from wonledger.tools.bench_cross import run_cross_ledger

    result = run_cross_ledger(runs=2, workdir=str(tmp_path))
    assert result["measured"] is True and result["runs"] == 2
    assert result["payments_settled"] == 3 and result["verified"] is True and result["pair_ok"] is True  # the warm-up's too
    assert result["amount"] == "1,000,000 KRWS → 5,595.66 HKDS"  # the floor's Hong Kong transfer moves what the quote gave
    for side in ("xsend", "floor"):
        figures = result[side]
        assert len(figures["runs_s"]) == 2 and figures["min_s"] <= figures["median_s"] <= figures["p95_s"] == figures["max_s"]
        assert figures["cpu_median_s"] > 0
    assert abs(result["ratio_median"] - result["xsend"]["median_s"] / result["floor"]["median_s"]) < 0.01
    assert list(tmp_path.iterdir()) == [], "the throw-away ledgers, keys and driver journal are gone"


def test_a_figure_measured_on_sqlite_only_refuses_a_server(process: Callable[..., Run], tmp_path: Path) -> None:
    run = process("bench", "--figure", "startup", "--db", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", cwd=tmp_path)
    assert run.exit_code == 2 and "SQLite only" in run.stderr


@pytest.mark.slow
def test_the_verify_figure_times_verify_and_its_floor_over_the_same_journal(process: Callable[..., Run], tmp_path: Path) -> None:
    result = process("--json", "bench", "--figure", "verify", "--count", str(COUNT), "--rounds", "1", cwd=tmp_path).ok().json()
    assert result["count"] == COUNT and result["entries"] > COUNT, "the bench's transfers and the default world's entries"
    assert result["verify_runs_s"] == [result["verify_s"]] and result["floor_runs_s"] == [result["floor_s"]]
    assert abs(result["ratio"] - result["verify_s"] / result["floor_s"]) < 0.01
    assert result["verify_cpu_s"] > 0 and result["floor_cpu_s"] > 0 and result["verify_peak_rss_mib"] > 0
    assert result["checks_cpu_s"] > 0 and result["replay_cpu_s"] > 0
    assert abs(result["bound_cpu_s"] - (result["floor_cpu_s"] + result["checks_cpu_s"] + result["replay_cpu_s"])) < 0.01
    assert abs(result["bound_ratio"] - result["verify_cpu_s"] / result["bound_cpu_s"]) < 0.01
    assert list(tmp_path.iterdir()) == [], "bench must not leave a ledger or keys in the working directory"


@pytest.mark.slow
def test_the_scale_figure_submits_verifies_and_reads_one_long_account(process: Callable[..., Run], tmp_path: Path) -> None:
    result = process("--json", "bench", "--figure", "scale", "--count", str(COUNT), cwd=tmp_path).ok().json()
    steps = result["sqlite"]
    assert set(steps) >= {"submit", "verify", "history", "statement"} and "postgresql" not in result
    assert all(steps[s]["wall_s"] > 0 and steps[s]["peak_rss_mib"] > 0 for s in ("submit", "verify", "history", "statement"))
    assert list(tmp_path.iterdir()) == []
