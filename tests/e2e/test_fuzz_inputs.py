"""Fuzz the file formats through the CLI: any document gives a report or one error line, never a traceback.

Hypothesis draws portfolio and script documents over the schema — valid shapes with hostile values
(``1e400``, ``nan``, ``1_000``, other scripts' digits, floats, booleans, huge and tiny numbers, unknown and
dated symbols, wrong types, unknown keys, unicode) next to plausible ones, so that both refusals and real
reports are reached — and raw bytes as files. Each goes through ``marginlab CMD FILE --json`` in-process
(the entry the command line uses). The property: exit 0 (or 1 for ``run``: a step the venue refused) with
a JSON report on stdout, or exit 2 with exactly one ``error: ...`` line that is not the last-resort line
(``error: input not understood``, which would mean no validation caught the input).

``make test`` runs a few hundred documents in well under a minute; ``MARGINLAB_FUZZ_EXAMPLES=N`` scales
every test to N examples for a longer hunt.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from marginlab.cli import UNVALIDATED
from support import run_cli

SCALE = os.environ.get("MARGINLAB_FUZZ_EXAMPLES")


def fuzz(examples: int) -> Callable[[Any], Any]:
    """Hypothesis settings: ``examples`` documents (or MARGINLAB_FUZZ_EXAMPLES), no deadline."""
    return settings(
        max_examples=int(SCALE) if SCALE else examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


HOSTILE_NUMBERS = [
    "1e400",
    "-1e400",
    "1e999999",
    "1e-999999",
    "1e-19",
    "1e24",
    "1e25",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "-0",
    "0",
    "0.0",
    "1_000",
    "١٠٠",
    "१२३",
    "٠.٥",
    "0x10",
    " 1 ",
    "1e",
    ".",
    "",
    "1.2.3",
    "99999999999999999999999999999999",
    "0.000000000000000001",
    "-1",
    "1e9999999999",
]
plausible = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(200_000), places=3).map(str)
numbers = st.one_of(
    plausible,
    plausible,
    st.sampled_from(HOSTILE_NUMBERS),
    st.integers(-(10**30), 10**30),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
    st.lists(st.integers(0, 9), max_size=2),
)
symbols = st.one_of(
    st.sampled_from(["BTCUSDT", "ETHUSDT", "DOGEUSDT", "XRPUSDT", "ETHUSDC", "BTC/USDT:USDT"]),
    st.sampled_from(["BTC/USDT:USDT-260925", "FOOUSDT", "", " ", "btcusdt", "X" * 500, "BTC/", "/:"]),
    st.text(max_size=16),
)
assets = st.one_of(st.sampled_from(["USDT", "USDC", "BTC", "ETH", "BNB", "FOO", ""]), st.text(max_size=6))


def word(*good: str) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(list(good)), st.sampled_from(["", "LONG", "Cross", "both"]), numbers)


times = st.one_of(
    st.datetimes().map(lambda t: t.isoformat()),
    st.sampled_from(["2025-10-10T12:00:00Z", "2030-01-01T00:00:00Z", "1999-01-01", "not a time"]),
)
extra = st.dictionaries(st.text(max_size=8), numbers, max_size=1)

position = st.fixed_dictionaries(
    {"symbol": symbols, "side": word("long", "short")},
    optional={
        "qty": numbers,
        "notional": numbers,
        "entry": numbers,
        "mark": numbers,
        "mode": word("cross", "isolated"),
        "leverage": st.one_of(st.sampled_from(["1", "5", "10", "20", "125", "0.5", "200"]), numbers),
        "margin": numbers,
        "open_at": times,
        "stop_loss": numbers,
        "take_profit": numbers,
        "mmr": st.one_of(st.sampled_from(["0.005", "0.01", "0.5", "1", "-0.1"]), numbers),
        "maintenance_amount": numbers,
        "taker_fee": numbers,
        "max_leverage": numbers,
        "auto_add_margin": st.one_of(
            st.fixed_dictionaries({}, optional={"trigger": numbers, "target": numbers}), numbers
        ),
    },
)
common = {
    "exchange": st.one_of(
        st.sampled_from(["binance", "bybit", "okx", "gate", "bitget", "hyperliquid", "dydx"]),
        st.sampled_from(["", "BINANCE", "ftx"]),
        numbers,
    ),
    "position_mode": word("one-way", "hedge"),
    "balances": st.one_of(st.dictionaries(assets, numbers, max_size=3), numbers),
    "multi_assets": st.one_of(st.booleans(), numbers),
    "index_prices": st.dictionaries(assets, numbers, max_size=2),
    "collateral": st.dictionaries(
        assets,
        st.fixed_dictionaries(
            {}, optional={"value_ratio": numbers, "bid_buffer": numbers, "ask_buffer": numbers}
        ),
        max_size=2,
    ),
}
portfolios = st.builds(
    lambda doc, more: doc | more,
    st.fixed_dictionaries(
        {"balances": st.dictionaries(assets, numbers, min_size=1, max_size=3)},
        optional={k: v for k, v in common.items() if k != "balances"}
        | {"positions": st.one_of(st.lists(position, max_size=3), numbers)},
    ),
    extra,
)
step = st.fixed_dictionaries(
    {"op": word("open", "increase", "reduce", "close", "add_margin", "remove_margin", "mark", "funding")},
    optional={
        "symbol": symbols,
        "side": word("long", "short"),
        "qty": numbers,
        "notional": numbers,
        "price": numbers,
        "leverage": numbers,
        "mode": word("cross", "isolated"),
        "margin": numbers,
        "amount": numbers,
        "liquidity": word("taker", "maker"),
        "expect": word("ok", "refused"),
        "prices": st.one_of(st.dictionaries(symbols, numbers, max_size=2), numbers),
        "rates": st.one_of(st.dictionaries(symbols, numbers, max_size=2), numbers),
    },
)
scripts = st.builds(
    lambda doc, more: doc | more,
    st.fixed_dictionaries(
        {"steps": st.one_of(st.lists(step, min_size=1, max_size=5), numbers)},
        optional={
            **common,
            "instruments": st.dictionaries(
                symbols, st.fixed_dictionaries({}, optional={"mmr": numbers}), max_size=1
            ),
            "insurance_fund": numbers,
        },
    ),
    extra,
)


PRICES = {"BTCUSDT": (60_000, 120_000), "ETHUSDT": (2_000, 5_000), "XRPUSDT": (1, 3)}


def price(symbol: str) -> st.SearchStrategy[str]:
    low, high = PRICES[symbol]
    return st.decimals(min_value=low, max_value=high, places=2).map(str)


@st.composite
def sound_position(draw: st.DrawFn) -> dict[str, Any]:
    """A position the venue can hold (whole lots, a price near the market, leverage within the tiers)."""
    symbol = draw(st.sampled_from(list(PRICES)))
    side = draw(st.sampled_from(["long", "short"]))
    out: dict[str, Any] = {"symbol": symbol, "side": side, "leverage": str(draw(st.integers(1, 20)))}
    out["mode"] = draw(st.sampled_from(["cross", "isolated"]))
    if draw(st.booleans()):
        out["qty"] = str(draw(st.integers(1, 2_000)) * (Decimal("0.001") if symbol != "XRPUSDT" else 1))
    else:
        out["notional"] = str(draw(st.integers(100, 50_000)))
    entry = Decimal(draw(price(symbol)))
    out["entry"] = str(entry)
    if draw(st.booleans()):
        out["mark"] = str(entry * Decimal(draw(st.sampled_from(["0.5", "0.9", "1", "1.1", "2"]))))
    if draw(st.booleans()):
        sign = 1 if side == "long" else -1
        loss = Decimal(draw(st.sampled_from(["0.01", "0.1", "0.5"])))
        out["stop_loss"] = str(entry * (1 - sign * loss))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A sound document with, sometimes, one value replaced by a hostile one or an unknown key added."""
    doc = draw(base)
    how = draw(st.sampled_from(["as is", "as is", "value", "value", "key"]))
    if how == "key":
        doc[draw(st.text(max_size=8))] = draw(numbers)
        return doc
    if how == "value":
        holder: Any = doc
        while isinstance(holder, dict | list) and holder:
            keys = list(holder) if isinstance(holder, dict) else list(range(len(holder)))
            key = draw(st.sampled_from(keys))
            if not isinstance(holder[key], dict | list) or draw(st.booleans()):
                holder[key] = draw(numbers)
                break
            holder = holder[key]
    return doc


