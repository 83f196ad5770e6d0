"""The rulebook: every rule a journal entry must satisfy, and what it changes.

Pure functions of a state they are given (rules, capital-flow controls,
policy, reference rates). The writer decides with it and ``verify`` replays
with it; nothing here touches storage, a clock or a key file, but the loader
(:mod:`wonledger.rulebook.loader`), which makes the controls' state of the
plain figures a unit of work reads.
"""
