"""The paper-trading venue: Binance USDⓈ-M's REST semantics on top of the exact engine.

``service`` holds the use cases (one transaction per operation), ``models`` and ``migrations`` the database,
``orders`` the fill model, ``ledger`` the income ledger and the bonus rule, ``prices`` the price sources.
The HTTP front end is ``marginlab.api``.
"""
