"""Pure, exact margin domain: Decimal only, no I/O, no clock, no third-party imports."""
