"""The house keeps its shape: each part imports only the parts below it, and nothing grows too big to read.

The parts and their arrows are the picture in docs/architecture.md:

    CLI → service → flows / audit / statements → rulebook and book → domain and store

Every import of every module counts, also those inside functions and under
``TYPE_CHECKING`` (a type that names a higher layer is a call back up waiting
to happen). The clients of the facade (the demo, the testing kit, the
benchmark) sit beside the CLI, above the service.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "ledger"
CLI = ROOT / "cli"

#: Which parts each part of the library may import (besides itself).
MAY_IMPORT: dict[str, set[str]] = {
    "domain": set(),
    "store": {"domain"},
    "rulebook": {"domain"},
    "statements": {"domain"},
    "book": {"domain", "store", "rulebook"},
    "flows": {"domain", "store", "rulebook", "book"},
    "audit": {"domain", "store", "rulebook", "book", "statements", "flows"},
    "service": {"domain", "store", "rulebook", "book", "statements", "flows", "audit"},
    # Clients of the facade, beside the CLI (the demo's third route runs the cross-ledger protocol's plan, quote and pair check).
    "simulate": {"domain", "rulebook", "flows", "service", "crossledger"},
    "testing": {"domain", "store", "rulebook", "book", "flows", "service"},
    # (the audit's too: the verify figure's bound times verify's own checks and replay, each alone)
    "tools": {"domain", "store", "rulebook", "book", "flows", "audit", "service"},
    # (the audit's proofs too: an offline bundle's inclusion proofs are checked as `verify-proof` checks one)
    "crossledger": {"domain", "rulebook", "flows", "audit", "service"},
}

#: What the CLI may import of the library: the public package and the public
#: packages of the facade's clients, never a module inside a part.
CLI_MAY_IMPORT = {"wonledger", "wonledger.simulate", "wonledger.tools", "wonledger.crossledger"}

MAX_PUBLIC_METHODS = 30
MAX_FUNCTION_LINES = 80


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


def _imported(path: Path) -> list[tuple[int, str]]:
    """Every module name ``path`` imports, with its line (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                raise AssertionError(f"{path.relative_to(ROOT)}:{node.lineno}: relative import; the house uses absolute ones")
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
            found.append((node.lineno, node.module))
    return found


def _part_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "wonledger" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in MAY_IMPORT else None


@pytest.mark.parametrize("part", sorted(MAY_IMPORT))
def test_each_part_of_the_library_imports_only_the_parts_below_it(part: str) -> None:
    allowed = MAY_IMPORT[part] | {part}
    wrong = []
    for path in _modules(LIBRARY / part):
        for line, module in _imported(path):
            if module.startswith("wonledger_cli") or module.split(".")[0] == "click":
                wrong.append(f"{path.relative_to(ROOT)}:{line}: imports {module}")
            target = _part_of(module)
            if target is not None and target not in allowed:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {part} imports {module} ({target} is not below {part})")
    assert not wrong, "\n".join(wrong)


def test_every_module_of_the_library_belongs_to_a_part() -> None:
    loose = [p.name for p in LIBRARY.glob("*.py") if p.name != "__init__.py"]
    folders = {p.name for p in LIBRARY.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert loose == []
    assert folders == set(MAY_IMPORT)


def test_the_cli_imports_only_the_public_packages_of_the_library() -> None:
    wrong = []
    for path in _modules(CLI):
        for line, module in _imported(path):
            if not module.startswith("wonledger") or module.startswith("wonledger_"):
                continue
            # ``from wonledger import X`` names X, which is a public name, not a module
            package = module if module in CLI_MAY_IMPORT else module.rsplit(".", 1)[0]
            if package not in CLI_MAY_IMPORT:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: imports {module}")
    assert not wrong, "\n".join(wrong)


def _definitions(path: Path) -> list[ast.AST]:
    return list(ast.walk(ast.parse(path.read_text())))


def test_no_public_class_has_more_than_thirty_public_methods() -> None:
    big = []
    for path in _modules(LIBRARY) + _modules(CLI):
        for node in _definitions(path):
            if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
                continue
            if any("StateMachine" in ast.unparse(base) for base in node.bases):
                continue  # a Hypothesis machine's rules are its public methods by design
            public = [f for f in node.body if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef) and not f.name.startswith("_")]
            if len(public) > MAX_PUBLIC_METHODS:
                big.append(f"{path.relative_to(ROOT)}: {node.name} has {len(public)} public methods")
    assert not big, "\n".join(big)


def test_no_function_is_longer_than_eighty_lines() -> None:
    long = []
    for path in _modules(LIBRARY) + _modules(CLI):
        for node in _definitions(path):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.name} is {lines} lines")
    assert not long, "\n".join(long)


def test_the_rules_above_would_catch_a_breach() -> None:
    """The checks are not vacuous: they see the imports, classes and functions of the real tree."""
    seen = {module for path in _modules(LIBRARY / "book") for _, module in _imported(path)}
    assert any(_part_of(m) == "rulebook" for m in seen)
    classes = [n for p in _modules(LIBRARY / "service") for n in _definitions(p) if isinstance(n, ast.ClassDef)]
    assert any(n.name == "Ledger" for n in classes)
