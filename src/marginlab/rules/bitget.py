"""Bitget USDT-M perpetual futures (``BTCUSDT``): the rule set is ``data/bitget.toml``; this module
explains it.

Sources (checked 2026-11-25):

* Isolated estimated liquidation price ``[position margin - size * entry * direction] / [size * (MMR +
  TakerFeeRatio - direction)]``: https://www.bgportable.com/support/articles/12560603808759 (2025-09-18). A
  later version adds a "pre-calculated offset" to the numerator
  (https://www.bitgetpro.site/ar/support/articles/12560603808759), not modelled. freqtrade implements the same
  formula (``freqtrade/freqtrade:freqtrade/exchange/bitget.py``).
* Position tiers (isolated: per direction; cross: long and short summed; liquidation when ``(margin + uPnL) /
  position value <= MMR``): https://www.bitget.com/support/articles/360052911052 .
* Position margin at the mark price since 2025-09:
  https://www.bitgetapp.com/id/support/articles/12560603838731 .

Mode-switch reasoning: no Bitget page found states whether an open position's margin mode may change.
Lacking a documented permission, we model the conservative ``FLAT_ONLY`` (Binance's documented rule), so
the model never performs a switch the venue may refuse.

Tiers: no Bitget tier table is bundled. BTCUSDT and ETHUSDT use one flat, **approximate** tier (MMR 0.5 %,
100x), the tier-1 values of Bybit's BTCUSDT risk limits. Fees 0.06 % taker / 0.02 % maker are Bitget's VIP 0
futures rates (https://www.bitget.com/fee), not re-checked in this session (freqtrade's formula defaults to a
0.1 % taker fee).
"""

from __future__ import annotations

from functools import cache

from marginlab.rules.spec import VenueSpec

SPEC = VenueSpec.read("bitget")
native_symbol = SPEC.native_symbol
venue = cache(SPEC.venue)
