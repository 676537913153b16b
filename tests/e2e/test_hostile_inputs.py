"""Hostile input, table-driven (issue 8, "Bad input: one line, exit 2, never a traceback").

Every input the issue lists, through the real ``marginlab`` command: each row is a command line and the
files it reads, the exit code expected and the substrings its one-line message must hold (the field and
the value). A refusal is exactly one line on stderr, never a traceback, never the last-resort line
(``error: input not understood``) that means no validation caught it. Each generic file attack (bytes
that are not UTF-8, nesting 100,000 deep, a 5,000-digit integer, an empty file) runs through every
command that reads a file; a UTF-8 byte-order mark must be accepted by all of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import Result

from marginlab.cli import UNVALIDATED
from support import EXAMPLES, run_cli

BOOK = """exchange = "binance"
[balances]
USDT = "10000"
[[positions]]
symbol = "BTCUSDT"
side = "long"
{position}
"""
SEED = 'qty = "0.05"\nentry = "100000"\nmode = "isolated"\nleverage = "10"'
SCRIPT = """exchange = "binance"
[balances]
USDT = "10000"
[[steps]]
op = "open"
symbol = "BTCUSDT"
side = "long"
{open}
price = "100000"
leverage = "10"
{more}
"""


def book(position: str = SEED, side: str = "long") -> str:
    """Return a portfolio file with one BTCUSDT position (its keys given as TOML lines)."""
    return BOOK.format(position=position).replace('side = "long"', f'side = "{side}"')


def script(open_size: str = 'qty = "0.05"', more: str = "") -> str:
    """Return a what-if script opening 0.05 BTCUSDT long at 100,000, then ``more`` steps."""
    return SCRIPT.format(open=open_size, more=more)


def mark_step(prices: str) -> str:
    return f'[[steps]]\nop = "mark"\nprices = {{ {prices} }}'


SIZE = ["size", "--symbol", "BTCUSDT", "--side", "long", "--equity", "1000", "--risk", "1"]
SIZE += ["--entry", "100000", "--stop", "95000"]
# every command that reads a portfolio or script file; {file} is the file under test
READERS = {
    "liq": ["liq", "{file}"],
    "modes": ["modes", "{file}"],
    "run": ["run", "{file}"],
    "compare": ["compare", "{file}", "--scenario", "2025-10-10"],
    "risk": ["risk", "{file}", "--paths", "200", "--horizon", "6h"],
    "size": [*SIZE[:2], "ETHUSDT", *SIZE[3:10], "4000", "--stop", "3800", "--portfolio", "{file}"],
    "advise": ["advise", "{file}", "--trade", "ETHUSDT long notional=1000", "--paths", "200"],
}
DEEP_JSON = "[" * 100_000 + "]" * 100_000
DEEP_TOML = "a = " + "[" * 100_000 + "]" * 100_000 + "\n"
DIGITS = "1" * 5_000


@dataclass(frozen=True)
class Row:
    """One hostile input: the command line, the files it reads, what must come out."""

    id: str
    args: list[str]
    files: dict[str, str | bytes] = field(default_factory=dict)
    code: int = 2
    says: tuple[str, ...] = ()


def generic_rows() -> list[Row]:
    """The file attacks, through every command that reads a file."""
    rows = []
    for name, args in READERS.items():
        valid = script() if name == "run" else book()
        rows += [
            Row(
                f"{name}-not-utf8",
                args,
                {"file.toml": b'exchange = "binance\xff"\n'},
                2,
                ("not UTF-8", "0xff"),
            ),
            Row(f"{name}-deep-json", args, {"file.json": DEEP_JSON}, 2, ("nested deeper than 32",)),
            Row(f"{name}-deep-toml", args, {"file.toml": DEEP_TOML}, 2, ("nested deeper than 32",)),
            Row(
                f"{name}-4300-digits", args, {"file.toml": f"x = {DIGITS}\n"}, 2, ("more than 4,300 digits",)
            ),
            Row(f"{name}-empty-toml", args, {"file.toml": ""}, 2, ("file.toml", "empty ")),
            Row(f"{name}-bom-accepted", args, {"file.toml": "\ufeff" + valid}, 0),
        ]
    return rows


def P(position: str, side: str = "long") -> dict[str, str | bytes]:
    return {"file.toml": book(position, side)}


def S(open_size: str = 'qty = "0.05"', more: str = "") -> dict[str, str | bytes]:
    return {"file.toml": script(open_size, more)}


# Multi-Assets: 0.1 BTC backs a 0.1 BTC long (cross)
MULTI = book('qty = "0.1"\nentry = "100000"\nleverage = "10"').replace(
    '[balances]\nUSDT = "10000"', 'multi_assets = true\n[balances]\nBTC = "0.1"'
)
LIQ, RUN, COMPARE = READERS["liq"], READERS["run"], READERS["compare"]
RISK = ["risk", "{file}", "--paths", "200"]
ADVISE = READERS["advise"]
BIG_SYMBOL = "X" * 50_000_000

ROWS = [
    *generic_rows(),
    # numbers that overflow or vanish
    Row("qty-1e999999", LIQ, P('qty = "1e999999"\nentry = "100000"'), 2, ("positions[0].qty", "'1e999999'")),
    Row("qty-1e-999999", LIQ, P('qty = "1e-999999"\nentry = "100000"'), 2, ("positions[0].qty", "1e-999999")),
    Row("compare-notional-1e400", COMPARE, P('notional = "1e400"'), 2, ("positions[0].notional", "1e400")),
    Row("run-notional-1e400", RUN, S('notional = "1e400"'), 2, ("steps[0].notional", "1e400")),
    Row(
        "compare-margin-1e400",
        COMPARE,
        P('qty = "0.05"\nmode = "isolated"\nmargin = "1e400"'),
        2,
        ("positions[0].margin", "1e400"),
    ),
    Row(
        "run-mark-1e400", RUN, S(more=mark_step('BTCUSDT = "1e400"')), 2, ("steps[1].prices.BTCUSDT", "1e400")
    ),
    Row("liq-1_000-string", LIQ, P('qty = "1_000"\nentry = "100000"'), 2, ("positions[0].qty", "'1_000'")),
    Row("liq-arabic-digits", LIQ, P('qty = "٠.٠٥"\nentry = "100000"'), 2, ("positions[0].qty", "٠.٠٥")),
    Row("liq-devanagari-entry", LIQ, P('qty = "0.05"\nentry = "१००००"'), 2, ("positions[0].entry", "१००००")),
    Row(
        "run-price-1_0",
        RUN,
        {"file.toml": script().replace('"100000"', '"100_000"')},
        2,
        ("steps[0].price", "100_000"),
    ),
    Row("liq-nan-entry", LIQ, P('qty = "0.05"\nentry = "nan"'), 2, ("positions[0].entry", "'nan'")),
    # options
    Row("size-risk-nan", [*SIZE[:8], "nan", *SIZE[9:]], {}, 2, ("risk", "'nan'")),
    Row("size-buffer-nan", [*SIZE, "--buffer", "nan"], {}, 2, ("buffer", "'nan'")),
    Row("size-buffer-inf", [*SIZE, "--buffer", "inf"], {}, 2, ("buffer", "'inf'")),
    Row("size-equity-1e400", [*SIZE[:6], "1e400", *SIZE[7:]], {}, 2, ("equity", "1e400")),
    Row("risk-seed-negative", [*RISK, "--seed", "-1"], P(SEED), 2, ("seed", "-1")),
    Row("risk-paths-2^31", [*RISK, "--paths", str(2**31)], P(SEED), 2, ("paths", "2147483648")),
    Row("liq-exchange-empty", [*LIQ, "--exchange", ""], P(SEED), 2, ("--exchange", "''")),
    Row("run-exchange-empty", [*RUN, "--exchange", ""], S(), 2, ("--exchange", "''")),
    Row("size-exchange-empty", [*SIZE, "--exchange", ""], {}, 2, ("exchange", "''")),
    Row(
        "advise-trade-duplicate",
        ["advise", "{file}", "--trade", "ETHUSDT long notional=1000 notional=5000"],
        P(SEED),
        2,
        ("--trade notional", "given twice", "'1000'", "'5000'"),
    ),
    Row(
        "advise-profile-duplicate",
        [*ADVISE, "--profile", "risk=low,risk=high"],
        P(SEED),
        2,
        ("--profile risk", "given twice"),
    ),
    Row(
        "advise-json-duplicate-key",
        ADVISE,
        {"file.json": '{"balances": {"USDT": "1000"}, "balances": {"USDT": "9"}, "positions": []}'},
        2,
        ("duplicate key 'balances'",),
    ),
    # symbols: unknown ones refused by name, a huge one never echoed whole
    Row(
        "run-mark-unknown-symbol",
        RUN,
        S(more=mark_step('FOOUSDT = "1"')),
        2,
        ("steps[1].prices.FOOUSDT", "unknown symbol 'FOOUSDT'"),
    ),
    Row(
        "run-funding-unknown-symbol",
        RUN,
        S(more='[[steps]]\nop = "funding"\nrates = { FOOUSDT = "0.01" }'),
        2,
        ("steps[1].rates.FOOUSDT", "unknown symbol 'FOOUSDT'"),
    ),
    Row(
        "liq-50MB-symbol-json",
        LIQ,
        {"file.json": '{"positions": [{"symbol": "' + BIG_SYMBOL + '", "side": "long", "qty": "1"}]}'},
        2,
        ("positions[0].symbol", "XXXX'…", "50,000,000 characters"),
    ),
    Row(
        "run-1MB-symbol-toml",
        RUN,
        {"file.toml": script().replace('"BTCUSDT"', '"' + "Y" * 1_000_000 + '"')},
        2,
        ("steps[0].symbol", "YYYY'…"),
    ),
    Row("run-1MB-unknown-key", RUN, {"file.toml": script() + "Z" * 1_000_000 + ' = "1"\n'}, 2, ("ZZZZ…",)),
    # fields that must name themselves
    Row(
        "liq-mark-not-a-number",
        LIQ,
        P('qty = "0.05"\nentry = "100000"\nmark = "abc"'),
        2,
        ("positions[0].mark", "'abc'"),
    ),
    Row(
        "liq-mark-zero", LIQ, P('qty = "0.05"\nentry = "100000"\nmark = "0"'), 2, ("positions[0].mark", "'0'")
    ),
    Row(
        "run-mark-not-a-number",
        RUN,
        S(more=mark_step('BTCUSDT = "abc"')),
        2,
        ("steps[1].prices.BTCUSDT", "'abc'"),
    ),
    # positions that cannot be what they say
    Row(
        "compare-open_at-after-the-data",
        COMPARE,
        P('qty = "0.05"\nopen_at = 2030-01-01T00:00:00Z'),
        2,
        ("open_at 2030-01-01", "after the data ends", "never opens"),
    ),
    Row(
        "compare-long-stop-above-entry",
        COMPARE,
        P('qty = "0.05"\nentry = "100000"\nstop_loss = "110000"'),
        2,
        ("positions[0]", "stop_loss 110000", "below its entry 100000"),
    ),
    Row(
        "compare-short-stop-below-entry",
        COMPARE,
        P('qty = "0.05"\nentry = "100000"\nstop_loss = "90000"', side="short"),
        2,
        ("positions[0]", "stop_loss 90000", "above its entry 100000"),
    ),
    Row(
        "compare-long-stop-above-open",
        COMPARE,
        P('qty = "0.05"\nstop_loss = "1000000"'),
        2,
        ("positions[0].stop_loss", "1000000", "below its opening price"),
    ),
    Row(
        "liq-leverage-below-1",
        LIQ,
        P('qty = "0.05"\nentry = "100000"\nleverage = "0.5"'),
        2,
        ("positions[0].leverage", "'0.5'"),
    ),
    Row(
        "run-leverage-below-1",
        RUN,
        {"file.toml": script().replace('leverage = "10"', 'leverage = "0.5"')},
        2,
        ("steps[0].leverage", "'0.5'"),
    ),
    Row("size-leverage-below-1", [*SIZE, "--leverage", "0.5"], {}, 2, ("leverage", "0.5")),
    Row(
        "liq-negative-taker-fee",
        LIQ,
        P('qty = "0.05"\nentry = "100000"\ntaker_fee = "-0.1"'),
        2,
        ("positions[0].taker_fee", "'-0.1'"),
    ),
    Row(
        "run-negative-taker-fee",
        RUN,
        S(more='[instruments.BTCUSDT]\ntaker_fee = "-0.01"'),
        2,
        ("instruments.BTCUSDT.taker_fee", "'-0.01'"),
    ),
    Row(
        "liq-qty-below-one-lot",
        LIQ,
        P('qty = "0.0001"\nentry = "100000"'),
        2,
        ("positions[0]", "qty", "one lot (0.001 BTCUSDT)", "0.0001"),
    ),
    Row(
        "compare-qty-below-one-lot",
        COMPARE,
        P('qty = "0.0001"\nentry = "100000"'),
        2,
        ("positions[0]", "qty", "0.0001"),
    ),
    Row("run-qty-below-one-lot", RUN, S('qty = "0.0001"'), 1, ("steps[0] (open): qty", "0.0001")),
    Row("risk-qty-below-one-lot", RISK, P('qty = "0.0001"\nentry = "100000"'), 2, ("qty", "0.0001")),
    # Multi-Assets books: risk and advise simulate the pool (issue 8); what is still refused names the field
    Row("risk-multi-assets-accepted", RISK, {"file.toml": MULTI}, 0),
    Row("advise-multi-assets-accepted", ADVISE, {"file.toml": MULTI}, 0),
    Row(
        "risk-multi-assets-bybit",
        RISK,
        {"file.toml": MULTI.replace('"binance"', '"bybit"')},
        2,
        ("multi_assets", "Bybit"),
    ),
    Row(
        "risk-multi-assets-doge-collateral",
        RISK,
        {"file.toml": MULTI.replace('BTC = "0.1"', 'BTC = "0.1"\nDOGE = "1000"')},
        2,
        ("balances.DOGE", "'DOGE'"),
    ),
    Row(
        "risk-multi-assets-isolated-unfunded",
        [*RISK, "--modes", "isolated"],
        {"file.toml": MULTI},
        2,
        ("modes", "no mode can be simulated", "balances.USDT", "leaves Multi-Assets mode"),
    ),
    Row(
        "liq-tiers-not-utf8",
        [*LIQ, "--tiers", "{tiers}"],
        {"file.toml": book(), "tiers.json": b'{"BTC/USDT:USDT": "\xfe"}'},
        2,
        ("tiers.json", "not UTF-8"),
    ),
]


def invoke(args: list[str], tmp_path: Path, files: dict[str, str | bytes]) -> Result:
    """Write the row's files and run ``marginlab ARGS`` in-process ({file}, {tiers}: the files' paths)."""
    paths: dict[str, str] = {}
    for name, content in files.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        paths["tiers" if name.startswith("tiers") else "file"] = str(path)
    return run_cli([a.format(**paths) if "{" in a else a for a in args])


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_hostile_input(row: Row, tmp_path: Path) -> None:
    result = invoke(row.args, tmp_path, row.files)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == row.code, (result.exit_code, result.stderr[:500], result.stdout[:300])
    err = result.stderr
    assert "Traceback" not in err
    if row.code == 0:
        assert not err.strip() or "error" not in err, err
        assert result.stdout.strip()
        return
    lines = err.splitlines()
    assert len(lines) == 1, lines[:5]
    (line,) = lines
    assert line.startswith("error: ") and not line.startswith(UNVALIDATED), line
    assert len(line) < 400, line[:500]  # nothing is echoed whole
    for part in row.says:
        assert part in line, (part, line)


def test_a_bom_file_gives_the_same_answer_as_without(tmp_path: Path) -> None:
    text = (EXAMPLES / "seed.toml").read_text(encoding="utf-8")
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    plain = run_cli(["liq", str(EXAMPLES / "seed.toml"), "--json"])
    marked = run_cli(["liq", str(bom), "--json"])
    assert marked.exit_code == plain.exit_code == 0
    assert marked.stdout == plain.stdout
    assert '"liquidation_price": "90361.44578313"' in marked.stdout


def test_the_installed_command_prints_one_line_not_a_traceback(tmp_path: Path) -> None:
    """A 100,000-deep document through the real ``marginlab`` process (its own interpreter and stack)."""
    path = tmp_path / "deep.json"
    path.write_text(DEEP_JSON, encoding="utf-8")
    exe = Path(sys.executable).with_name("marginlab")
    done = subprocess.run(
        [str(exe), "liq", str(path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "nested deeper than 32" in lines[0], lines[:5]


def test_a_dead_scheduler_fails_fast_in_one_line(tmp_path: Path) -> None:
    """`risk --scheduler tcp://127.0.0.1:1`: one 'cannot connect' line, exit 2 (gives up at 5 s)."""
    path = tmp_path / "book.toml"
    path.write_text(book(), encoding="utf-8")
    result = run_cli(["risk", str(path), "--paths", "100", "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "--scheduler: cannot connect to a Dask scheduler at tcp://127.0.0.1:1" in line


def test_scenario_all_says_why_a_late_position_is_left_out(tmp_path: Path) -> None:
    """`compare --scenario all`: a position opening after every scenario ends is named as such in each."""
    path = tmp_path / "late.toml"
    path.write_text(book('qty = "0.05"\nopen_at = 2030-01-01T00:00:00Z'), encoding="utf-8")
    result = run_cli(["compare", str(path), "--scenario", "all", "--json"])
    assert result.exit_code == 0, result.stderr
    runs = json.loads(result.stdout)
    skipped = [r.get("skipped", "") for r in runs["scenarios"].values()]
    assert skipped and all("open_at 2030-01-01 00:00 UTC is after the data ends" in s for s in skipped), (
        skipped
    )
