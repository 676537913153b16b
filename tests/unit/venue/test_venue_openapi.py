"""schemathesis over /openapi.json on SQLite and PostgreSQL: no 5xx; documented answers fit their schema."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import Engine

from marginlab.api.app import create_app
from marginlab.venue.settings import VenueSettings

ADMIN = "schema-admin-token-012345"


@pytest.fixture
def api_schema(engine: Engine, tmp_path: Path) -> Any:
    app = create_app(VenueSettings(key_file=tmp_path / "k", admin_token=ADMIN), engine=engine)
    app.state.service.update_prices({"BTCUSDT": (D(100000), D(100000))})
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_server_error_and_documented_shapes(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 40

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate(
                headers={"X-ADMIN-TOKEN": ADMIN}, checks=[not_a_server_error, response_schema_conformance]
            )

        check()
