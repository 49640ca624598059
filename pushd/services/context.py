"""What every service is handed: configuration, storage, keys, time and randomness."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mfa_core.entropy import RandomBytes
from pushd.delivery.dispatcher import Dispatcher
from pushd.keys import Vault
from pushd.messaging import Mailer, SmsSender, Templates
from pushd.metrics import Metrics
from pushd.settings import Settings
from pushd.store.tables import Store
from pushd.waiters import DecisionBus, WaiterHub


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    settings: Settings
    store: Store
    vault: Vault
    hash_key: bytes  # keys the hashes of recovery and one-time codes
    clock: Callable[[], float]
    rng: RandomBytes
    hub: WaiterHub
    bus: DecisionBus
    dispatcher: Dispatcher
    metrics: Metrics
    mailer: Mailer
    sms: SmsSender
    templates: Templates