sound_portfolios = st.fixed_dictionaries(
    {
        "exchange": st.just("binance"),  # other venues bundle other symbols: the hostile documents try them
        "balances": st.fixed_dictionaries({"USDT": st.integers(0, 1_000_000).map(str)}),
        "positions": st.lists(sound_position(), min_size=1, max_size=3, unique_by=lambda p: p["symbol"]),
    }
)


@st.composite
def sound_script(draw: st.DrawFn) -> dict[str, Any]:
    """A script opening positions, moving marks, paying funding, resizing and closing."""
    opened = draw(st.lists(sound_position(), min_size=1, max_size=2, unique_by=lambda p: p["symbol"]))
    steps: list[dict[str, Any]] = []
    for pos in opened:
        fill = draw(price(pos["symbol"]))
        size = {k: pos[k] for k in ("qty", "notional") if k in pos}
        steps.append(
            {"op": "open", "symbol": pos["symbol"], "side": pos["side"], "price": fill, **size}
            | {"leverage": pos["leverage"], "mode": pos["mode"]}
        )
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.sampled_from(opened))
        op = draw(st.sampled_from(["mark", "funding", "reduce", "close", "add_margin", "set_leverage"]))
        step: dict[str, Any] = {"op": op}
        if op == "mark":
            step["prices"] = {pos["symbol"]: draw(price(pos["symbol"]))}
        elif op == "funding":
            step["rates"] = {pos["symbol"]: draw(st.sampled_from(["0.0001", "-0.0003", "0.01", "0.5"]))}
        elif op == "set_leverage":
            step |= {"symbol": pos["symbol"], "leverage": str(draw(st.integers(1, 20)))}
        elif op == "add_margin":
            step |= {"symbol": pos["symbol"], "amount": str(draw(st.integers(1, 1000)))}
        else:
            step |= {"symbol": pos["symbol"], "price": draw(price(pos["symbol"]))}
            if op == "reduce":
                step["qty"] = draw(st.sampled_from(["0.001", "1", "0.5"]))
        steps.append(step)
    return {"balances": {"USDT": str(draw(st.integers(0, 1_000_000)))}, "steps": steps}


