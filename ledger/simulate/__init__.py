"""The settlement-timing demo: correspondent banking beside won-stablecoin settlement on one ledger and across two.

Every route runs through real ledgers of the demo's own on a simulated clock
(docs/demo.md): :mod:`.calendars` (business days, holidays, cut-offs,
time zones), :mod:`.corridors` (the parameters of ``fixtures/corridors.toml``),
:mod:`.routes` (when each step happens), :mod:`.engine` (the steps as signed
transactions, in time order), :mod:`.twoledgers` (the two operators' ledgers
of the third route and the cross-ledger protocol's steps), :mod:`.stats`, :mod:`.charts` (matplotlib,
imported only when a chart is drawn) and :mod:`.report` (the HTML page).
Imported by the ``demo`` command only, so the rest of the CLI stays fast.
"""

from wonledger.simulate.corridors import Corridor, load_corridor, parse_start
from wonledger.simulate.engine import DemoResult, run_demo
from wonledger.simulate.report import ROUTE_NAMES, SOURCES, comparison_rows, demo_json, headline, notes, publish, step_rows, verdict
from wonledger.simulate.routes import ROUTES
from wonledger.simulate.stats import duration

__all__ = [
    "ROUTES",
    "ROUTE_NAMES",
    "SOURCES",
    "Corridor",
    "DemoResult",
    "comparison_rows",
    "demo_json",
    "duration",
    "headline",
    "load_corridor",
    "notes",
    "parse_start",
    "publish",
    "run_demo",
    "step_rows",
    "verdict",
]
