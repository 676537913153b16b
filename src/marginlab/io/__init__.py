"""Adapters: the only package that reads files (portfolio and script files, ccxt tier dumps)."""
