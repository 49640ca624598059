"""The soak's ledger and its reconciliation: pure (no I/O, no clock), so it is unit-tested.

The runner (``bench/soak.py``) writes one :class:`Entry` per challenge: what the phone was
told to do, what it did, and every final outcome the login page heard. :func:`reconcile`
then holds that record against pushd's metrics, the gateway's counters, pushd's memory
and its logs, and returns one :class:`Check` per question, each with what failed.
"""

from __future__ import annotations

import enum
import json
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


class Kind(enum.StrEnum):
    """What the phone does with a challenge."""

    APPROVE = "approve"
    DENY = "deny"
    IGNORE = "ignore"  # the challenge expires; a late answer is refused
    WRONG_NUMBER = "wrong_number"  # number matching, the wrong number tapped
    STALE_TOKEN = "stale_token"  # noqa: S105 - the push service says the app is gone (APNs 410, FCM 404)
    RETRY = "retry"  # the push service answers 5xx first; pushd retries; the phone approves


Outcome = tuple[str, str | None]  # (state, reason) as the API reports a final challenge

FINAL_STATES = frozenset({"approved", "denied", "expired", "cancelled", "delivery_failed"})
STALE_FAULT = {"apns": (410, "Unregistered"), "fcm": (404, "UNREGISTERED")}
RETRY_FAULTS = {
    "apns": ((503, "ServiceUnavailable"), (500, "InternalServerError")),
    "fcm": ((503, "UNAVAILABLE"), (500, "INTERNAL")),
}
PLATFORMS = ("apns", "fcm")
SHOWN = 12  # failures listed per check; the rest are counted


def expected_outcome(kind: Kind, platform: str) -> Outcome:
    """The one final outcome pushd must report for what the phone did (docs/api.md, §4)."""
    return {
        Kind.APPROVE: ("approved", None),
        Kind.RETRY: ("approved", None),
        Kind.DENY: ("denied", "denied_by_user"),
        Kind.WRONG_NUMBER: ("denied", "wrong_number"),
        Kind.IGNORE: ("expired", "timeout"),
        Kind.STALE_TOKEN: ("delivery_failed", STALE_FAULT[platform][1]),
    }[kind]


@dataclass(slots=True, kw_only=True)
class Entry:
    """One challenge, as the login page and the phone saw it."""

    challenge_id: str
    user: str
    platform: str  # apns | fcm
    kind: Kind
    push_type: str  # default | challenge (number matching)
    fault: tuple[int, str] | None = None  # the gateway's scripted answer, for RETRY/STALE_TOKEN
    faults: int = 0  # how many sends that answer was given to
    notified: int = 0  # notifications of this challenge the phone received
    reply_status: int | None = None  # the phone's answer (approve, deny, wrong number)
    late_status: int | None = None  # IGNORE: an approval sent after the expiry
    followup: tuple[int, str] | None = None  # STALE_TOKEN: the next login's (status, code)
    refresh_status: int | None = None  # STALE_TOKEN: the app's token refresh
    polls: list[Outcome] = field(default_factory=list)  # final outcomes long-polls reported
    repolls: int = 0  # long-polls that ran out of ``wait`` with the challenge still pending
    aborted: int = 0  # long-polls the login page hung up on
    final: Outcome | None = None  # a plain GET once it had ended


@dataclass(slots=True)
class Ledger:
    entries: list[Entry] = field(default_factory=list)
    registrations: Counter[str] = field(default_factory=Counter)  # confirmed, per platform
    anomalies: list[str] = field(default_factory=list)  # anything unexpected the runner met


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    failures: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class RssSeries:
    instance: str
    samples: tuple[float, ...]  # MiB, evenly spaced over the load (after the warm-up)
    before: float = float("nan")  # MiB when the load began, before the warm-up


@dataclass(frozen=True, slots=True)
class RssBound:
    """Growth allowed from the second quarter's median to the last quarter's.

    After its warm-up pushd's RSS sits at the high-water mark of its young-garbage cycle
    (it collects every 100,000 allocations) and moves by steps of a few MiB when a later
    cycle peaks higher: 0.1-4.9 MiB measured over 2-7 minute runs. A leak grows with the
    work instead: 8 MiB between the medians is ~1.1 KiB per challenge over a 10-minute
    run, ~4 KiB over CI's 80 s, so a leaked waiter, task or challenge record per login
    breaks it.
    """

    mib: float = 8.0
    fraction: float = 0.07

    def allowed(self, base: float) -> float:
        return max(self.mib, self.fraction * base)


