"""Tools beside the ledger: the benchmark that times ``wonledger submit`` against this machine's floor.

``run`` and ``check_server`` load :mod:`.bench` on first use, so importing the
package costs nothing until a benchmark runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wonledger.tools.bench import check_server, run

__all__ = ["check_server", "run"]


def __getattr__(name: str) -> object:
    if name in __all__:
        value = getattr(importlib.import_module("wonledger.tools.bench"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wonledger.tools' has no attribute {name!r}")
