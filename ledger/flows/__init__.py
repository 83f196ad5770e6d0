"""Flows: functions that build transactions for what people want to do.

A flow reads what it needs, builds a :class:`~wonledger.domain.model.Tx`, and hands it
back to be signed and submitted through the book. No flow writes a table.
"""

from wonledger.flows.deposits import deposit_tx, pay_tx, withdraw_tx
from wonledger.flows.stablecoins import at_par, mint_tx, redeem_tx
from wonledger.flows.transfers import (
    conditional_hold_tx,
    fulfil_tx,
    hold_tx,
    new_tx_id,
    post_tx,
    reject_tx,
    reversal_tx,
    transfer_tx,
    void_tx,
)

__all__ = [
    "at_par", "conditional_hold_tx", "deposit_tx", "fulfil_tx", "hold_tx", "mint_tx", "new_tx_id", "pay_tx", "post_tx", "redeem_tx",
    "reject_tx", "reversal_tx", "transfer_tx", "void_tx", "withdraw_tx",
]
