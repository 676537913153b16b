"""What several test files need: the CLI runner, example files, small portfolios and bars, and the
hypothesis strategies for Binance accounts. Importable from any test (``from support import ...``;
``pythonpath = ["tests"]`` in pyproject); the fixtures built on them live in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click.testing
import numpy as np
import pytest
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from typer.main import get_command
from typer.testing import CliRunner

from marginlab.cli import cli
from marginlab.domain.account import Account
from marginlab.domain.enums import MarginMode, PositionMode, Side
from marginlab.io.bars import Bars
from marginlab.io.schema import Portfolio, parse
from marginlab.rules import get_venue

EXAMPLES = Path(__file__).parents[1] / "src" / "marginlab" / "examples"
RUNNER = CliRunner()
COMMAND = get_command(cli)  # typer builds the click command on every RUNNER.invoke (0.1-0.6 s); once here
_CLICK = click.testing.CliRunner()
# the browser tests drive Debian's Chromium (apt-get install chromium); Playwright never downloads one
CHROMIUM = os.environ.get("MARGINLAB_CHROMIUM", "/usr/bin/chromium")


def no_browser_reason() -> str | None:
    """Return why the browser tests cannot run here (one line), or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need the playwright package (pip install -e '.[dev]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium, or MARGINLAB_CHROMIUM)"
    return None


PG_URL = os.environ.get("MARGINLAB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_schema(prefix: str) -> Iterator[str]:
    """Yield the name of a fresh schema of the test PostgreSQL, dropped afterwards.

    Unreachable: the test is skipped with a one-line reason, except when ``CI=true``, where it fails.
    """
    admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL not reachable at {PG_URL}: {str(exc.orig).strip().splitlines()[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def ccxt_client(url: str, key: str, secret: str) -> Any:
    """Return ccxt's own binanceusdm pointed at a venue (as the paper-venue contract's section 1 says)."""
    import ccxt

    ex = ccxt.binanceusdm(
        {
            "apiKey": key,
            "secret": secret,
            "options": {
                "fetchCurrencies": False,
                "adjustForTimeDifference": False,
                "fetchMarkets": {"types": ["linear"]},
            },
        }
    )
    ex.urls["api"] = {name: url + urlsplit(u).path for name, u in ex.urls["api"].items()}
    ex.session.trust_env = False
    ex.enableRateLimit = False
    return ex


# ----------------------------------------------------------------------------------------------- fakes
def run_cli(args: Sequence[str]) -> click.testing.Result:
    """Run ``marginlab ARGS`` in-process on the command built once (:data:`COMMAND`); return the result."""
    return _CLICK.invoke(COMMAND, list(args))


def invoke(*args: str) -> tuple[int, str, str]:
    """Run ``marginlab ARGS`` in-process; return (exit code, stdout, stderr)."""
    result = run_cli(args)
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write ``text`` to ``tmp_path / name`` (UTF-8) and return the path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def book(*positions: Mapping[str, Any], usdt: str = "10000", **doc: Any) -> Portfolio:
    """Return a validated portfolio with a USDT balance and ``positions`` (file-format dicts)."""
    return parse(Portfolio, {"balances": {"USDT": usdt}, "positions": [dict(p) for p in positions], **doc})


def flat_bars(prices: Mapping[str, Sequence[Sequence[float]]], *, minutes: int = 5) -> Bars:
    """Return bars from OHLC rows per symbol (last and mark alike, no funding), from 2025-10-10 00:00 UTC."""
    rows = {s: np.asarray(r, dtype=np.float64) for s, r in prices.items()}
    n = len(next(iter(rows.values())))
    times = np.datetime64("2025-10-10T00:00", "ns") + np.arange(n) * np.timedelta64(minutes, "m")
    return Bars(
        times=times,
        last=rows,
        mark={s: r.copy() for s, r in rows.items()},
        funding={s: np.zeros(n) for s in rows},
    )


# ------------------------------------------------------------------------------------------ strategies
sides = st.sampled_from([Side.LONG, Side.SHORT])
margin_modes = st.sampled_from([MarginMode.CROSS, MarginMode.ISOLATED])
BOOK_PRICES = {"BTCUSDT": Decimal("60000"), "ETHUSDT": Decimal("3000"), "DOGEUSDT": Decimal("0.2")}


@st.composite
def binance_books(draw: st.DrawFn) -> Account:
    """Draw a Binance account (hedge mode) holding 1-5 cross and isolated positions across tier brackets."""
    venue = get_venue("binance")
    account = Account(
        venue,
        balances={"USDT": Decimal(round(10 ** draw(st.floats(2.0, 7.0)), 2))},
        position_mode=PositionMode.HEDGE,
    )
    for _ in range(draw(st.integers(1, 5))):
        symbol = draw(st.sampled_from(list(BOOK_PRICES)))
        side = draw(sides)
        if (symbol, side) in {(p.symbol, p.side) for p in account.positions}:
            continue
        others = [p for p in account.positions if p.symbol == symbol]
        mode = others[0].mode if others else draw(margin_modes)
        instrument = venue.instrument(symbol)
        entry = BOOK_PRICES[symbol] * Decimal(repr(round(draw(st.floats(0.8, 1.2)), 4)))
        notional = Decimal(round(10 ** draw(st.floats(1.5, 8.2)), 2))
        qty = instrument.round_qty_down(notional / entry)
        if qty <= 0:
            continue
        tier = instrument.tiers.tier_for(qty * entry)
        leverage = Decimal(draw(st.integers(1, int(tier.max_leverage))))
        mark = entry * Decimal(repr(round(draw(st.floats(0.5, 1.5)), 4)))
        account.import_position(instrument, side, qty, entry, mark=mark, leverage=leverage, mode=mode)
    return account


def check_liquidation_vs_bankruptcy(account: Account) -> None:
    """Assert every liquidation price is None or > 0 and on the safe side of its bankruptcy price."""
    for pos in account.positions:
        lp = account.liquidation_price(pos)
        bp = account.bankruptcy_price(pos)
        assert lp is None or lp > Decimal(0)
        assert bp is None or bp > Decimal(0)
        if lp is None or bp is None:
            continue
        net = sum(
            (p.signed_qty for p in account.positions if p.symbol == pos.symbol and p.mode is pos.mode),
            Decimal(0),
        )
        direction = pos.signed_qty if pos.mode is MarginMode.ISOLATED else net
        if direction > Decimal(0):
            assert lp >= bp, (pos, lp, bp)
        elif direction < Decimal(0):
            assert lp <= bp, (pos, lp, bp)
