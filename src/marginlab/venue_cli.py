"""``marginlab venue``: serve the paper venue, create accounts, list them, set marks.

Every subcommand creates or upgrades the schema of the database it is given, so they work in any order on a
new database, and while ``serve`` runs on the same database.
"""

from __future__ import annotations

import gc
import json
import secrets
import sys
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from marginlab.errors import InputError, MarginLabError
from marginlab.venue.database import make_engine, upgrade_schema
from marginlab.venue.settings import DEFAULT_PORT, VenueSettings
from marginlab.venue.views import AccountView

venue_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="The paper-trading venue: ccxt's binanceusdm trades against the exact engine.",
)
account_app = typer.Typer(no_args_is_help=True, help="Accounts of the paper venue.")
venue_app.add_typer(account_app, name="account")

DbOpt = Annotated[
    str | None, typer.Option("--db", help="Database URL (default sqlite:///venue.db or MARGINLAB_VENUE_DB).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _fail(exc: MarginLabError) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


def _service(db: str | None) -> Any:
    from marginlab.venue.prices import seed_prices
    from marginlab.venue.service import VenueService

    settings = VenueSettings.from_env(db_url=db)
    engine = make_engine(settings.db_url)
    upgrade_schema(engine)
    service = VenueService(engine, settings)
    service.seed_prices(seed_prices())
    return service


def _decimal(name: str, raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InputError(name, raw, "a decimal number") from None
    if not value.is_finite():
        raise InputError(name, raw, "a finite number")
    return value


@venue_app.command()
def serve(
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = DEFAULT_PORT,
    prices: Annotated[
        str, typer.Option(help="Price source: manual | scenario:NAME | datadir:DIR | sim:MODEL.")
    ] = "manual",
    speed: Annotated[float, typer.Option(help="Scenario seconds of history per second.")] = 60.0,
    loop: Annotated[bool, typer.Option("--loop/--no-loop", help="Restart the scenario at its end.")] = True,
    seed: Annotated[int, typer.Option(help="Seed of sim:MODEL (the same seed, the same market).")] = 0,
) -> None:
    """Start the venue (HTTP API for ccxt).

    FastAPI on uvicorn; OpenAPI at /docs and /openapi.json.
    """
    import uvicorn

    from marginlab.api.app import create_app
    from marginlab.venue.prices import PriceFeed, parse_source, seed_prices

    try:
        parse_source(prices)
        settings = VenueSettings.from_env(db_url=db, host=host)
        if settings.admin_token is None and settings.loopback:
            settings = VenueSettings.from_env(db_url=db, host=host, admin_token=secrets.token_urlsafe(24))
            typer.echo(f"admin token (this run only): {settings.admin_token}", err=True)
        elif settings.admin_token is None:
            typer.echo(
                "warning: non-loopback bind without MARGINLAB_VENUE_ADMIN_TOKEN: admin operations are off",
                err=True,
            )
        app = create_app(settings)
        service = app.state.service
        service.seed_prices(seed_prices())
        feed = PriceFeed(service, prices, speed=speed, loop=loop, seed=seed)
    except MarginLabError as exc:
        raise _fail(exc) from None
    # What start-up loaded (modules, rule sets, SQLAlchemy's and FastAPI's own objects: ~230,000) lives as
    # long as the server: frozen out of the cyclic collector, a full collection no longer walks it (one
    # took 120 ms at start-up, measured with gc.callbacks), so one during a request costs a few ms.
    gc.collect()
    gc.freeze()
    feed.start()
    typer.echo(
        f"marginlab venue on http://{host}:{port} ({len(service.listed_symbols())} symbols, prices {prices})",
        err=True,
    )
    try:
        # proxy_headers off: nothing here reads the client's address (limits are per API key), so the
        # per-request X-Forwarded-* rewrite would be work for nothing
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=False)
    finally:
        feed.stop()


@account_app.command("create")
def account_create(
    db: DbOpt = None,
    deposit: Annotated[str, typer.Option(help="Own funds, USDT.")] = "10000",
    bonus: Annotated[
        str, typer.Option(help="Bonus funds, USDT (backs positions, never withdrawable).")
    ] = "5500",
    url: Annotated[
        str, typer.Option(help="The venue's URL, for the dashboard link.")
    ] = f"http://127.0.0.1:{DEFAULT_PORT}",
    as_json: JsonOpt = False,
) -> None:
    """Create an account and its API key; the secret is shown this once.

    Also prints dashboard_url: a link that signs a browser in to the dashboard, once, within 15 minutes.
    """
    try:
        if not url.startswith(("http://", "https://")):
            raise InputError("url", url, "an http:// or https:// URL")
        service = _service(db)
        new = service.create_account(deposit=_decimal("deposit", deposit), bonus=_decimal("bonus", bonus))
        token = service.create_sign_in_link(new.account_id)
    except MarginLabError as exc:
        raise _fail(exc) from None
    data = {
        "account_id": new.account_id,
        "api_key": new.api_key,
        "api_secret": new.api_secret,
        "dashboard_url": f"{url.rstrip('/')}/signin/link?token={token}",
    }
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
        return
    for key, value in data.items():
        typer.echo(f"{key}: {value}")
    typer.echo(
        "(the secret is shown once; it is stored encrypted; the link works once, for 15 minutes)", err=True
    )


def _account_row(view: AccountView) -> dict[str, Any]:
    return {
        "account_id": view.account_id,
        "equity": str(view.margin_balance),
        "wallet": str(view.wallet_balance),
        "bonus_granted": str(view.bonus_granted),
        "bonus_left": str(view.bonus_left),
        "open_positions": len(view.positions),
        "liquidations": view.liquidations,
    }


@venue_app.command()
def accounts(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the accounts and their equity.

    Equity, bonus left, open positions and liquidations so far, per account.
    """
    try:
        rows = [_account_row(v) for v in _service(db).accounts()]
    except MarginLabError as exc:
        raise _fail(exc) from None
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    typer.echo(f"{'id':>4} {'equity':>16} {'bonus left':>12} {'positions':>9} {'liquidations':>12}")
    for r in rows:
        equity = Decimal(r["equity"]).quantize(Decimal("0.01"))
        bonus = Decimal(r["bonus_left"]).quantize(Decimal("0.01"))
        typer.echo(
            f"{r['account_id']:>4} {equity:>16} {bonus:>12} {r['open_positions']:>9} {r['liquidations']:>12}"
        )


@venue_app.command()
def mark(
    pairs: Annotated[list[str], typer.Argument(help="SYMBOL PRICE [SYMBOL PRICE …]")],
    db: DbOpt = None,
    url: Annotated[str | None, typer.Option(help="A running venue's URL (instead of --db).")] = None,
    admin_token: Annotated[str | None, typer.Option(help="The running venue's admin token.")] = None,
) -> None:
    """Set marks and last prices by hand.

    Every account's liquidation check runs in the same transaction.
    """
    try:
        if len(pairs) % 2:
            raise InputError("pairs", " ".join(pairs), "SYMBOL PRICE pairs")
        prices = {pairs[i].upper(): _decimal(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)}
        if url is not None:
            checked = _mark_over_http(url, admin_token, prices)
        else:
            service = _service(db)
            for symbol in prices:
                service.rules.instrument(symbol)
            checked = service.update_prices({s: (p, p) for s, p in prices.items()})
    except MarginLabError as exc:
        raise _fail(exc) from None
    typer.echo(f"marks set: {', '.join(f'{s} {p}' for s, p in prices.items())}; accounts checked: {checked}")


def _mark_over_http(url: str, token: str | None, prices: dict[str, Decimal]) -> int:
    import urllib.error
    import urllib.request

    if not token:
        raise InputError("admin_token", None, "the running venue's admin token with --url")
    if not url.startswith(("http://", "https://")):
        raise InputError("url", url, "an http:// or https:// URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url.rstrip("/") + "/admin/v1/mark",
        data=json.dumps({"prices": {s: str(p) for s, p in prices.items()}}).encode(),
        headers={"X-ADMIN-TOKEN": token, "Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        msg = json.loads(exc.read() or b"{}").get("msg", exc.reason)
        raise InputError("url", url, "a venue accepting the mark", problem=f"venue refused: {msg}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise InputError("url", url, "a reachable venue", problem=f"cannot reach {url}: {exc}") from None
    return int(body["accounts_checked"])
