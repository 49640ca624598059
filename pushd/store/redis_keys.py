"""Every Redis key pushd uses, in one place. The prefix carries a {hash tag} by default,
so all keys share one Cluster slot and the Lua scripts may touch several at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str

    def record(self, table: str, key: str) -> str:
        """A hash: ``v`` (version), ``d`` (msgpack record), ``l`` (lookup keys it owns)."""
        return f"{self.prefix}r:{table}:{key}"

    def record_pattern(self, table: str) -> str:
        """A SCAN pattern matching every record of ``table``."""
        return f"{_glob_escape(self.prefix)}r:{_glob_escape(table)}:*"

    def lookup(self, name: str, value: str) -> str:
        """A string naming the owner, ``table\\x00key``; expires with its owner."""
        return f"{self.prefix}l:{name}:{value}"

    def due(self, table: str) -> str:
        """A sorted set of keys by deadline (epoch seconds)."""
        return f"{self.prefix}due:{table}"

    def events(self, stream: str, key: str | None) -> str:
        """Sorted sets of events by time: one per key, and one of them all."""
        return f"{self.prefix}ev:{stream}:" + ("*all" if key is None else f"k:{key}")

    def events_pattern(self, stream: str) -> str:
        return f"{_glob_escape(self.prefix)}ev:{_glob_escape(stream)}:*"

    @property
    def everything_pattern(self) -> str:
        """Every key pushd owns under this prefix (for tests and tear-down)."""
        return f"{_glob_escape(self.prefix)}*"

    @property
    def event_sequence(self) -> str:
        return f"{self.prefix}ev:seq"

    @property
    def decisions(self) -> str:
        """The pub/sub channel carrying decisions to every instance."""
        return f"{self.prefix}decisions"


def _glob_escape(text: str) -> str:
    """Literal text inside a Redis glob pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
