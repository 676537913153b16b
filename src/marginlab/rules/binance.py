"""Binance USDⓈ-M perpetuals: the rule set is ``data/binance.toml``; this module explains it.

Sources (checked 2026-11-25):

* Liquidation price, cross and isolated, one-way and hedge; bracket rule (tier at the liquidation price):
  https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93 . No fee term in the formula.
* Maintenance margin ``notional * MMR - cum`` and the cum recurrence: same FAQ, and
  https://www.binance.com/en/futures/trading-rules/perpetual/portfolio-margin/notional-limit .
* Liquidation process (mark price triggers; "Smart Liquidation" first reduces the position to a lower tier;
  otherwise taken over at the bankruptcy price, remaining collateral to the insurance fund; ADL last):
  https://www.binance.com/en-NZ/support/faq/360033525271 .
* Liquidation fee rate: ``liquidationFee`` of ``GET /fapi/v1/exchangeInfo`` ("0.012500" for BTCUSDT).
* Max removable isolated margin: https://www.binance.com/en-NZ/support/faq/360038447311 .
* Margin mode cannot change with an open position or order:
  https://www.binance.com/en/support/articles/360038075852 (all symbols default to cross).
* Fees: 0.05 % taker / 0.02 % maker, the regular-user (VIP 0) USDⓈ-M rates on Binance's fee schedule
  https://www.binance.com/en/fee/futureFee (not re-checked on the page in this session).
* Multi-Assets mode (shared collateral, haircuts, bid/ask rates): the table named by ``multi_assets`` in
  ``data/binance.toml`` (``data/binance_multi_assets_2021-05-28.json``) and
  :mod:`marginlab.domain.collateral`, which cite the FAQ, announcement and information pages.
* Tiers: the 2026-09 snapshot of ``/fapi/v1/leverageBracket`` in ccxt format (freqtrade 2026.9 package file
  ``freqtrade/exchange/binance_leverage_tiers.json``), 907 markets of which the 4 dated futures are left out,
  bundled as compact rows in ``data/binance_usdm_tiers_2026-09.json.gz``.

Nothing here is Binance's alone beyond its data: the generic engine is Binance's formula.
"""

from __future__ import annotations

from functools import cache

from marginlab.rules.spec import VenueSpec

SPEC = VenueSpec.read("binance")
native_symbol = SPEC.native_symbol
venue = cache(SPEC.venue)
