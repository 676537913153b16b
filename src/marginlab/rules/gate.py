"""Gate USDT-margined perpetual futures (``BTC_USDT``): the rule set is ``data/gate.toml``; this module
explains it.

Sources (checked 2026-11-25):

* Liquidation price ``(Entry -/+ Margin / Contract Multiplier / Size) / [1 -/+ (MMR + Taker Rate)]`` ("-"
  long, "+" short): Gate support answer https://www.gatenode.pro/post/status/3870211 , cited by freqtrade
  (``freqtrade/freqtrade:freqtrade/exchange/exchange.py``) as
  https://www.gate.io/help/futures/futures/27724/liquidation-price-bankruptcy-price . The taker fee enters the
  liquidation price; no maintenance deduction.
* Liquidation process (mark price triggers; isolated: position margin incl. uPnL reaches MM; cross: whole
  balance; market close, then insurance fund, then ADL):
  https://gate.tv/en/help/futures/perpetual/22159/liquidation-process .
* Margin mode in the API: ``leverage = 0`` means cross (with ``cross_leverage_limit``), a non-zero leverage
  switches to isolated, through the *position* leverage endpoint
  (https://github.com/gateio/gateapi-python/issues/117).

Mode-switch reasoning: Gate selects cross or isolated by updating the leverage of the position itself (``POST
/futures/usdt/positions/{contract}/leverage``), an operation defined on an existing position, and no page
found prohibits it. We therefore model ``ANYTIME``: switching with a position open moves its initial margin
between the cross wallet and the position. This is an inference, noted in the rule set.

Tiers: no Gate risk-limit table is bundled. BTC_USDT and ETH_USDT use one flat, **approximate** tier (MMR
0.5 %, 100x), the tier-1 values of Bybit's BTCUSDT risk limits, until Gate's ``risk_limit_tiers`` are loaded
(``--tiers``). Fees 0.05 % taker / 0.02 % maker are Gate's regular-user futures rates
(https://www.gate.io/fee), not re-checked in this session.
"""

from __future__ import annotations

from functools import cache

from marginlab.rules.spec import VenueSpec

SPEC = VenueSpec.read("gate")
native_symbol = SPEC.native_symbol
venue = cache(SPEC.venue)
