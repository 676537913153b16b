"""Bybit USDT perpetuals (classic account, isolated-margin help-centre formula): the rule set is
``data/bybit.toml``; this module explains it.

Sources (checked 2026-11-25):

* Isolated liquidation price, maintenance margin **at the entry price** and the three published examples
  (19,700; 23,300; 19,900):
  https://testnet.bybit.com/en-US/help-center/s/article/Liquidation-Price-USDT-Contract .
  ``LP = Entry -/+ (IM - MM + extra margin) / size`` with ``MM = size * Entry * MMR - deduction``; no fee term
  in the classic formula (the Unified Trading Account adds a fee to close, not modelled here).
* Bankruptcy price (long ``Entry * (1 - IMR)``; example long 1 BTC @ 10,000 at 50x -> 9,800), summary of
  Bybit's page at https://mobie.io/faq/what-is-bybits-bankruptcy-price-how-can-i-calculate-it ; "the position
  will be settled at the bankruptcy price" (bankruptcy-style liquidation).
* Risk-limit tiers, ``MM = PV * MMR - deduction`` and the deduction recurrence:
  https://bybitglobal.com/en/announcement-info/margin-parameters ; BTCUSDT tier values from the help page
  https://www.fourbit.net/en/help-center/article/Maintenance-Margin-USDT-Contract (2,000,000 -> 0.5 %,
  2,600,000 -> 0.56 %) and from a ``GET /v5/market/risk-limit`` payload (newer layout: 300,000 / 0.33 % /
  150x, 2,000,000 / 0.5 % / 100x / deduction 510, 2,600,000 / 0.56 % / 90x / deduction 1,710; a third-party
  fixture, consistent with the recurrence). The bundled table is the newer layout; it ends at 2,600,000 USDT,
  where the documented data ends.
* Liquidation process (tiered/partial liquidation by FillOrKill down to the lower tier, then take-over at the
  bankruptcy price):
  https://help.bybit.com/hc/en-us/articles/900000167723-Liquidation-Process-USDT-Contract- .
* Margin mode switching: https://bybit-exchange.github.io/docs/v5/account/set-margin-mode (UTA, account level;
  the listed failure reasons include open positions and active orders) and
  ``POST /v5/position/switch-isolated`` (classic, per symbol).
* Fees 0.055 % taker / 0.02 % maker: Bybit's VIP 0 derivatives rates
  (https://www.bybit.com/en/help-center/article/Trading-Fee-Structure), not re-checked in this session.

Mode-switch reasoning: the UTA switch is account-level "with conditions" and the documented rejection reasons
of ``set-margin-mode`` include "no positions" / "no active orders"; the classic
per-symbol switch carries no documented permission to convert an open position. We therefore model the
conservative policy ``FLAT_ONLY`` (as on Binance): a symbol's margin mode changes only when it has no
position.
"""

from __future__ import annotations

from functools import cache

from marginlab.rules.spec import VenueSpec

SPEC = VenueSpec.read("bybit")
native_symbol = SPEC.native_symbol
venue = cache(SPEC.venue)