def check(args: list[str], doc: Any, *, allow_refused_step: bool = False, toml: bytes | None = None) -> None:
    """Write ``doc`` (JSON, or the TOML bytes) and run the command on it: a report, or one error line."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("doc.toml" if toml is not None else "doc.json")
        if toml is not None:
            path.write_bytes(toml)
        else:
            path.write_text(json.dumps(doc, default=str, ensure_ascii=False), encoding="utf-8")
        result = run_cli([a if a != "{file}" else str(path) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception),
        doc,
    )
    err = result.stderr
    event(f"exit {result.exit_code}")  # --hypothesis-show-statistics: how many reports, how many refusals
    assert "Traceback" not in err
    if result.exit_code == 2:
        lines = err.splitlines()
        assert len(lines) == 1, (lines[:5], doc)
        assert lines[0].startswith("error: ") and not lines[0].startswith(UNVALIDATED), (lines[0], doc)
        assert len(lines[0]) < 600, lines[0][:700]
        return
    assert result.exit_code == 0 or (allow_refused_step and result.exit_code == 1), (
        result.exit_code,
        err[:500],
        doc,
    )
    report = json.loads(result.stdout)  # a valid report
    assert report, doc


@fuzz(120)
@given(doc=st.one_of(portfolios, mutated(sound_portfolios)))
def test_liq_gives_a_report_or_one_line(doc: dict[str, Any]) -> None:
    check(["liq", "{file}", "--json"], doc)


@fuzz(60)
@given(doc=st.one_of(portfolios, mutated(sound_portfolios)))
def test_modes_gives_a_report_or_one_line(doc: dict[str, Any]) -> None:
    check(["modes", "{file}", "--json"], doc)


@fuzz(120)
@given(doc=st.one_of(scripts, mutated(sound_script())))
def test_run_gives_a_report_or_one_line(doc: dict[str, Any]) -> None:
    check(["run", "{file}", "--json"], doc, allow_refused_step=True)


@fuzz(20)
@given(doc=st.one_of(portfolios, mutated(sound_portfolios)))
def test_compare_gives_a_report_or_one_line(doc: dict[str, Any]) -> None:
    check(["compare", "{file}", "--scenario", "2025-10-10", "--json"], doc)


@fuzz(12)
@given(doc=st.one_of(portfolios, mutated(sound_portfolios)))
def test_risk_gives_a_report_or_one_line(doc: dict[str, Any]) -> None:
    check(["risk", "{file}", "--paths", "50", "--horizon", "2h", "--json"], doc)


@fuzz(40)
@given(raw=st.one_of(st.text(max_size=200).map(str.encode), st.binary(max_size=200)))
def test_any_bytes_as_a_toml_file_give_a_report_or_one_line(raw: bytes) -> None:
    check(["liq", "{file}", "--json"], raw, toml=raw)
