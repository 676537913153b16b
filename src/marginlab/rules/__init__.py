"""Venue rule sets: data plus policies, one module per exchange, each citing its sources with dates."""

from marginlab.rules.registry import VENUES, get_venue

__all__ = ["VENUES", "get_venue"]
