"""Schemathesis over the served OpenAPI description, every operation, against a real pushd.

Two passes, both deterministic (``derandomize``, no example database):

* with the operation's own key (the admin key for ``/v1/admin``): never a 5xx, and every
  answer is documented for its operation: status code, content type, headers and body schema.
  Path parameters name real records some of the time (a fresh :class:`World` per operation),
  so the handlers past the 404 are reached too. The phone's endpoint answers only 200 ``{}``
  or 400 with the protocol's fixed body.
* with no key, a wrong key, and the other scope's key: always the documented 401 with the JSON
  error body and ``WWW-Authenticate``, and the store does not change by a single row.

The spec's ``positive_data_acceptance`` and ``negative_data_rejection`` checks are not run: the
spec describes shapes, and the server also refuses well-shaped values for reasons a JSON
schema does not say (an IP address that is not one, a weak password, a username with a space),
or, where harmless, reads ``null`` as "absent".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pushd.app import STORE_FILE
from pushd.handlers.device import BAD_REQUEST
from pushd.openapi import openapi_spec
from tests.adversarial.live import Live, live_pushd
from tests.adversarial.world import World, pick, seed

CONFORMS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MAX_WAIT = 0.05  # a generated long-poll may wait, briefly
PUBLIC = ("/push/device", "/healthz", "/readyz")  # "security": [] in the spec

# A PDF is sent as it is, like the JPEG and PNG samples schemathesis has built in.
schemathesis.serializer.alias("application/pdf", "application/octet-stream")


def load_schema(*, max_examples: int, phases: list[str]) -> Any:
    """The served spec, with a config of its own (never a schemathesis.toml found on disk)."""
    schema = schemathesis.openapi.from_dict(openapi_spec(), config=schemathesis.Config())
    schema.config.generation.update(
        max_examples=max_examples,
        deterministic=True,
        database="none",
        with_security_parameters=False,  # the keys are the test's to choose
    )
    schema.config.phases.update(phases=phases)
    return schema


keyed = load_schema(max_examples=6, phases=["examples", "coverage", "fuzzing"])
unkeyed = load_schema(max_examples=3, phases=["fuzzing"]).exclude(path=list(PUBLIC))
SETTINGS = settings(
    database=None,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_pushd(tmp_path_factory.mktemp("keyed")) as server:
        yield server


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A pushd holding nothing but its two keys: any change at all is visible."""
    with live_pushd(tmp_path_factory.mktemp("unkeyed")) as server:
        yield server


_worlds: dict[tuple[str, str], World] = {}


def world_for(case: Case[Any], live: Live) -> World:
    """One world per operation (and server), seeded the first time the operation needs one."""
    key = (live.base_url, case.operation.label)
    if key not in _worlds:
        _worlds[key] = live.run(seed(live.harness))
    return _worlds[key]


def aim(case: Case[Any], live: Live) -> None:
    """Point about half the path parameters at real records; keep long-polls short."""
    if case.path_parameters:
        world = world_for(case, live)
        params = dict(case.path_parameters)
        for name, value in case.path_parameters.items():
            real = world.real(case.path, name)
            if real is not None and pick(f"{case.path}:{name}", value):
                params[name] = real
        if params != case.path_parameters:
            case.path_parameters = params  # assigned, so schemathesis re-reads the metadata
    wait = (case.query or {}).get("wait")
    try:
        too_long = wait is not None and float(wait) > MAX_WAIT
    except (TypeError, ValueError):
        too_long = False  # not a number: pushd must refuse it, as it is
    if too_long:
        case.query = {**(case.query or {}), "wait": MAX_WAIT}


def key_for(live: Live, path: str) -> str:
    return live.harness.admin_key if path.startswith("/v1/admin/") else live.harness.api_key


@keyed.parametrize()
@SETTINGS
def test_every_answer_with_the_right_key_is_documented(case: Case[Any], live: Live) -> None:
    aim(case, live)
    headers = {} if case.path in PUBLIC else {"Authorization": f"Bearer {key_for(live, case.path)}"}
    response = case.call(base_url=live.base_url, headers=headers, timeout=10)
    case.validate_response(response, checks=CONFORMS, headers=headers)
    if case.path == "/push/device" and response.request.method == "POST":
        body = response.json()
        if (case.query or {}).get("_action") == "pending" and response.status_code == 200:
            assert set(body) == {"notifications"}, body  # pushd's poll fallback
        else:
            assert (response.status_code, body) in ((200, {}), (400, BAD_REQUEST)), body
    elif case.path.startswith("/v1/") and response.status_code >= 400:
        assert isinstance(response.json()["error"]["code"], str)


def wrong_keys(live: Live, path: str) -> dict[str, dict[str, str]]:
    other = live.harness.api_key if path.startswith("/v1/admin/") else live.harness.admin_key
    return {
        "no key": {},
        "wrong key": {"Authorization": "Bearer pk_" + "A" * 43},
        "not bearer": {"Authorization": f"Basic {key_for(live, path)}"},
        "the other scope's key": {"Authorization": f"Bearer {other}"},
    }


def store_rows(live: Live) -> list[tuple[Any, ...]]:
    """Every row of every table, read through a second, read-only connection."""
    path = Path(live.harness.services.ctx.settings.data_dir) / STORE_FILE
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [(t, *row) for t in sorted(tables) for row in db.execute(f"SELECT * FROM {t}")]  # noqa: S608


@unkeyed.parametrize()
@SETTINGS
def test_without_the_right_key_every_answer_is_a_documented_401(
    case: Case[Any], bare: Live
) -> None:
    documented = case.operation.definition.raw["responses"]
    assert "401" in documented, f"{case.operation.label} does not document its 401"
    before = store_rows(bare)
    for label, headers in wrong_keys(bare, case.path).items():
        response = case.call(base_url=bare.base_url, headers=headers, timeout=10)
        assert response.status_code == 401, (label, response.status_code, response.text)
        case.validate_response(response, checks=CONFORMS, headers=headers)
        assert response.json() == {
            "error": {"code": "unauthorized", "message": "a valid API key is required"}
        }, label
        assert response.headers["www-authenticate"] == ['Bearer realm="pushd"'], label
    assert store_rows(bare) == before
    assert bare.harness.transport.sent.empty()
