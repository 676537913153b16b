"""marginlab: what a margin mode does to a trade, in exact numbers."""

__version__ = "0.1.0"
