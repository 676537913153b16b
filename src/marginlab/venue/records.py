"""The account and the order as the order path holds them: plain records, no ORM.

The plain-SQL order path (:mod:`marginlab.venue.rawsql`) reads the account row and writes the new order
itself; building detached ORM objects for them (:class:`~marginlab.venue.models.AccountRow`,
:class:`~marginlab.venue.models.OrderRow`) cost ~20 % of the service's CPU per order in SQLAlchemy's
instrumentation (constructor, attribute events) for objects no session ever sees. The records here have
the same attribute names; the code both paths share (the trader, the ledger, the state's save, the JSON
shapes) takes either: :data:`AccountFields` / :data:`OrderFields`, the ORM row (session-bound, flushed by
the ORM) or the record (written by :mod:`~marginlab.venue.rawsql`). mypy checks every attribute the shared
code reads or sets against both.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

from marginlab.venue.models import AccountRow, OrderRow


# eq=False: compared by identity, as the ORM rows are
@dataclass(slots=True, eq=False)
class AccountRecord:
    """An account row as the order path reads it (``rawsql.ACCOUNT_COLUMNS`` lists these fields in order)."""

    id: int
    created_ms: int
    updated_ms: int
    position_mode: str
    wallet: Decimal
    deposited: Decimal
    bonus_granted: Decimal
    bonus_left: Decimal
    liquidations: int
    version: int


@dataclass(slots=True, eq=False, kw_only=True)
class OrderRecord:
    """A new order of the order path; ``id`` is set once ``rawsql.Tx.insert_order`` inserted it."""

    account_id: int
    algo: bool
    client_order_id: str
    symbol: str
    side: str
    position_side: str
    type: str
    time_in_force: str
    price: Decimal
    stop_price: Decimal
    working_type: str
    qty: Decimal
    executed_qty: Decimal
    avg_price: Decimal
    cum_quote: Decimal
    reduce_only: bool
    close_position: bool
    status: str
    reserved: Decimal
    created_ms: int
    updated_ms: int
    id: int = 0


AccountFields: TypeAlias = AccountRow | AccountRecord
"""An account as the shared code takes it: the ORM row or the order path's record."""

OrderFields: TypeAlias = OrderRow | OrderRecord
"""An order as the shared code takes it: the ORM row or the order path's record."""
