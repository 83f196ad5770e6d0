"""The public API changes only on purpose, and the layers stay where the README's Layout puts them."""

import ast
import re
from pathlib import Path

import wonledger
from wonledger.domain import errors

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_PUBLIC_NAMES = sorted(
    """
    DEFAULT_DB DEFAULT_KEYS Account AccountSpec AlreadyExists AlreadyReversed Asset AssetMismatch BadAmount BadInput
    BadSignature BadStatement Book Break BreakerStatus Checkpoint Party Quote QuoteTerms Refusal ResidentOutflow Travel DatabaseBusy DatabaseReadOnly DatabaseUnavailable DiskFull
    DbUnreachable DuplicateConflict HoldExpired HoldNotPending HolderNotEligible Info IngestResult
    InsufficientFunds IntegrityProblem IssuerNotEligible IssuerNotRegistered JournalEntry KeyChange KeyRecord KeyStore
    KeyUnavailable Ledger LedgerError Leg NotALedger NotAuthorized OutflowLimit Participant Problem
    ProofReport QuoteExpired Receipt ReconcileReport Rejection ReserveNotEligible ReserveShortfall Residency RuleRefusal RunBreaker
    Signature SignedTx StatementSummary StorageError TravelRule TrialBalance TrialBalanceRow Tx UnknownAccount UnknownAsset
    UnknownParticipant UnknownTransaction VerifyReport account_id canonical_bytes format_amount parse_amount
    parse_line tx_bytes verify_proof make_participant_key parse_public_key TypedAmount
    Anchor ConsistencyReport read_checkpoint read_operator_key verify_consistency validate_statement load_account_map
    b64url statement_formats strict_loads read_balances
    HalfDone NodeUnavailable PaymentLocked PartnerCard parse_card
    ConditionNotMet ConditionalHold Partner
    """.split()
)

DESIGN_CODES = {
    "INSUFFICIENT_FUNDS", "UNKNOWN_ACCOUNT", "UNKNOWN_ASSET", "ASSET_MISMATCH", "BAD_AMOUNT", "BAD_SIGNATURE",
    "NOT_AUTHORIZED", "DUPLICATE_CONFLICT", "HOLD_NOT_PENDING", "HOLD_EXPIRED", "ISSUER_NOT_REGISTERED",
    "ISSUER_NOT_ELIGIBLE", "RESERVE_SHORTFALL", "RESIDENCY", "OUTFLOW_LIMIT", "RUN_BREAKER", "QUOTE_EXPIRED",
    "TRAVEL_RULE", "BAD_INPUT",
}


def test_the_public_names_are_exactly_the_pinned_list() -> None:
    assert sorted(wonledger.__all__) == EXPECTED_PUBLIC_NAMES
    for name in wonledger.__all__:
        assert hasattr(wonledger, name), name


def test_every_error_code_of_the_design_has_a_class_and_codes_are_unique() -> None:
    classes = errors._all_subclasses(errors.LedgerError)
    codes = [c.code for c in classes if "code" in vars(c)]
    assert len(codes) == len(set(codes))
    assert DESIGN_CODES <= set(codes)


def test_refusals_exit_1_bad_input_exits_2_integrity_exits_3_as_the_cli_decides() -> None:
    from wonledger_cli.main import _exit_code

    cases = [
        (errors.InsufficientFunds("x"), 1), (errors.RunBreaker("x"), 1), (errors.StorageError("x"), 1), (errors.DiskFull("x"), 1),
        (errors.UnknownAccount("x"), 2), (errors.BadAmount("x"), 2), (errors.NotALedger("x"), 2), (errors.BadStatement("x"), 2),
        (errors.IntegrityProblem("x"), 3), (errors.NodeUnavailable("x"), 1), (errors.PaymentLocked("x"), 1), (errors.HalfDone("x"), 3),
    ]
    assert [_exit_code(errors, exc) for exc, _ in cases] == [code for _, code in cases]


def _raised_texts_and_hints(path: Path) -> tuple[list[str], list[str]]:
    texts, hints = [], []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and node.exc is not None:
            texts += [c.value for c in ast.walk(node.exc) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
            hints += [k.value.value for k in ast.walk(node.exc) if isinstance(k, ast.keyword) and k.arg == "hint" and isinstance(k.value, ast.Constant)]
    return texts, hints


def test_the_library_words_no_command_or_option_of_the_cli_and_the_cli_words_every_hint() -> None:
    from wonledger_cli.main import HINTS

    used = set()
    for path in (ROOT / "ledger").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        texts, hints = _raised_texts_and_hints(path)
        used.update(hints)
        for text in texts:
            assert "`wonledger" not in text and not re.search(r"(?<![\w-])--[a-z]", text), (path, text)
    assert used and used <= set(HINTS), used - set(HINTS)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_store_imports_sqlalchemy_and_the_library_never_imports_click() -> None:
    for path in (ROOT / "ledger").rglob("*.py"):
        imported = _imports(path)
        assert "click" not in imported, path
        if "store" not in path.relative_to(ROOT / "ledger").parts:
            assert "sqlalchemy" not in imported and "alembic" not in imported, path
    for path in (ROOT / "cli").rglob("*.py"):
        assert not {"sqlalchemy", "alembic"} & _imports(path), path


def _wonledger_imports(path: Path) -> set[str]:
    """The wonledger modules ``path`` imports, anywhere in it (in functions and under TYPE_CHECKING too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("wonledger"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("wonledger"):
            found.add(node.module)
    return found


def test_the_store_calls_nothing_above_it() -> None:
    """The store returns domain values and builds no rulebook state: it imports the domain and itself, nothing above."""
    above = ("wonledger.rulebook", "wonledger.book", "wonledger.audit", "wonledger.flows", "wonledger.service", "wonledger.statements")
    for path in (ROOT / "ledger" / "store").rglob("*.py"):
        calling_up = {m for m in _wonledger_imports(path) if m == "wonledger" or m.startswith(above)}
        assert not calling_up, (path, calling_up)


def test_no_module_but_the_book_opens_a_write_transaction() -> None:
    """One writer: the store's write path is called from the book's writer alone (and the store itself)."""
    writers = []
    for path in list((ROOT / "ledger").rglob("*.py")) + list((ROOT / "cli").rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[:2] == ("ledger", "store") or rel == Path("ledger/book/writer.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("writing", "begin") and isinstance(node.ctx, ast.Load):
                writers.append(f"{rel}:{node.lineno}")
    assert writers == []


def test_the_rulebook_reads_no_database_clock_or_key_file() -> None:
    """The rulebook's rules decide from the state they are given: no storage, time or key store in them."""
    imported = _imports(ROOT / "ledger" / "rulebook" / "rules.py")
    text = (ROOT / "ledger" / "rulebook" / "rules.py").read_text()
    assert not {"sqlalchemy", "datetime", "time", "os"} & imported
    assert "wonledger.store" not in text and "KeyStore" not in text and "utc_now" not in text


def test_importing_the_library_connects_to_nothing_and_loads_no_heavy_extras() -> None:
    import subprocess
    import sys

    code = (
        "import sys, wonledger, wonledger_cli.main\n"
        "heavy = [m for m in ('alembic', 'hypothesis', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""
