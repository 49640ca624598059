"""The real clients' test values, copied byte for byte from shared/vectors/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).resolve().parent.parent / "vectors"


def load(name: str) -> Any:
    return json.loads((VECTORS_DIR / name).read_text(encoding="utf-8"))


FORGEROCK = load("forgerock-push.json")
RFC_OATH = load("rfc-oath.json")
