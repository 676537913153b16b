"""The account and the order as the order path holds them: plain records, no ORM.

The plain-SQL order path (:mod:`marginlab.venue.rawsql`) reads the account row and writes the new order
itself; building detached ORM objects for them (:class:`~marginlab.venue.models.AccountRow`,
:class:`~marginlab.venue.models.OrderRow`) cost ~20 % of the service's CPU per order in SQLAlchemy's
instrumentation (constructor, attribute events) for objects no session ever sees. The records here have
the same attribute names; the code both paths share (the trader, the ledger, the state's save, the JSON
shapes) takes the :class:`AccountFields` / :class:`OrderFields` protocols, which the ORM rows (session-bound,
flushed by the ORM) and the records (written by :mod:`~marginlab.venue.rawsql`) both satisfy.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


class AccountFields(Protocol):
    """An account row's columns (an ORM :class:`~marginlab.venue.models.AccountRow`, an AccountRecord)."""

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


class OrderFields(Protocol):
    """An order row's columns (an ORM :class:`~marginlab.venue.models.OrderRow`, an OrderRecord)."""

    id: int
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


# eq=False: compared by identity, as the ORM rows are
@dataclass(slots=True, eq=False)
class AccountRecord:
    """An account row as the order path reads it (fields in the order of ``rawsql.ACCOUNT_COLUMNS``)."""

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
