"""Google's OAuth 2.0 token endpoint for service accounts (the JWT-bearer grant).

google-auth's ``service_account.Credentials.refresh()`` posts an RS256 assertion signed
with the service-account key; the answer is an opaque access token for FCM requests.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from authenticator_sim.gateway.credentials import GOOGLE_TOKEN_URI, Credentials
from authenticator_sim.gateway.stats import Stats

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600
_ISSUED_LIMIT = 100_000
_SHORT_LIVED = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
    "timeframe. Check your iat and exp values in the JWT claim."
)


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    def to_json(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class AccessTokens:
    """Grants access tokens to the gateway's service account and remembers them."""

    def __init__(
        self, credentials: Credentials, *, stats: Stats, clock: Callable[[], float] = time.time
    ) -> None:
        self._credentials = credentials
        self._stats = stats
        self._clock = clock
        self._issued: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.token_uri = GOOGLE_TOKEN_URI  # the gateway's own, once its port is known

    def grant(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Answer a token request, or raise :class:`OAuthError` (an HTTP 400)."""
        if form.get("grant_type") != JWT_BEARER:
            raise OAuthError(
                "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type')}"
            )
        assertion = form.get("assertion")
        if not assertion:
            raise OAuthError("invalid_request", "Missing required parameter: assertion")
        self._verify(assertion)
        now = self._clock()
        if len(self._issued) >= _ISSUED_LIMIT:
            self._issued = {t: exp for t, exp in self._issued.items() if exp > now}
        token = f"ya29.authsim-{secrets.token_urlsafe(32)}"
        self._issued[token] = now + TOKEN_LIFETIME
        self._stats.access_tokens_issued += 1
        return {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}

    def valid(self, token: str) -> bool:
        expiry = self._issued.get(token)
        return expiry is not None and expiry > self._clock()

    def expire(self, token: str) -> None:
        """Make ``token`` expired now (to rehearse an access token running out)."""
        if token in self._issued:
            self._issued[token] = self._clock() - 1

    def _verify(self, assertion: str) -> None:
        credentials = self._credentials
        try:
            kid = jwt.get_unverified_header(assertion).get("kid")
            if kid is not None and kid != credentials.fcm_private_key_id:
                raise OAuthError("invalid_grant", "Invalid JWT Signature.")
            claims = jwt.decode(
                assertion,
                credentials.fcm_public_key,
                algorithms=["RS256"],
                # google-auth always names Google's endpoint, whatever token_uri says
                audience=[self.token_uri, GOOGLE_TOKEN_URI],
                issuer=credentials.fcm_client_email,
                leeway=60,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as error:
            raise OAuthError("invalid_grant", _SHORT_LIVED) from error
        except jwt.InvalidSignatureError as error:
            raise OAuthError("invalid_grant", "Invalid JWT Signature.") from error
        except jwt.InvalidTokenError as error:
            raise OAuthError("invalid_grant", f"Invalid JWT: {error}") from error
        lifetime = claims["exp"] - claims["iat"]
        if not 0 < lifetime <= TOKEN_LIFETIME:
            raise OAuthError("invalid_grant", _SHORT_LIVED)
