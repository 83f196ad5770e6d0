"""The crash harness (tests/crossledger/harness.py) passes every case, and the failure table in the docs is its output.

What the harness covers: two ledgers (the Korean and the Hong Kong
operator's worlds, two SQLite files) and the real CLI's driver and node
processes on one virtual clock; a crash of the driver or a node at every
named step (``wonledger.crossledger.STEPS``) and at a seeded random one; the
relay dropped, late past T_KR, duplicated and raced; clocks skewed within and
beyond the bound; a receiver that withholds its preimage, fulfils late, or
leaks it to the Korean ledger. After every deadline each case checks
conservation per asset and ledger, nothing pending, the controls counting
only fulfilled payments, both verifies, and the pair check: both or neither,
or verify-pair exits 3 naming the one half-done payment where the case breaks
an assumption. Five cases run again on two PostgreSQL databases. The whole run is one slow test (about 31 cases, each four to
six processes; two cases at a time: see docs/crossledger.md for its time);
the quick tests here check what can be checked without running it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.crossledger import harness
from wonledger.crossledger import STEPS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "crossledger.md"
SECTION = "## The failure table"


def _docs_table() -> str:
    text = DOCS.read_text(encoding="utf-8")
    assert SECTION in text, f"{DOCS.name} has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return "\n".join(table) + "\n"


def test_every_named_step_of_the_protocol_has_a_crash_case() -> None:
    names = {case.name for case in harness.cases()}
    assert {f"crash {step}" for step in STEPS} <= names
    assert len(STEPS) >= 10


def test_the_cases_have_distinct_names_and_the_docs_table_one_row_for_each() -> None:
    names = [case.name for case in harness.cases()]
    assert len(names) == len(set(names))
    rows = [line.split("|")[1].strip() for line in _docs_table().splitlines()[2:]]
    assert rows == names, "run `python -m tests.crossledger.harness --table` and paste its output into docs/crossledger.md"


def test_the_random_case_draws_the_same_step_from_the_same_seed() -> None:
    assert harness.random_case(7).injected == harness.random_case(7).injected
    assert {harness.random_case(seed).injected for seed in range(20)} != {harness.random_case(0).injected}


def test_every_process_the_harness_starts_reads_the_virtual_clock_with_its_own_skew(tmp_path: Path) -> None:
    world = harness.World(tmp_path, datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC), {"kr": 7.5, "driver": -2.0})
    world.set_clock()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WONLEDGER_")}
    env.update({harness.CLOCK_ENV: str(world.clock_file), "PYTHONPATH": str(harness.SITE)})
    script = "import sys; from wonledger.domain.timestamps import utc_now; print(utc_now().isoformat())"
    seen = {}
    for role, argv in (("kr", ["--name", "kr"]), ("driver", [])):
        done = subprocess.run([sys.executable, "-c", script, *argv], env=env, capture_output=True, text=True, check=True)
        seen[role] = done.stdout.strip()
    assert seen == {"kr": "2030-01-02T03:04:12.500000+00:00", "driver": "2030-01-02T03:04:03+00:00"}


@pytest.mark.slow
def test_every_failure_case_ends_both_or_neither_or_named_and_the_docs_table_is_the_harness_output() -> None:
    results = harness.run(harness.cases(harness.DEFAULT_SEED), workers=2)
    failed = {r.row.case: r.problems for r in results if r.problems}
    assert not failed, json.dumps(failed, indent=1)
    assert harness.table([r.row for r in results]) == _docs_table(), (
        "the failure table in docs/crossledger.md is not the harness's output: regenerate it with `python -m tests.crossledger.harness --table`"
    )


#: The cases run again with both ledgers in PostgreSQL: a payment that settles, a crash of the driver and of a node between
#: the holds, a relay past T_KR (half done, named) and a receiver that withholds (both expire).
ON_POSTGRES = ("no fault", "crash kr-hold-sent", "crash node-hk-committed", "relay past T_KR", "receiver withholds")


@pytest.mark.postgres
@pytest.mark.slow
def test_on_two_postgresql_databases_the_cases_end_as_the_failure_table_says() -> None:
    from tests.conftest import pg_base_url

    chosen = [case for case in harness.cases(harness.DEFAULT_SEED) if case.name in ON_POSTGRES]
    results = harness.run(chosen, workers=2, pg_url=pg_base_url())
    failed = {r.row.case: r.problems for r in results if r.problems}
    assert not failed, json.dumps(failed, indent=1)
    documented = {line.split("|")[1].strip(): line for line in _docs_table().splitlines()[2:]}
    assert harness.table([r.row for r in results]).splitlines()[2:] == [documented[name] for name in ON_POSTGRES]
