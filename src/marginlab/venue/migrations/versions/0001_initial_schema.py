"""Initial schema: accounts, keys, settings, positions, orders, trades, income, margin changes, market.

Revision ID: 0001
Revises:
Create Date: 2026-12-01 09:54:57.269925
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("position_mode", sa.String(length=8), nullable=False),
        sa.Column("wallet", sa.String(length=64), nullable=False),
        sa.Column("deposited", sa.String(length=64), nullable=False),
        sa.Column("bonus_granted", sa.String(length=64), nullable=False),
        sa.Column("bonus_left", sa.String(length=64), nullable=False),
        sa.Column("liquidations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "market",
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("mark", sa.String(length=64), nullable=False),
        sa.Column("last", sa.String(length=64), nullable=False),
        sa.Column("index_price", sa.String(length=64), nullable=False),
        sa.Column("funding_rate", sa.String(length=64), nullable=False),
        sa.Column("next_funding_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", name=op.f("pk_market")),
    )
    op.create_table(
        "price_ticks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("mark", sa.String(length=64), nullable=False),
        sa.Column("last", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_ticks")),
    )
    with op.batch_alter_table("price_ticks", schema=None) as batch_op:
        batch_op.create_index("ix_price_ticks_symbol_time", ["symbol", "time_ms"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("api_key", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_keys_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("api_key", name=op.f("pk_api_keys")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_account_id"), ["account_id"], unique=False)

    op.create_table(
        "income",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("income_type", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.String(length=64), nullable=False),
        sa.Column("info", sa.String(length=64), nullable=False),
        sa.Column("trade_id", sa.String(length=32), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_income_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_income")),
    )
    with op.batch_alter_table("income", schema=None) as batch_op:
        batch_op.create_index("ix_income_account", ["account_id", "time_ms"], unique=False)

    op.create_table(
        "margin_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("type", sa.Integer(), nullable=False),
        sa.Column("amount", sa.String(length=64), nullable=False),
        sa.Column("position_side", sa.String(length=5), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_margin_changes_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_margin_changes")),
    )
    with op.batch_alter_table("margin_changes", schema=None) as batch_op:
        batch_op.create_index("ix_margin_changes_account", ["account_id", "symbol"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("algo", sa.Boolean(), nullable=False),
        sa.Column("client_order_id", sa.String(length=36), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("position_side", sa.String(length=5), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("time_in_force", sa.String(length=4), nullable=False),
        sa.Column("price", sa.String(length=64), nullable=False),
        sa.Column("stop_price", sa.String(length=64), nullable=False),
        sa.Column("working_type", sa.String(length=16), nullable=False),
        sa.Column("qty", sa.String(length=64), nullable=False),
        sa.Column("executed_qty", sa.String(length=64), nullable=False),
        sa.Column("avg_price", sa.String(length=64), nullable=False),
        sa.Column("cum_quote", sa.String(length=64), nullable=False),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        sa.Column("close_position", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reserved", sa.String(length=64), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_orders_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("account_id", "algo", "client_order_id", name="uq_orders_client_id"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_account", ["account_id", "symbol"], unique=False)
        batch_op.create_index("ix_orders_open", ["symbol", "status"], unique=False)

    op.create_table(
        "positions",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=5), nullable=False),
        sa.Column("qty", sa.String(length=64), nullable=False),
        sa.Column("entry", sa.String(length=64), nullable=False),
        sa.Column("leverage", sa.String(length=64), nullable=False),
        sa.Column("margin_mode", sa.String(length=8), nullable=False),
        sa.Column("margin", sa.String(length=64), nullable=False),
        sa.Column("liq_price_hint", sa.Float(), nullable=True),
        sa.Column("hint_exact", sa.Boolean(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_positions_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "symbol", "side", name=op.f("pk_positions")),
    )
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.create_index("ix_positions_symbol", ["symbol"], unique=False)

    op.create_table(
        "symbol_settings",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("margin_mode", sa.String(length=8), nullable=False),
        sa.Column("leverage", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_symbol_settings_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "symbol", name=op.f("pk_symbol_settings")),
    )
    op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("position_side", sa.String(length=5), nullable=False),
        sa.Column("qty", sa.String(length=64), nullable=False),
        sa.Column("price", sa.String(length=64), nullable=False),
        sa.Column("commission", sa.String(length=64), nullable=False),
        sa.Column("realized_pnl", sa.String(length=64), nullable=False),
        sa.Column("maker", sa.Boolean(), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_trades_account_id_accounts")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_trades_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
    )
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.create_index("ix_trades_account", ["account_id", "symbol"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_index("ix_trades_account")

    op.drop_table("trades")
    op.drop_table("symbol_settings")
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.drop_index("ix_positions_symbol")

    op.drop_table("positions")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_open")
        batch_op.drop_index("ix_orders_account")

    op.drop_table("orders")
    with op.batch_alter_table("margin_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_margin_changes_account")

    op.drop_table("margin_changes")
    with op.batch_alter_table("income", schema=None) as batch_op:
        batch_op.drop_index("ix_income_account")

    op.drop_table("income")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_account_id"))

    op.drop_table("api_keys")
    with op.batch_alter_table("price_ticks", schema=None) as batch_op:
        batch_op.drop_index("ix_price_ticks_symbol_time")

    op.drop_table("price_ticks")
    op.drop_table("market")
    op.drop_table("accounts")
