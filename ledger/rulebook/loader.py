"""Loading the control figures the store keeps into the rulebook's :class:`ControlState`.

The store reads the figures a chunk needs as plain values
(:class:`~wonledger.domain.model.ControlFigures`) and builds no rulebook
state; this is where they become one, for the book's writes and the
breaker's status alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wonledger.domain.model import ControlFigures

if TYPE_CHECKING:
    from wonledger.rulebook.controls import ControlState
    from wonledger.rulebook.policy import FlowPolicy


def control_state(figures: ControlFigures, policy: FlowPolicy) -> ControlState:
    """The control state of ``figures``, under ``policy``'s windows."""
    # Imported here: importing this module (the facade does) must not load the controls for a command that never reads them.
    from wonledger.rulebook.controls import ControlState

    return ControlState(
        outflows=dict(figures.outflows),
        conversions=figures.conversions,
        supply=figures.supply,
        supply_path=figures.supply_path,
        supply_before=figures.supply_before,
        travel={pair: list(moves) for pair, moves in figures.travel},
        used_quotes=dict(figures.used_quotes),
        policy=policy,
    )
