"""OKX USDT-margined perpetual swaps (``BTC-USDT-SWAP``): the rule set is ``data/okx.toml``; this module
explains it. Its own trait, tiers counted in contracts without deduction, is a ``bands`` table with ``basis =
"contracts"`` and ``deduction = "none"``.

Sources (checked 2026-11-25, unless dated otherwise):

* Liquidation trigger (margin ratio 100 %: equity <= maintenance margin plus liquidation fees; cancellation,
  partial and/or full liquidation): https://okx.huicker.com/fr-fr/help/v-tiered-maintenance-margin-ratio-rules
  (republished copy of OKX "Tiered maintenance margin ratio rules", updated 2025-05-16).
* Isolated MM = position value (mark) x tier MMR; tiers counted in **contracts** per direction:
  https://tr.okx.com/help/tier (2024-05-16). ``GET /api/v5/public/position-tiers`` (``minSz, maxSz, mmr, imr,
  maxLever``); no maintenance deduction; ``ctVal`` of BTC-USDT-SWAP = 0.01 BTC.
* Perpetual isolated liquidation price as freqtrade implements it for OKX
  (``freqtrade/freqtrade:freqtrade/exchange/exchange.py::dry_run_liquidation_price``): ``long (open -
  margin/amount) / (1 - (mmr + taker))``, ``short (open + margin/amount) / (1 + (mmr + taker))``, i.e. the
  general formula with the taker fee added to the maintenance rate.
* Tier rows: ``freqtrade/freqtrade:tests/exchange/test_okx.py::test_get_maintenance_ratio_and_amt_okx``
  (ETH-USDT rows "copied from an OKX response": 0-2,000 contracts 1 % / 75x, 2,001-4,000 1.5 % / 50x,
  4,001-8,000 2 % / 20x), read 2026-11-25 at commit 0680ca2f. Contracts are divisible on OKX, so the band
  ``2,001-4,000`` is bundled as ``(2,000, 4,000]``.
* Margin mode per order (``tdMode = cross | isolated``), so cross and isolated positions may coexist on one
  instrument: freqtrade ``tests/exchange/test_exchange.py::test__get_params``; hence ``ANYTIME``.
* Fees 0.05 % taker / 0.02 % maker: OKX's regular-user (Lv1) swap rates (https://www.okx.com/fees), not
  re-checked in this session.
* ETH-USDT-SWAP ``ctVal`` 0.1 ETH: OKX public instruments payload (``GET /api/v5/public/instruments``), not
  re-checked in this session.
"""

from __future__ import annotations

from functools import cache

from marginlab.rules.spec import VenueSpec

SPEC = VenueSpec.read("okx")
native_symbol = SPEC.native_symbol
venue = cache(SPEC.venue)
