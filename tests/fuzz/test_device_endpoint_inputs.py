"""The real device endpoint: whatever arrives, the phone gets 200 or the protocol's fixed 400.

pushd runs on its own event loop in a thread so that Hypothesis can drive it example by
example from this (synchronous) test; one pushd serves the whole module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.device_world import ACTIONS, DeviceWorld, running_pushd
from tests.fuzz.strategies import any_text, fuzz_settings, json_values
from tests.fuzz.test_device_reply_inputs import FIELDS, protocol_objects

T = TypeVar("T")


class Remote:
    """A DeviceWorld on a background loop, called synchronously."""

    def __init__(self, data_dir: Path) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self.world: DeviceWorld | None = None
        self._thread = threading.Thread(target=self._run, args=(data_dir,), daemon=True)
        self._thread.start()
        if not self._ready.wait(60) or self.world is None:
            raise RuntimeError(f"pushd did not start: {self._failure!r}")

    def _run(self, data_dir: Path) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve(data_dir))
        self._loop.close()

    async def _serve(self, data_dir: Path) -> None:
        self._stop = asyncio.Event()
        try:
            async with running_pushd(data_dir) as h:
                self.world = await DeviceWorld.create(h)
                self._ready.set()
                await self._stop.wait()
        except BaseException as e:
            self._failure = e
            self._ready.set()
            raise

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)

    def send(self, action: str, body: bytes) -> int:
        assert self.world is not None
        status, _ = self.call(self.world.send(action, body))
        return status

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    served = Remote(tmp_path_factory.mktemp("device-endpoint"))
    try:
        yield served
    finally:
        served.close()


actions = st.sampled_from(ACTIONS)


def test_valid_replies_are_accepted(remote: Remote) -> None:
    """Not vacuous: the world's well-formed replies get 200 (and it renews what they used)."""
    assert remote.world is not None
    for action in ACTIONS:
        assert remote.send(action, remote.world.valid(action)) == 200, action


@fuzz_settings(150)
@given(
    st.sampled_from([*ACTIONS, "", "REGISTER", "unknown", "register&_action=pending"]),
    st.binary(max_size=300) | st.text(max_size=200).map(str.encode),
)
def test_arbitrary_bodies(remote: Remote, action: str, body: bytes) -> None:
    remote.send(action, body)


envelope_values = any_text | json_values
envelopes = st.fixed_dictionaries(
    {"messageId": envelope_values, "jwt": envelope_values}
) | st.fixed_dictionaries(
    {"mechanismUid": envelope_values, "jwt": envelope_values},
    optional={"username": envelope_values},
)


@fuzz_settings(150)
@given(actions, envelopes | st.dictionaries(st.sampled_from(FIELDS) | any_text, json_values))
def test_arbitrary_envelopes(remote: Remote, action: str, fields: dict[str, object]) -> None:
    remote.send(action, json.dumps(fields).encode())


@fuzz_settings(200)
@given(actions, protocol_objects)
def test_correctly_signed_arbitrary_claims(
    remote: Remote, action: str, claims: dict[str, object]
) -> None:
    """Past the signature check: what the claim parsers see from a phone with the secret."""
    assert remote.world is not None
    with contextlib.suppress(UnicodeEncodeError):  # sign_jwt refuses unencodable claims
        remote.send(action, remote.world.signed(action, claims))


@fuzz_settings(200)
@given(actions, st.data())
def test_valid_claims_with_one_value_replaced(
    remote: Remote, action: str, data: st.DataObject
) -> None:
    assert remote.world is not None
    claims = remote.world.claims(action)
    key = data.draw(st.sampled_from(sorted(claims)) | st.sampled_from(FIELDS))
    claims[key] = data.draw(json_values)
    with contextlib.suppress(UnicodeEncodeError):
        remote.send(action, remote.world.signed(action, claims))


@fuzz_settings(200)
@given(
    actions,
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=7),
    st.sampled_from(['"', "\\", "\\ud800", "{", "}", ",", ":", "null", "[]", "=", "."]) | any_text,
)
def test_mutated_valid_bodies(remote: Remote, action: str, at: int, cut: int, insert: str) -> None:
    assert remote.world is not None
    remote.send(action, remote.world.mutated(action, at, cut, insert))
