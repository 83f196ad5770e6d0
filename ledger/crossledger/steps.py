"""The named steps of a payment across two ledgers, in one place, and the crash hook that stops a process at one.

The driver (and each node) calls :func:`crash_point` at every step below.
With ``WONLEDGER_XCRASH=<step>`` in its environment the process exits at once
(``os._exit``: no cleanup, no flush, as a power cut would leave it), so a
harness can stop a payment at any step and prove that ``xresume`` finishes
or unwinds it. The names are part of the contract with that harness
(docs/crossledger.md lists them).
"""

from __future__ import annotations

import os

CRASH_ENV = "WONLEDGER_XCRASH"
#: The exit status of a process stopped at a named step (distinct from every exit code of docs/cli.md).
CRASH_EXIT = 86

#: The driver's steps, in the order a payment passes them.
DRIVER_STEPS: tuple[str, ...] = (
    "planned",  # the plan (payment id, the receiver's H, amounts, deadlines) is in the driver's journal
    "quoted",  # the dealer's quote is in the driver's journal
    "kr-hold-before",  # about to ask the Korean node for the payer's hold
    "kr-hold-sent",  # the Korean hold committed; the driver's journal does not know yet
    "kr-hold-recorded",
    "hk-hold-before",  # about to ask the Hong Kong node for the dealer's hold
    "hk-hold-sent",
    "hk-hold-recorded",
    "hk-fulfil-before",  # about to fulfil on Hong Kong with the receiver's preimage
    "hk-fulfil-sent",
    "hk-fulfil-recorded",
    "kr-relay-before",  # about to relay the preimage, read from the Hong Kong ledger, to Korea
    "kr-relay-sent",
    "kr-relay-recorded",
    "unwind-before",  # about to reject a hold whose partner will never be made (the dealer, a creditor)
    "unwind-sent",
)
#: A node's steps: it exits after its ledger committed a write and before it answers (the answer is lost).
NODE_STEPS: tuple[str, ...] = ("node-kr-committed", "node-hk-committed")
STEPS: tuple[str, ...] = DRIVER_STEPS + NODE_STEPS


def crash_point(step: str) -> None:
    """Exit hard here if ``WONLEDGER_XCRASH`` names ``step``."""
    if step not in STEPS:
        raise ValueError(f"{step!r} is not a named step")  # a misspelt step would never fire
    if os.environ.get(CRASH_ENV) == step:
        os._exit(CRASH_EXIT)


__all__ = ["CRASH_ENV", "CRASH_EXIT", "DRIVER_STEPS", "NODE_STEPS", "STEPS", "crash_point"]