@dataclass(frozen=True, slots=True)
class Report:
    checks: tuple[Check, ...]
    counts: Mapping[str, int]
    rss: Mapping[str, Mapping[str, float]]
    rss_samples: Mapping[str, Sequence[float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": {c.name: list(c.failures) for c in self.checks},
            "counts": dict(self.counts),
            "rss": {name: dict(values) for name, values in self.rss.items()},
            "rss_samples": {name: list(values) for name, values in self.rss_samples.items()},
        }

    def text(self) -> str:
        lines = ["traffic:"]
        lines += [f"  {name:<34} {n:>8,}" for name, n in self.counts.items()]
        lines.append("pushd RSS (MiB):")
        for name, values in self.rss.items():
            lines.append("  " + name + ": " + ", ".join(f"{k} {v:.1f}" for k, v in values.items()))
        lines.append("reconciliation:")
        for check in self.checks:
            lines.append(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}")
            lines += [f"        {failure}" for failure in check.failures]
        lines.append("RESULT: " + ("PASS" if self.ok else "FAIL"))
        return "\n".join(lines)


# --- metrics ---------------------------------------------------------------------------


def metric_key(name: str, **labels: str) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}" if inner else name


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text -> {``name{label="v",...}``: value} (labels sorted)."""
    return {
        metric_key(sample.name, **sample.labels): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def add_metrics(snapshots: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """The fleet's counters: every instance's samples summed."""
    total: dict[str, float] = {}
    for snapshot in snapshots:
        for key, value in snapshot.items():
            total[key] = total.get(key, 0.0) + value
    return total


def _family(name: str, expected: Mapping[str, float], actual: Mapping[str, float]) -> list[str]:
    """Every sample of ``name`` must equal the ledger's figure (absent counts as 0)."""
    keys = {k for k in actual if k == name or k.startswith(name + "{")} | set(expected)
    return [
        f"{key}: pushd says {actual.get(key, 0.0):g}, the ledger {expected.get(key, 0.0):g}"
        for key in sorted(keys)
        if actual.get(key, 0.0) != expected.get(key, 0.0)
    ]


def _metric_outcome(outcome: Outcome) -> str:
    state, reason = outcome
    return "wrong_number" if reason == "wrong_number" else state


def expected_metrics(ledger: Ledger) -> dict[str, dict[str, float]]:
    """Per counter family, the figures the ledger implies."""
    families: dict[str, Counter[str]] = {
        name: Counter()
        for name in (
            "pushd_challenges_sent_total",
            "pushd_challenges_total",
            "pushd_challenges_refused_total",
            "pushd_push_sends_total",
            "pushd_push_retries_total",
            "pushd_push_stale_tokens_total",
            "pushd_fraud_signals_total",
            "pushd_registrations_total",
            "pushd_device_replies_total",
            "pushd_device_replies_rejected_total",
        )
    }

    def count(name: str, n: int = 1, **labels: str) -> None:
        if n:
            families[name][metric_key(name, **labels)] += n

    for platform, n in ledger.registrations.items():
        count("pushd_registrations_total", n, outcome="confirmed")
        count("pushd_device_replies_total", n, endpoint="register")
        count("pushd_device_replies_total", n, endpoint="authenticate")  # its test notification
        count("pushd_push_sends_total", n, transport=platform, outcome="delivered")
    for e in ledger.entries:
        outcome = expected_outcome(e.kind, e.platform)
        count("pushd_challenges_sent_total", type=e.push_type)
        count("pushd_challenges_total", type=e.push_type, outcome=_metric_outcome(outcome))
        if e.fault is not None and e.faults:
            count("pushd_push_sends_total", e.faults, transport=e.platform, outcome=e.fault[1])
        if e.kind is Kind.STALE_TOKEN:
            count("pushd_push_stale_tokens_total", transport=e.platform)
            count("pushd_device_replies_total", endpoint="refresh")
            continue
        count("pushd_push_sends_total", transport=e.platform, outcome="delivered")
        if e.kind is Kind.RETRY:
            count("pushd_push_retries_total", e.faults, transport=e.platform)
        if e.kind is Kind.IGNORE:
            count("pushd_device_replies_rejected_total", endpoint="authenticate",
                  reason="already_answered")  # fmt: skip
        else:
            count("pushd_device_replies_total", endpoint="authenticate")
        if e.kind in (Kind.DENY, Kind.WRONG_NUMBER):
            count("pushd_fraud_signals_total", kind="denied" if e.kind is Kind.DENY else e.kind)
    return {name: {k: float(v) for k, v in c.items()} for name, c in families.items()}


