"""mfa_core: every MFA rule and every piece of push wire-format crypto, with no I/O.

Time (``now``) and randomness (``rng``) are always parameters; every malformed input
raises a subclass of :class:`mfa_core.errors.MfaError` with a stable ``reason``.
"""

from mfa_core.errors import MfaError

__all__ = ["MfaError"]
