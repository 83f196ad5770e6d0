"""What ``pip install wonledger`` puts into site-packages: only names with the wonledger prefix.

A top-level ``cli`` or ``ledger`` would collide with any other project's
package of that name in the same environment; the wheel built from this
tree, as pip builds it, holds none.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_installs_only_wonledger_prefixed_packages(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("wonledger-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"wonledger", "wonledger_cli", "wonledger_fixtures", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    # the library's parts and the CLI's commands are inside, under their new names
    assert "wonledger/service/facade.py" in names
    assert "wonledger_cli/main.py" in names
    assert "wonledger/store/migrations/script.py.mako" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "wonledger = wonledger_cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
