"""The paper venue's settings: one frozen object from ``MARGINLAB_VENUE_*`` variables; CLI flags override.

Every simulation choice the venue makes is a setting here, with its default and the reason for it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from marginlab.errors import InputError

ENV_PREFIX = "MARGINLAB_VENUE_"
DEFAULT_DB = "sqlite:///venue.db"
DEFAULT_PORT = 8700
PLACEHOLDER_TOKENS = frozenset({"", "changeme", "changethis", "secret", "admin", "token"})


class BonusLossOrder(StrEnum):
    """Which money a loss consumes first when an account holds bonus funds.

    ``OWN_FIRST`` (default): losses consume the trader's own funds first and the bonus last, so the bonus
    keeps backing positions as long as possible. This is the rule of marginlab issue 9 ("Bonus funds, made
    precise"), which turns the seed's offer of $5,500 bonus funds into a rule.
    ``BONUS_FIRST``: losses (and fees and funding paid) consume the bonus first, the usual rule of exchange
    trading bonuses and futures vouchers (e.g. the "bonus is used first to pay fees, funding and losses"
    wording of exchange bonus terms; not re-checked on a venue page in this session).
    """

    OWN_FIRST = "own_first"
    BONUS_FIRST = "bonus_first"


def default_key_file() -> Path:
    """Return where the key that encrypts API secrets lives: ``$XDG_CONFIG_HOME/marginlab/venue.key``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "marginlab" / "venue.key"


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueSettings:
    """Settings of one venue process.

    Parameters
    ----------
    db_url : str
        SQLAlchemy URL: ``sqlite:///venue.db`` (default) or ``postgresql+psycopg://user@host/db``.
    half_spread : Decimal
        Half of the synthetic bid/ask spread as a fraction of the last price (0.0001 == 1 bp). A market buy
        fills at ``last * (1 + half_spread)`` rounded up to the tick, a sell at ``last * (1 - half_spread)``
        rounded down: the slippage model of market orders, and the touch of the synthetic book.
    bonus_loss_order : BonusLossOrder
        Which money losses consume first (see :class:`BonusLossOrder`).
    admin_token : str or None
        Token for the admin endpoints (marks, accounts). None: ``serve`` makes one up on a loopback bind and
        refuses admin operations on any other bind.
    host : str
        Address the server binds; used to refuse admin operations on a public bind without a token.
    rate_limit_per_minute : int
        Signed requests per API key per minute (Binance's USDⓈ-M ``REQUEST_WEIGHT`` limit is 2400/min).
    max_body_bytes, max_query_bytes : int
        Largest accepted request body and query string (bytes); larger requests are refused with 413/414.
    key_file : Path
        File holding the Fernet key that encrypts API secrets in the database (created 0600 if absent);
        ``MARGINLAB_VENUE_SECRET_KEY`` (a Fernet key) takes precedence when set.
    funding_interval_hours : int
        Funding settles every this many hours at the rate shown by ``premiumIndex``.
    default_funding_rate : Decimal
        Funding rate of symbols whose price source has none (Binance's 0.01 % per 8 h interest rate).
    """

    db_url: str = DEFAULT_DB
    half_spread: Decimal = Decimal("0.0001")
    bonus_loss_order: BonusLossOrder = BonusLossOrder.OWN_FIRST
    admin_token: str | None = None
    host: str = "127.0.0.1"
    rate_limit_per_minute: int = 2400
    max_body_bytes: int = 16_384
    max_query_bytes: int = 8_192
    key_file: Path = field(default_factory=default_key_file)
    funding_interval_hours: int = 8
    default_funding_rate: Decimal = Decimal("0.0001")

    def __post_init__(self) -> None:
        if not (Decimal(0) <= self.half_spread < Decimal("0.1")):
            raise InputError("half_spread", self.half_spread, "a fraction in [0, 0.1)")
        if self.rate_limit_per_minute <= 0:
            raise InputError("rate_limit_per_minute", self.rate_limit_per_minute, "an integer > 0")
        if self.admin_token is not None and (
            self.admin_token.strip().lower() in PLACEHOLDER_TOKENS or len(self.admin_token) < 16
        ):
            raise InputError(
                "admin_token", "<hidden>", "at least 16 characters and not a placeholder such as 'changeme'"
            )

    @property
    def loopback(self) -> bool:
        """Return whether the server binds a loopback address only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> VenueSettings:
        """Build settings from ``MARGINLAB_VENUE_*`` variables; keyword arguments (CLI flags) win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        readers = {
            "DB": ("db_url", str),
            "HALF_SPREAD": ("half_spread", Decimal),
            "BONUS_LOSS_ORDER": ("bonus_loss_order", BonusLossOrder),
            "ADMIN_TOKEN": ("admin_token", str),
            "RATE_LIMIT": ("rate_limit_per_minute", int),
            "KEY_FILE": ("key_file", Path),
        }
        for suffix, (name, parse) in readers.items():
            raw = env.get(ENV_PREFIX + suffix)
            if raw is not None:
                try:
                    values[name] = parse(raw)
                except (ValueError, ArithmeticError):
                    raise InputError(ENV_PREFIX + suffix, raw, f"a valid {name}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)  # type: ignore[arg-type]
