"""Prometheus metrics, one registry per application (no module-level collectors)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 120, 300)
SEND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        self.registrations = Counter(
            "pushd_registrations_total", "Push registrations by final outcome", ["outcome"],
            registry=r,
        )  # fmt: skip
        self.challenges_created = Counter(
            "pushd_challenges_sent_total", "Challenges sent, by push type", ["type"], registry=r
        )
        self.challenges = Counter(
            "pushd_challenges_total", "Challenges by push type and final outcome",
            ["type", "outcome"], registry=r,
        )  # fmt: skip
        self.challenges_refused = Counter(
            "pushd_challenges_refused_total", "Challenge requests refused by the fatigue defences",
            ["reason"], registry=r,
        )  # fmt: skip
        self.decision_seconds = Histogram(
            "pushd_decision_seconds", "From challenge creation to the phone's decision",
            ["type"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.waiters = Gauge("pushd_waiters", "Long-polls waiting right now", registry=r)
        self.device_replies = Counter(
            "pushd_device_replies_total", "Device replies accepted", ["endpoint"], registry=r
        )
        self.device_rejects = Counter(
            "pushd_device_replies_rejected_total", "Device replies refused, by reason",
            ["endpoint", "reason"], registry=r,
        )  # fmt: skip
        self.fraud_signals = Counter(
            "pushd_fraud_signals_total", "Denials and wrong numbers", ["kind"], registry=r
        )
        self.sends = Counter(
            "pushd_push_sends_total", "Notification sends by transport and outcome",
            ["transport", "outcome"], registry=r,
        )  # fmt: skip
        self.send_seconds = Histogram(
            "pushd_push_send_seconds", "Time to hand a notification to APNs or FCM",
            ["transport"], buckets=SEND_BUCKETS, registry=r,
        )  # fmt: skip
        self.send_retries = Counter(
            "pushd_push_retries_total", "Notification send retries", ["transport"], registry=r
        )
        self.stale_tokens = Counter(
            "pushd_push_stale_tokens_total", "Device tokens marked stale", ["transport"],
            registry=r,
        )  # fmt: skip
        self.sends_in_flight = Gauge(
            "pushd_push_sends_in_flight", "Notifications being sent right now", registry=r
        )
        self.http_requests = Counter(
            "pushd_http_requests_total", "HTTP requests by route and status",
            ["route", "method", "status"], registry=r,
        )  # fmt: skip

        self.bus_events = Counter(
            "pushd_bus_events_total",
            "Decision bus events: received, publish_failed, reconnected",
            ["event"], registry=r,
        )  # fmt: skip
        self.bus_up = Gauge(
            "pushd_bus_up", "1 while decisions from other instances reach this one", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
