"""The OpenAPI 3.1 description of pushd's HTTP API, served at ``/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from pushd import openapi_accounts, openapi_mfa

JSON = "application/json"
Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str, *codes: str) -> Schema:
    return {
        "description": f"{description} (error codes: {', '.join(codes)})",
        "content": {JSON: {"schema": _ref("Error")}},
    }


def _ok(description: str, schema: str, status_headers: Schema | None = None) -> Schema:
    response: Schema = {"description": description, "content": {JSON: {"schema": _ref(schema)}}}
    if status_headers:
        response["headers"] = status_headers
    return response


UNAUTHORIZED = _error("Missing or wrong API key", "unauthorized")
INVALID = _error("The request is malformed", "invalid_request")
TOO_LARGE = _error("The request body is too large", "payload_too_large")
NOT_FOUND = _error("Nothing with that id", "not_found")
UNAVAILABLE = _error("Storage is unavailable or busy; try again", "unavailable", "busy")
WAIT_PARAM: Schema = {
    "name": "wait",
    "in": "query",
    "required": False,
    "description": "Long-poll: seconds (0-60) to wait for the outcome before answering",
    "schema": {"type": "number", "minimum": 0, "maximum": 60, "default": 0},
}
USERNAME: Schema = {
    "name": "username",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 128},
}
ID: Schema = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}

SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "stable machine-readable code"},
                    "message": {"type": "string"},
                },
                "additionalProperties": True,
            }
        },
    },
    "RegistrationRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "issuer": {"type": "string", "minLength": 1, "maxLength": 64},
            "account_name": {"type": "string", "minLength": 1, "maxLength": 64},
        },
    },
    "Registration": {
        "type": "object",
        "required": ["id", "state", "expires_at"],
        "properties": {
            "id": {"type": "string"},
            "state": {
                "enum": [
                    "pending",
                    "registered",
                    "confirmed",
                    "denied",
                    "expired",
                    "cancelled",
                    "delivery_failed",
                ]
            },
            "reason": {"type": "string"},
            "uri": {"type": "string", "description": "pushauth:// URI (only when created)"},
            "qr_svg": {"type": "string", "description": "the URI as an SVG QR code"},
            "device_name": {"type": "string"},
            "recovery_codes": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[0-9A-Za-z]{10}$"},
                "minItems": 10,
                "maxItems": 10,
                "description": "present once: on the first answer after confirmation",
            },
            "expires_at": TIMESTAMP,
        },
    },
    "ChallengeRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "type": {"enum": ["default", "challenge", "biometric"], "default": "default"},
            "message": {"type": "string", "minLength": 1, "maxLength": 256},
            "context": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "remote_ip": {"type": "string"},
                    "user_agent": {"type": "string", "maxLength": 512},
                    "location": {
                        "type": "object",
                        "maxProperties": 8,
                        "additionalProperties": {"type": ["string", "number"]},
                    },
                },
            },
        },
    },
    "Challenge": {
        "type": "object",
        "required": ["id", "state", "expires_at"],
        "properties": {
            "id": {"type": "string"},
            "state": {
                "enum": ["pending", "approved", "denied", "expired", "cancelled", "delivery_failed"]
            },
            "reason": {
                "type": "string",
                "description": "denied_by_user, wrong_number, timeout, cancelled, or the push"
                " service's reason for a delivery failure",
            },
            "number": {
                "type": "integer",
                "minimum": 10,
                "maximum": 99,
                "description": "number matching: the number the login page shows",
            },
            "expires_at": TIMESTAMP,
        },
    },
    "DeviceReply": {
        "type": "object",
        "description": "sent by the authenticator app (ForgeRock push protocol)",
        "properties": {
            "messageId": {"type": "string"},
            "jwt": {"type": "string"},
            "mechanismUid": {"type": "string"},
            "username": {"type": "string"},
        },
    },
    "DeviceBadRequest": {
        "type": "object",
        "required": ["code", "reason", "message"],
        "properties": {
            "code": {"const": 400},
            "reason": {"const": "Bad Request"},
            "message": {"const": "Bad request."},
        },
    },
    "Empty": {"type": "object", "maxProperties": 0},
    "Pending": {
        "type": "object",
        "required": ["notifications"],
        "additionalProperties": False,
        "properties": {
            "notifications": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["messageId", "message"],
                    "properties": {
                        "messageId": {"type": "string"},
                        "message": {"type": "string", "description": "the notification JWT"},
                    },
                },
            }
        },
    },
    "Health": {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable", "draining"]},
            "store": {"type": "string", "enum": ["up", "down"]},
            "bus": {"type": "string", "enum": ["up", "down"]},
        },
        "required": ["status"],
    },
}


def _registration_paths() -> dict[str, Schema]:
    return {
        "/v1/users/{username}/push/registrations": {
            "post": {
                "summary": "Start a push registration: a QR code for the authenticator app",
                "operationId": "startPushRegistration",
                "parameters": [USERNAME],
                "requestBody": {
                    "required": False,
                    "content": {JSON: {"schema": _ref("RegistrationRequest")}},
                },
                "responses": {
                    "201": _ok("Registration started", "Registration"),
                    "400": INVALID,
                    "413": TOO_LARGE,
                    "401": UNAUTHORIZED,
                    "409": _error("The user already has a push device", "push_device_exists"),
                    "503": UNAVAILABLE,
                },
            }
        },
        "/v1/push/registrations/{id}": {
            "get": {
                "summary": "Registration state; long-polls with ?wait",
                "operationId": "getPushRegistration",
                "parameters": [
                    ID,
                    WAIT_PARAM,
                    {
                        "name": "seen",
                        "in": "query",
                        "required": False,
                        "description": "also answer as soon as the state is no longer this one",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": _ok("Current state", "Registration"),
                    "400": INVALID,
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                    "503": UNAVAILABLE,
                },
            },
            "delete": {
                "summary": "Cancel a registration",
                "operationId": "cancelPushRegistration",
                "parameters": [ID],
                "responses": {
                    "200": _ok("Cancelled", "Registration"),
                    "400": INVALID,
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                    "409": _error("Already final", "already_final"),
                    "503": UNAVAILABLE,
                },
            },
        },
    }


def _challenge_paths() -> dict[str, Schema]:
    retry_after = {"Retry-After": {"schema": {"type": "integer"}}}
    return {
        "/v1/users/{username}/push/challenges": {
            "post": {
                "summary": "Send a push challenge to the user's device",
                "operationId": "createPushChallenge",
                "parameters": [USERNAME],
                "requestBody": {
                    "required": False,
                    "content": {JSON: {"schema": _ref("ChallengeRequest")}},
                },
                "responses": {
                    "201": _ok("Challenge sent", "Challenge"),
                    "400": INVALID,
                    "413": TOO_LARGE,
                    "401": UNAUTHORIZED,
                    "403": _error("Push suspended after repeated denials", "push_suspended"),
                    "404": _error("No such user", "user_not_found"),
                    "409": _error(
                        "No usable push device, or a challenge is already pending (its id is in"
                        " error.challenge_id; no second notification is sent)",
                        "no_push_device",
                        "push_device_unreachable",
                        "challenge_pending",
                    ),
                    "429": {
                        **_error(
                            "Too many challenges, or backing off after denials", "rate_limited"
                        ),
                        "headers": retry_after,
                    },
                    "503": UNAVAILABLE,
                },
            }
        },
        "/v1/push/challenges/{id}": {
            "get": {
                "summary": "Challenge outcome; long-polls with ?wait",
                "description": "Answers at once when the outcome is known, otherwise the moment"
                " it is (on any pushd instance), or with pending when wait runs out.",
                "operationId": "getPushChallenge",
                "parameters": [ID, WAIT_PARAM],
                "responses": {
                    "200": _ok("Current state", "Challenge"),
                    "400": INVALID,
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                    "503": UNAVAILABLE,
                },
            },
            "delete": {
                "summary": "Cancel a pending challenge (the user chose another method)",
                "operationId": "cancelPushChallenge",
                "parameters": [ID],
                "responses": {
                    "200": _ok("Cancelled", "Challenge"),
                    "400": INVALID,
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                    "409": _error("Already final", "already_final"),
                    "503": UNAVAILABLE,
                },
            },
        },
    }


def _device_paths() -> dict[str, Schema]:
    action = {
        "name": "_action",
        "in": "query",
        "required": True,
        "schema": {"enum": ["register", "authenticate", "refresh", "pending"]},
        "description": "pending is pushd's poll fallback, not the app's: the notifications"
        " still waiting for the device",
    }
    return {
        "/push/device": {
            "post": {
                "summary": "The authenticator app's replies (ForgeRock push protocol)",
                "operationId": "deviceReply",
                "security": [],
                "parameters": [action],
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": _ref("DeviceReply")}},
                },
                "responses": {
                    "200": {
                        "description": "Accepted: {} (for pending, the notifications)",
                        "content": {JSON: {"schema": {"oneOf": [_ref("Empty"), _ref("Pending")]}}},
                    },
                    "400": _ok("Refused (whatever the reason)", "DeviceBadRequest"),
                },
            }
        }
    }


def _ops_paths() -> dict[str, Schema]:
    def probe(summary: str, operation_id: str) -> Schema:
        return {
            "get": {
                "summary": summary,
                "operationId": operation_id,
                "security": [],
                "responses": {
                    "200": _ok("OK", "Health"),
                    "503": _ok("Not ready", "Health"),
                },
            }
        }

    return {
        "/healthz": probe("Liveness", "healthz"),
        "/readyz": probe("Readiness: the store answers and decisions arrive", "readyz"),
    }


def openapi_spec() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pushd",
            "version": "1",
            "description": "Push authentication for the ForgeRock Authenticator app. Every /v1"
            " endpoint takes `Authorization: Bearer <API key>` (/v1/admin an admin key); errors are"
            ' `{"error": {"code", "message"}}` with a stable code.',
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": {
            **_registration_paths(),
            **_challenge_paths(),
            **openapi_mfa.paths(),
            **openapi_accounts.paths(),
            **_device_paths(),
            **_ops_paths(),
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {**SCHEMAS, **openapi_mfa.SCHEMAS, **openapi_accounts.SCHEMAS},
        },
    }
