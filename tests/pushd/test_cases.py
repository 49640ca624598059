"""Manual verification: the ID document is checked, sealed, and destroyed for good."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from tests.support.harness import Harness

STORES = ("sqlite", "redis")  # every test here runs on both stores

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 40 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"ID-DOCUMENT-" * 500


async def upload(h: Harness, case_id: str, data: bytes, kind: str) -> tuple[int, Any]:
    response = await h.client.put(
        f"/v1/cases/{case_id}/evidence",
        data=io.BytesIO(data),
        headers={**h.auth, "Content-Type": kind},
    )
    return response.status, await response.json()


async def open_case(h: Harness, name: str) -> str:
    _, case = await h.call(
        "POST", f"/v1/users/{name}/cases", json={"note": "lost my phone"}, expect=201
    )
    assert case["state"] == "opened"
    return str(case["id"])


async def test_approved_case_resets_mfa_and_leaves_nothing_behind(harness: Harness) -> None:
    await harness.create_user("alice", email="alice@example.com")
    await harness.enrol("alice")
    case_id = await open_case(harness, "alice")
    status, error = await harness.call("POST", "/v1/users/alice/cases")
    assert (status, error["error"]["code"]) == (409, "case_open")
    assert (await upload(harness, case_id, JPEG, "image/jpeg"))[1]["state"] == "evidence_received"
    _, shown = await harness.call("GET", f"/v1/admin/cases/{case_id}", expect=200, admin=True)
    assert (shown["has_document"], shown["document_type"]) == (True, "image/jpeg")
    document = await harness.client.get(
        f"/v1/admin/cases/{case_id}/evidence",
        headers={"Authorization": f"Bearer {harness.admin_key}"},
    )
    assert await document.read() == JPEG
    approve = f"/v1/admin/cases/{case_id}/approve"
    status, error = await harness.call("POST", approve, admin=True)
    assert (status, error["error"]["code"]) == (409, "checks_incomplete")
    for check in ("names_match", "from_registered_email", "avatar_matches"):
        await harness.call(
            "POST",
            f"/v1/admin/cases/{case_id}/checks",
            json={"check": check, "passed": True, "note": "ok"},
            expect=200,
            admin=True,
        )
    sealed = await sealed_document(harness, case_id)
    await assert_somewhere(harness, sealed)  # the search can find it
    _, decided = await harness.call(
        "POST", approve, json={"note": "verified"}, expect=200, admin=True
    )
    assert (decided["state"], decided["document_destroyed"], decided["has_document"]) == (
        "closed",
        True,
        False,
    )
    assert [c["check"] for c in decided["checks"]] == [
        "names_match",
        "from_registered_email",
        "avatar_matches",
    ]
    _, mfa = await harness.call("GET", "/v1/users/alice/mfa", expect=200)
    assert (mfa["state"], mfa["devices"]) == ("unset", [])
    # Every copy of the document is gone: not in the store, not in any file.
    status, _ = await harness.call("GET", f"/v1/admin/cases/{case_id}/evidence", admin=True)
    assert status == 404
    await assert_nowhere(harness, sealed)


async def test_rejected_case_changes_nothing_but_destroys_the_document(harness: Harness) -> None:
    await harness.create_user("bob", email="bob@example.com")
    await harness.enrol("bob")
    case_id = await open_case(harness, "bob")
    await upload(harness, case_id, PNG, "image/png")
    sealed = await sealed_document(harness, case_id)
    await harness.call(
        "POST",
        f"/v1/admin/cases/{case_id}/checks",
        json={"check": "names_match", "passed": False},
        expect=200,
        admin=True,
    )
    _, decided = await harness.call(
        "POST",
        f"/v1/admin/cases/{case_id}/reject",
        json={"note": "names differ"},
        expect=200,
        admin=True,
    )
    assert (decided["state"], decided["decision_note"]) == ("closed", "names differ")
    _, mfa = await harness.call("GET", "/v1/users/bob/mfa", expect=200)
    assert len(mfa["devices"]) == 1
    await assert_nowhere(harness, sealed)
    assert (await upload(harness, case_id, PNG, "image/png"))[0] == 409  # closed: no more uploads
    await open_case(harness, "bob")  # a new case can be opened


async def test_a_new_upload_destroys_the_previous_one(harness: Harness) -> None:
    await harness.create_user("carl")
    case_id = await open_case(harness, "carl")
    await upload(harness, case_id, JPEG, "image/jpeg")
    first = await sealed_document(harness, case_id)
    await upload(harness, case_id, PNG, "image/png")
    await assert_nowhere(harness, first)


async def test_documents_are_checked(harness: Harness) -> None:
    await harness.create_user("dana")
    case_id = await open_case(harness, "dana")
    assert (await upload(harness, case_id, PNG, "image/jpeg"))[1]["error"]["code"] == (
        "unsupported_media_type"
    )
    assert (await upload(harness, case_id, b"GIF89a...", "image/gif"))[0] == 415
    big = b"\xff\xd8\xff" + bytes(10 * 1024 * 1024)
    assert (await upload(harness, case_id, big, "image/jpeg"))[0] == 413
    _, state = await harness.call("GET", f"/v1/cases/{case_id}", expect=200)
    assert state["state"] == "opened"
    assert set(state) == {"id", "state", "opened_at"}


async def test_cli_cases(harness: Harness, tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    import asyncio
    import json

    from pushd.cli import main

    await harness.create_user("erik")
    case_id = await open_case(harness, "erik")
    await upload(harness, case_id, JPEG, "image/jpeg")
    for name, value in harness.cli_env().items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> int:
        return main(list(args))

    assert await asyncio.to_thread(run, "case", "list", "--state", "evidence_received") == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["id"] == case_id
    out = tmp_path / "doc.jpg"
    assert await asyncio.to_thread(run, "case", "document", case_id, "--out", str(out)) == 0
    assert out.read_bytes() == JPEG
    for check in ("names_match", "from_registered_email", "avatar_matches"):
        assert await asyncio.to_thread(run, "case", "check", case_id, check, "pass") == 0
    assert await asyncio.to_thread(run, "case", "approve", case_id) == 0
    assert await asyncio.to_thread(run, "case", "show", case_id) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "closed"


async def sealed_document(h: Harness, case_id: str) -> bytes:
    """The document as the store keeps it (sealed): what must vanish from the disk."""
    record = await h.services.cases.get(case_id)
    assert record.case.evidence_ref is not None
    found = await h.services.ctx.store.evidence.get(record.case.evidence_ref)
    assert found is not None
    return found.record.sealed


def _pieces(sealed: bytes) -> list[bytes]:
    # Pages split a large value: look for several slices from its body.
    return [sealed[i : i + 48] for i in range(40, len(sealed) - 48, max(1, len(sealed) // 8))]


async def assert_somewhere(h: Harness, sealed: bytes) -> None:
    contents = await h.stored_bytes()
    assert all(any(piece in c for c in contents) for piece in _pieces(sealed))


async def assert_nowhere(h: Harness, sealed: bytes) -> None:
    contents = await h.stored_bytes()
    for piece in _pieces(sealed):
        assert not any(piece in c for c in contents), "a copy of the document is still stored"
