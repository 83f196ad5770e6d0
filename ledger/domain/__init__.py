"""The domain: values, money, errors, time, the wire format, canonical bytes and strict input.

Frozen values every other part speaks in. Nothing here reads a database or a
clock; the parts above import from here, never the other way round.
"""
