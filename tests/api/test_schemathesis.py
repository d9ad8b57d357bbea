"""Schemathesis against the generated OpenAPI schema, in-process (WSGI), as an admin with a JWT: no
operation answers with a server error, and every response matches the schema, errors included (its
status code, content type and body).

Requests go through Django's real WSGI handler, so the seeded rows are committed (transactional_db);
the flatten endpoint publishes to a Tansu started for the test.
"""

from __future__ import annotations

import io

import pytest
import schemathesis
from django.core.management import call_command
from django.test import override_settings
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alphapanda import infra, kafka
from alphapanda.wsgi import application
from tests.api.conftest import BROKERS, make_users, seed_ledger


@pytest.fixture(scope="module")
def tansu(tmp_path_factory):
    """One Tansu for the module (every operation is its own test); flatten publishes to it."""
    service = infra.start_tansu(tmp_path_factory.mktemp("tansu"))
    with override_settings(KAFKA_BOOTSTRAP=service.url, ACTIVE_BROKERS=BROKERS):
        call_command("create_topics", stdout=io.StringIO())
        yield service.url
        kafka.close_producer(timeout=1)
    service.stop()


@pytest.fixture
def admin_headers(transactional_db, tansu, settings):
    settings.KAFKA_BOOTSTRAP = tansu
    users = make_users()
    seed_ledger()
    token = RefreshToken.for_user(users["admin"]).access_token
    return {"Authorization": f"Bearer {token}"}


# Loaded in-process through the WSGI app at collection (the schema view needs no database).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)

# What was asked (no 5xx, bodies match their schemas), plus: every status code and content type is documented.
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,  # the same cases every run
    database=None,  # no .hypothesis directory
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_to_the_schema(case, admin_headers):
    # Our JWT replaces any Authorization header a case carries.
    case.call_and_validate(headers=admin_headers, checks=CHECKS)