# --- the checks --------------------------------------------------------------------------


def _shown(failures: Sequence[str]) -> tuple[str, ...]:
    extra = len(failures) - SHOWN
    return tuple(failures[:SHOWN]) + ((f"... and {extra} more",) if extra > 0 else ())


def check_outcomes(ledger: Ledger) -> Check:
    """Every challenge has one final outcome, the one the phone's action implies."""
    failures: list[str] = []
    for e in ledger.entries:
        who = f"{e.challenge_id} ({e.kind}, {e.platform}, {e.push_type})"
        expected = expected_outcome(e.kind, e.platform)
        if e.final is None or e.final[0] not in FINAL_STATES:
            failures.append(f"{who}: no final outcome (last read {e.final})")
            continue
        if any(poll != e.final for poll in e.polls):
            failures.append(f"{who}: long-polls said {e.polls}, the final read {e.final}")
        if e.final != expected:
            failures.append(f"{who}: expected {expected}, pushd says {e.final}")
    return Check("each challenge: one final outcome, equal to what the phone did", _shown(failures))


def check_phones(ledger: Ledger) -> Check:
    """Each phone heard its notification once (or not at all for a dead token) and was
    answered as the protocol says."""
    failures: list[str] = []
    for e in ledger.entries:
        who = f"{e.challenge_id} ({e.kind}, {e.platform})"
        heard = 0 if e.kind is Kind.STALE_TOKEN else 1
        if e.notified != heard:
            failures.append(f"{who}: the phone got {e.notified} notifications, not {heard}")
        if e.kind is Kind.IGNORE:
            if e.late_status != 400:
                failures.append(f"{who}: a late answer got HTTP {e.late_status}, not 400")
        elif e.kind is Kind.STALE_TOKEN:
            if e.followup != (409, "push_device_unreachable"):
                failures.append(f"{who}: the next login got {e.followup}, not 409 unreachable")
            if e.refresh_status != 200:
                failures.append(f"{who}: the token refresh got HTTP {e.refresh_status}")
        elif e.reply_status != 200:
            failures.append(f"{who}: the phone's answer got HTTP {e.reply_status}, not 200")
    return Check("each phone: notified once, its answer accepted as the protocol says",
                 _shown(failures))  # fmt: skip


def traffic_counts(ledger: Ledger) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for e in ledger.entries:
        counts["challenges"] += 1
        counts[f"{e.kind} via {e.platform}"] += 1
        counts["number matching"] += e.push_type == "challenge"
        counts["sends failed with 5xx first"] += e.faults if e.kind is Kind.RETRY else 0
        counts["long-polls answered pending (re-polled)"] += e.repolls
        counts["long-polls abandoned by the page"] += e.aborted
        counts["long-polls answered with the outcome"] += len(e.polls)
    for platform, n in ledger.registrations.items():
        counts[f"devices registered via {platform}"] += n
    return dict(sorted(counts.items()))


def check_volume(ledger: Ledger, minimum: int) -> Check:
    """Enough of every kind of traffic happened for the other checks to mean something."""
    counts = traffic_counts(ledger)
    wanted = [f"{kind} via {platform}" for kind in Kind for platform in PLATFORMS]
    wanted += ["number matching", "long-polls answered pending (re-polled)",
               "long-polls abandoned by the page"]  # fmt: skip
    failures = [f"{name}: {counts.get(name, 0)} < {minimum}" for name in wanted
                if counts.get(name, 0) < minimum]  # fmt: skip
    return Check(f"volume: at least {minimum} of each kind of traffic", tuple(failures))


def check_metrics(ledger: Ledger, fleet: Mapping[str, float]) -> Check:
    """pushd's counters (summed over the instances) agree with the ledger, exactly."""
    failures: list[str] = []
    for name, expected in expected_metrics(ledger).items():
        failures += _family(name, expected, fleet)
    failures += [
        f"HTTP 5xx answered: {key} = {value:g}"
        for key, value in fleet.items()
        if key.startswith("pushd_http_requests_total{") and 'status="5' in key and value
    ]
    for event in ("publish_failed", "reconnected"):
        if n := fleet.get(metric_key("pushd_bus_events_total", event=event), 0.0):
            failures.append(f"decision bus {event}: {n:g}")
    return Check("pushd's metrics agree with the ledger", _shown(failures))


