"""The soak (bench/soak.py): its reconciliation on hand-made ledgers, then a two-minute run.

The reconciliation must catch every kind of disagreement, or the soak could pass while
pushd is wrong; so each check is fed a ledger, metrics, counters, memory or logs with one
thing wrong and must name it. The run itself is two real pushd instances on the shared
Redis (own key prefix), authsim's gateway, a warm-up, then mixed traffic for 80 seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.soak import levelled
from bench.soak_ledger import (
    Entry,
    Kind,
    Ledger,
    Report,
    RssBound,
    RssSeries,
    log_problems,
    parse_metrics,
    reconcile,
)
from pushd.metrics import Metrics
from tests.support.redis import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
SOAK_SECONDS = 80  # plus a warm-up of at most 40 s and ~20 s of set-up: CI's 2.5 minutes


def ledger() -> Ledger:
    """One challenge of each kind, on both push services, as the runner records them."""
    book = Ledger()
    book.registrations.update({"apns": 1, "fcm": 1})
    book.entries += [
        Entry(challenge_id="c1", user="u1", platform="apns", kind=Kind.APPROVE,
              push_type="default", notified=1, reply_status=200,
              polls=[("approved", None)], repolls=1, final=("approved", None)),
        Entry(challenge_id="c2", user="u2", platform="fcm", kind=Kind.DENY,
              push_type="challenge", notified=1, reply_status=200, aborted=1,
              polls=[("denied", "denied_by_user")], final=("denied", "denied_by_user")),
        Entry(challenge_id="c3", user="u1", platform="apns", kind=Kind.IGNORE,
              push_type="default", notified=1, late_status=400,
              polls=[("expired", "timeout")], final=("expired", "timeout")),
        Entry(challenge_id="c4", user="u2", platform="fcm", kind=Kind.WRONG_NUMBER,
              push_type="challenge", notified=1, reply_status=200,
              polls=[("denied", "wrong_number")], final=("denied", "wrong_number")),
        Entry(challenge_id="c5", user="u2", platform="fcm", kind=Kind.STALE_TOKEN,
              push_type="default", fault=(404, "UNREGISTERED"), faults=1,
              followup=(409, "push_device_unreachable"), refresh_status=200,
              polls=[("delivery_failed", "UNREGISTERED")],
              final=("delivery_failed", "UNREGISTERED")),
        Entry(challenge_id="c6", user="u1", platform="apns", kind=Kind.RETRY,
              push_type="challenge", fault=(503, "ServiceUnavailable"), faults=2, notified=1,
              reply_status=200, polls=[("approved", None)], final=("approved", None)),
    ]  # fmt: skip
    return book


def pushd_metrics(stale_label: str = "fcm") -> tuple[Metrics, Metrics]:
    """What two instances would count for that ledger (split between them), by hand."""
    a, b = Metrics(), Metrics()
    a.registrations.labels("confirmed").inc(2)
    a.challenges_created.labels("default").inc(2)
    b.challenges_created.labels("default").inc(1)
    a.challenges_created.labels("challenge").inc(3)
    for m, push_type, outcome in [
        (a, "default", "approved"), (b, "challenge", "approved"), (a, "challenge", "denied"),
        (b, "challenge", "wrong_number"), (a, "default", "expired"),
        (b, "default", "delivery_failed"),
    ]:  # fmt: skip
        m.challenges.labels(push_type, outcome).inc()
    a.sends.labels("apns", "delivered").inc(3)
    b.sends.labels("apns", "delivered").inc(1)
    a.sends.labels("fcm", "delivered").inc(3)
    a.sends.labels("apns", "ServiceUnavailable").inc(2)
    b.sends.labels("fcm", "UNREGISTERED").inc()
    a.send_retries.labels("apns").inc(2)
    b.stale_tokens.labels(stale_label).inc()
    a.fraud_signals.labels("denied").inc()
    b.fraud_signals.labels("wrong_number").inc()
    a.device_replies.labels("register").inc(2)
    a.device_replies.labels("authenticate").inc(4)
    b.device_replies.labels("authenticate").inc(2)
    b.device_replies.labels("refresh").inc()
    a.device_rejects.labels("authenticate", "already_answered").inc()
    a.http_requests.labels("/v1/push/challenges/{id}", "GET", "200").inc(20)
    return a, b


GATEWAY = {"answered": {"apns": {"200": 4, "503": 2}, "fcm": {"200": 3, "404": 1}}}
FLAT = tuple(100.0 + (i % 5) * 0.4 for i in range(40))
LOG = ['{"ts":"t","level":"info","logger":"pushd.cli","msg":"pushd starting"}']


def run_checks(
    book: Ledger | None = None,
    metrics: tuple[Metrics, Metrics] | None = None,
    *,
    gateway: dict[str, Any] | None = None,
    rss: tuple[float, ...] = FLAT,
    logs: list[str] | None = None,
    minimum: int = 0,
) -> Report:
    a, b = metrics or pushd_metrics()
    return reconcile(
        book or ledger(),
        instances={
            "a": parse_metrics(a.render().decode()),
            "b": parse_metrics(b.render().decode()),
        },
        gateway_stats=gateway or GATEWAY,
        rss=[RssSeries("a", rss), RssSeries("b", FLAT)],
        logs={"a": logs or LOG, "b": LOG},
        minimum=minimum,
    )


def failed(report: Report) -> dict[str, tuple[str, ...]]:
    return {check.name: check.failures for check in report.checks if not check.ok}


def test_a_consistent_record_passes_every_check() -> None:
    report = run_checks()
    assert report.ok, report.text()
    assert report.counts["challenges"] == 6
    assert "RESULT: PASS" in report.text()


def test_an_outcome_other_than_the_phones_action_fails() -> None:
    book = ledger()
    book.entries[0].final = book.entries[0].polls[0] = ("denied", "denied_by_user")
    (failures,) = failed(run_checks(book)).values()
    assert "c1 (approve, apns, default): expected ('approved', None)" in failures[0]


def test_two_different_outcomes_for_one_challenge_fail() -> None:
    book = ledger()
    book.entries[2].polls.append(("approved", None))
    report = run_checks(book)
    (failures,) = failed(report).values()
    assert "long-polls said" in failures[0]


def test_a_challenge_without_a_final_outcome_fails() -> None:
    book = ledger()
    book.entries[1].final = ("pending", None)
    assert "no final outcome" in str(failed(run_checks(book)))


@pytest.mark.parametrize(
    ("index", "change", "expect"),
    [
        (0, {"reply_status": 400}, "the phone's answer got HTTP 400"),
        (2, {"late_status": 200}, "a late answer got HTTP 200"),
        (4, {"followup": (201, "")}, "the next login got (201, '')"),
        (4, {"notified": 1}, "the phone got 1 notifications, not 0"),
        (5, {"notified": 2}, "the phone got 2 notifications, not 1"),
    ],
)
def test_what_the_phone_met_is_checked(index: int, change: dict[str, Any], expect: str) -> None:
    book = ledger()
    book.entries[index] = dataclasses.replace(book.entries[index], **change)
    (failures,) = failed(run_checks(book)).values()
    assert expect in failures[0]


def test_metrics_that_disagree_with_the_ledger_fail() -> None:
    a, b = pushd_metrics()
    b.challenges.labels("default", "approved").inc()  # one approval too many
    a.sends.labels("fcm", "timeout").inc()  # a send outcome the ledger never caused
    a.send_retries.labels("fcm").inc()
    a.http_requests.labels("/v1/users/{username}/push/challenges", "POST", "500").inc()
    (failures,) = failed(run_checks(metrics=(a, b))).values()
    text = "\n".join(failures)
    assert 'pushd_challenges_total{outcome="approved",type="default"}: pushd says 2' in text
    assert 'pushd_push_sends_total{outcome="timeout",transport="fcm"}: pushd says 1' in text
    assert 'pushd_push_retries_total{transport="fcm"}: pushd says 1, the ledger 0' in text
    assert 'HTTP 5xx answered: pushd_http_requests_total{method="POST"' in text


def test_a_stale_token_counted_under_another_label_fails() -> None:
    text = str(failed(run_checks(metrics=pushd_metrics(stale_label="gcm"))))  # as pushd once did
    assert 'pushd_push_stale_tokens_total{transport="gcm"}: pushd says 1, the ledger 0' in text


def test_a_waiter_left_behind_fails() -> None:
    a, b = pushd_metrics()
    b.waiters.set(1)
    assert failed(run_checks(metrics=(a, b))) == {
        "waiters and sends in flight back to 0 after the load": ("b: pushd_waiters = 1",)
    }


def test_the_gateways_counters_must_agree() -> None:
    gateway = {"answered": {"apns": {"200": 4, "503": 3}, "fcm": {"200": 3, "404": 1}}}
    assert "the gateway's answers agree with the ledger" in failed(run_checks(gateway=gateway))


def test_too_little_traffic_fails_the_volume_check() -> None:
    assert run_checks(minimum=1).ok is False
    (failures,) = failed(run_checks(minimum=1)).values()
    assert "approve via fcm: 0 < 1" in failures  # the ledger's approvals were all on APNs
    (failures,) = failed(run_checks(minimum=2)).values()
    assert "approve via apns: 1 < 2" in failures
    assert "long-polls abandoned by the page: 1 < 2" in failures


def test_growing_memory_fails_and_flat_or_sawtooth_memory_passes() -> None:
    growing = tuple(100.0 + i * 0.6 for i in range(40))  # 24 MiB over the run
    assert "RSS flat after warm-up" in str(failed(run_checks(rss=growing)))
    warm_up = tuple(80.0 + min(i, 10) * 2.0 for i in range(40))  # grows, then levels off
    sawtooth = tuple(100.0 + (i % 8) * 1.5 for i in range(40))  # the collector's rhythm
    assert run_checks(rss=warm_up).ok
    assert run_checks(rss=sawtooth).ok
    assert RssBound().allowed(100.0) == 8.0
    assert RssBound().allowed(200.0) == pytest.approx(14.0)


@pytest.mark.parametrize(
    ("samples", "done"),
    [
        ([96.0, 98.0, 100.0, 102.0, 104.0, 106.0, 108.0], False),  # still climbing
        ([96.0, 98.0, 110.0, 110.1, 110.1, 110.2, 110.3, 110.3], True),  # climbed, then flat
        ([96.0, 96.1, 96.1, 96.2, 96.2, 96.3, 96.3], False),  # has not started to climb
        ([96.0, 110.0, 110.0], False),  # too soon to tell
    ],
)
def test_the_warm_up_ends_once_rss_has_levelled_off(samples: list[float], done: bool) -> None:
    assert levelled(samples) is done


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"level":"error","msg":"push transport failed"}', "at error"),
        ('{"level":"critical","msg":"x"}', "at critical"),
        ('{"level":"warning","msg":"sweep failed","exc":"Traceback ..."}', "traceback"),
        ("Traceback (most recent call last):", "not a JSON log record"),
        ("Task was destroyed but it is pending!", "not a JSON log record"),
    ],
)
def test_error_lines_and_tracebacks_in_the_logs_fail(line: str, problem: str) -> None:
    (found,) = log_problems([LOG[0], line, ""])
    assert found.startswith("line 2")
    assert problem in found
    assert not run_checks(logs=[*LOG, line]).ok


def test_warnings_and_info_lines_pass() -> None:
    lines = [*LOG, '{"level":"warning","msg":"redis appendonly is off"}']
    assert log_problems(lines) == []


async def test_a_soak_of_two_instances_on_redis_reconciles(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.soak", "--duration", str(SOAK_SECONDS),
        "--warmup", "40", "--store", "redis", "--instances", "2", "--redis-url", REDIS_URL,
        "--dir", str(tmp_path / "soak"), "--report", str(report), "--minimum", "15",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(process.communicate(), SOAK_SECONDS + 120)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = out.decode()
    assert report.exists(), text
    result = json.loads(report.read_text())
    assert {name: failures for name, failures in result["checks"].items() if failures} == {}, text
    assert result["ok"], text
    assert process.returncode == 0, text
    counts = result["counts"]
    for kind in Kind:
        for platform in ("apns", "fcm"):
            assert counts[f"{kind} via {platform}"] >= 15, text
    assert counts["challenges"] >= 600, text
    assert counts["number matching"] >= 100, text
    assert set(result["rss"]) == {"a", "b"}