def check_idle(instances: Mapping[str, Mapping[str, float]]) -> Check:
    """After the load: nobody waiting, nothing being sent, on every instance."""
    failures = [
        f"{name}: {gauge} = {metrics.get(gauge, float('nan')):g}"
        for name, metrics in instances.items()
        for gauge in ("pushd_waiters", "pushd_push_sends_in_flight")
        if metrics.get(gauge) != 0.0
    ]
    return Check("waiters and sends in flight back to 0 after the load", tuple(failures))


def check_gateway(ledger: Ledger, stats: Mapping[str, Any]) -> Check:
    """The gateway's own count of what it answered pushd agrees with the ledger."""
    expected: dict[str, Counter[str]] = {p: Counter() for p in PLATFORMS}
    for platform, n in ledger.registrations.items():
        expected[platform]["200"] += n
    for e in ledger.entries:
        if e.fault is not None:
            expected[e.platform][str(e.fault[0])] += e.faults
        if e.kind is not Kind.STALE_TOKEN:
            expected[e.platform]["200"] += 1
    answered = stats.get("answered", {})
    failures = [
        f"{p}: the gateway answered {dict(answered.get(p, {}))}, the ledger {dict(expected[p])}"
        for p in PLATFORMS
        if {k: v for k, v in answered.get(p, {}).items() if v} != dict(expected[p])
    ]
    return Check("the gateway's answers agree with the ledger", tuple(failures))


def rss_summary(samples: Sequence[float], before: float = float("nan")) -> dict[str, float]:
    """Before the warm-up, first and last sample, and the medians of the second and last
    quarters."""
    quarter = len(samples) // 4
    return {
        "before warm-up": before,
        "start": samples[0],
        "q2 median": statistics.median(samples[quarter : 2 * quarter]),
        "q4 median": statistics.median(samples[3 * quarter :]),
        "end": samples[-1],
        "max": max(samples),
    }


def check_rss(series: Sequence[RssSeries], bound: RssBound) -> Check:
    """Flat after warm-up: the last quarter's median at most ``bound`` above the second's
    (the first quarter is warm-up: pools, caches and allocator arenas filling)."""
    failures = []
    for s in series:
        if len(s.samples) < 8:
            failures.append(f"{s.instance}: only {len(s.samples)} samples")
            continue
        summary = rss_summary(s.samples)
        growth = summary["q4 median"] - summary["q2 median"]
        allowed = bound.allowed(summary["q2 median"])
        if growth > allowed:
            failures.append(f"{s.instance}: grew {growth:.1f} MiB after warm-up"
                            f" (allowed {allowed:.1f}): {summary}")  # fmt: skip
    name = f"RSS flat after warm-up (growth <= max({bound.mib:g} MiB, {bound.fraction:.0%}))"
    return Check(name, tuple(failures))


def log_problems(lines: Iterable[str]) -> list[str]:
    """Lines at level ERROR or above, with a traceback, or not pushd's JSON at all."""
    problems = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            problems.append(f"line {number} is not a JSON log record: {line[:200]}")
        elif str(record.get("level", "")).lower() in ("error", "critical", "fatal"):
            problems.append(f"line {number} at {record['level']}: {line[:300]}")
        elif "exc" in record or "Traceback" in line:
            problems.append(f"line {number} carries a traceback: {line[:300]}")
    return problems


def check_logs(logs: Mapping[str, Sequence[str]]) -> Check:
    failures = [f"{name}: {p}" for name, lines in logs.items() for p in log_problems(lines)]
    return Check("no log line at ERROR or above, no traceback", _shown(failures))


def check_anomalies(ledger: Ledger) -> Check:
    return Check("nothing unexpected on the wire (statuses, stray notifications, leftovers)",
                 _shown(ledger.anomalies))  # fmt: skip


def reconcile(
    ledger: Ledger,
    *,
    instances: Mapping[str, Mapping[str, float]],
    gateway_stats: Mapping[str, Any],
    rss: Sequence[RssSeries],
    logs: Mapping[str, Sequence[str]],
    minimum: int,
    bound: RssBound | None = None,
) -> Report:
    """Every check, over the ledger and what was read from pushd and the gateway after."""
    bound = bound or RssBound()
    checks = (
        check_volume(ledger, minimum),
        check_outcomes(ledger),
        check_phones(ledger),
        check_anomalies(ledger),
        check_metrics(ledger, add_metrics(instances.values())),
        check_gateway(ledger, gateway_stats),
        check_idle(instances),
        check_rss(rss, bound),
        check_logs(logs),
    )
    summaries = {s.instance: rss_summary(s.samples, s.before) for s in rss if len(s.samples) >= 8}
    samples = {s.instance: s.samples for s in rss}
    return Report(checks, traffic_counts(ledger), summaries, samples)
