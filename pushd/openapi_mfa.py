"""OpenAPI paths and schemas for sign-in, the MFA profile, OTP, WebAuthn and the admin API."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
JSON = "application/json"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def error(description: str, *codes: str) -> Schema:
    return {
        "description": f"{description} (error codes: {', '.join(codes)})",
        "content": {JSON: {"schema": ref("Error")}},
    }


def operation(
    summary: str,
    operation_id: str,
    *,
    ok: tuple[str, str],
    body: str | None = None,
    body_required: bool = True,
    params: tuple[Schema, ...] = (),
    errors: dict[str, Schema] | None = None,
) -> Schema:
    status, schema = ok
    op: Schema = {
        "summary": summary,
        "operationId": operation_id,
        "parameters": list(params),
        "responses": {
            status: {"description": "OK", "content": {JSON: {"schema": ref(schema)}}},
            "400": INVALID,  # a malformed path parameter or body, whatever the operation
            "401": error("Missing or wrong key", "unauthorized"),
            "503": error("Storage is unavailable or busy; try again", "unavailable", "busy"),
            **(errors or {}),
        },
    }
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": {JSON: {"schema": ref(body)}}}
        op["responses"].setdefault("413", TOO_LARGE)
    if any(param.get("name") == "username" and param.get("in") == "path" for param in params):
        op["responses"].setdefault("404", NO_USER)
    return op


def path_param(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


USER = path_param("username")
ID = path_param("id")
INVALID = error("The request is malformed", "invalid_request")
TOO_LARGE = error("The request body is too large", "payload_too_large")
NO_USER = error("No such user", "user_not_found")
NO_DEVICE = error("No such user, or no such device", "user_not_found", "unknown_device")
LOCKED = {
    **error("Too many wrong attempts (answered before anything is checked)", "locked"),
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}
WRONG_CODE = error("The code is not valid (wrong, used or replayed: no difference)", "invalid_code")
REAUTH = error("A fresh password check is needed", "reauthentication_required")
TIME: Schema = {"type": "string", "format": "date-time"}
CLIENT_IP: Schema = {
    "type": "string",
    "description": "the end user's IP address, for the per-address throttle (optional)",
}

SCHEMAS: dict[str, Schema] = {
    "LoginRequest": {
        "type": "object", "required": ["login", "password"], "additionalProperties": False,
        "properties": {"login": {"type": "string", "description": "username or email"},
                       "password": {"type": "string"}, "client_ip": CLIENT_IP},
    },
    "NextStep": {
        "type": "object", "required": ["kind", "methods"],
        "properties": {
            "kind": {"enum": ["setup", "authenticate", "none"]},
            "methods": {"type": "array", "items": {"enum": [
                "skip", "opt_out", "webauthn", "push", "otp", "recovery_code"]}},
        },
    },
    "LoginResult": {
        "type": "object", "required": ["username", "next_step"],
        "properties": {"username": {"type": "string"}, "next_step": ref("NextStep")},
    },
    "Device": {
        "type": "object", "required": ["id", "kind", "name", "created_at"],
        "properties": {"id": {"type": "string"}, "kind": {"enum": ["webauthn", "oath", "push"]},
                       "name": {"type": "string"}, "created_at": TIME, "last_used_at": TIME},
    },
    "Mfa": {
        "type": "object",
        "required": ["username", "state", "next_step", "devices", "recovery_codes_remaining",
                     "push_suspended"],
        "properties": {
            "username": {"type": "string"},
            "state": {"enum": ["unset", "skipped", "opted_out", "enrolled"]},
            "state_changed_at": TIME, "next_step": ref("NextStep"),
            "devices": {"type": "array", "items": ref("Device")},
            "recovery_codes_remaining": {"type": "integer"}, "push_suspended": {"type": "boolean"},
            "mfa_review_due": {"type": "boolean", "description":
                               "after a recovery: prompt the user to reset their devices"},
            "contact_review_due": {"type": "boolean", "description":
                                   "ask the user to confirm or update phone and email"},
        },
    },
    "Devices": {"type": "object", "properties": {"devices": {"type": "array",
                                                             "items": ref("Device")}}},
    "Rename": {"type": "object", "required": ["name"], "additionalProperties": False,
               "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 64}}},
    "ReauthToken": {"type": "object", "additionalProperties": False,
                    "properties": {"reauth_token": {"type": "string"}}},
    "PasswordCheck": {"type": "object", "required": ["password"], "additionalProperties": False,
                      "properties": {"password": {"type": "string"}, "client_ip": CLIENT_IP}},
    "Reauth": {"type": "object", "required": ["reauth_token", "expires_at"],
               "properties": {"reauth_token": {"type": "string"}, "expires_at": TIME}},
    "RecoveryCodes": {
        "type": "object", "required": ["recovery_codes"],
        "properties": {"recovery_codes": {"type": "array", "minItems": 10, "maxItems": 10,
                                          "items": {"type": "string",
                                                    "pattern": "^[0-9A-Za-z]{10}$"}}},
    },
    "RecoveryCodesLeft": {"type": "object", "properties": {"remaining": {"type": "integer"}}},
    "Code": {"type": "object", "required": ["code"], "additionalProperties": False,
             "properties": {"code": {"type": "string"}, "client_ip": CLIENT_IP}},
    "FirstCode": {"type": "object", "required": ["code"], "additionalProperties": False,
                  "properties": {"code": {"type": "string"}}},
    "Accepted": {
        "type": "object", "required": ["result"],
        "properties": {"result": {"const": "accepted"}, "remaining": {"type": "integer"},
                       "device": ref("Device")},
    },
    "OtpRequest": {"type": "object", "additionalProperties": False,
                   "properties": {"kind": {"enum": ["totp", "hotp"], "default": "totp"}}},
    "OtpOffer": {
        "type": "object", "required": ["id", "uri", "qr_svg", "expires_at"],
        "properties": {"id": {"type": "string"}, "expires_at": TIME,
                       "uri": {"type": "string", "description": "otpauth:// URI"},
                       "qr_svg": {"type": "string"}},
    },
    "Registered": {
        "type": "object", "required": ["device", "recovery_codes"],
        "properties": {"device": ref("Device"),
                       "recovery_codes": {"type": "array", "items": {"type": "string"}}},
    },
    "WebAuthnRequest": {"type": "object", "additionalProperties": False,
                        "properties": {"name": {"type": "string", "maxLength": 64}}},
    "WebAuthnStart": {
        "type": "object", "required": ["id", "options", "expires_at"],
        "properties": {"id": {"type": "string"}, "expires_at": TIME,
                       "options": {"type": "object", "description":
                                   "PublicKeyCredentialCreation/RequestOptions as JSON"}},
    },
    "WebAuthnRegistrationAnswer": {
        "type": "object", "required": ["credential"], "additionalProperties": False,
        "properties": {"credential": {"type": "object", "description":
                                      "the browser's PublicKeyCredential as JSON"},
                       "name": {"type": "string", "maxLength": 64}},
    },
    "WebAuthnAnswer": {
        "type": "object", "required": ["credential"], "additionalProperties": False,
        "properties": {"credential": {"type": "object", "description":
                                      "the browser's PublicKeyCredential as JSON"},
                       "client_ip": CLIENT_IP},
    },
    "AdminUser": {
        "type": "object",
        "properties": {"user_id": {"type": "string"}, "username": {"type": "string"},
                       "email": {"type": ["string", "null"]}, "email_verified": {"type": "boolean"},
                       "phone": {"type": ["string", "null"]}, "has_password": {"type": "boolean"},
                       "created_at": TIME, "mfa_state": {"type": "string"},
                       "devices": {"type": "array", "items": ref("Device")},
                       "recovery_codes_remaining": {"type": "integer"}},
    },
    "AdminUserCreate": {
        "type": "object", "required": ["username"], "additionalProperties": False,
        "properties": {"username": {"type": "string"}, "email": {"type": "string"},
                       "phone": {"type": "string", "description": "E.164"},
                       "password": {"type": "string", "minLength": 10}},
    },
    "AdminUserUpdate": {
        "type": "object", "additionalProperties": False,
        "properties": {"email": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]},
                       "password": {"type": "string"}, "email_verified": {"type": "boolean"}},
    },
    "Lifted": {"type": "object", "properties": {"lifted": {"type": "integer"}}},
    "AuditEvents": {
        "type": "object",
        "properties": {"events": {"type": "array", "items": {
            "type": "object", "required": ["at", "kind"],
            "properties": {k: {"type": "string"} for k in (
                "at", "kind", "user_id", "username", "method", "outcome", "actor", "client_ip",
                "detail")}}}},
    },
    "Lockouts": {
        "type": "object",
        "properties": {"lockouts": {"type": "array", "items": {
            "type": "object",
            "properties": {"subject": {"type": "string"}, "locked_until": TIME,
                           "retry_after": {"type": "integer"}, "lockouts": {"type": "integer"}}}}},
    },
}  # fmt: skip


def paths() -> dict[str, Schema]:
    device = (USER, path_param("device_id"))
    q = {"in": "query", "required": False, "schema": {"type": "string"}}
    return {
        "/v1/login": {"post": operation(
            "Check a password (username or email); says what the MFA step must ask",
            "login", ok=("200", "LoginResult"), body="LoginRequest",
            errors={"400": INVALID, "429": LOCKED, "401": error(
                "Wrong username or password (the same answer for both)", "invalid_credentials")},
        )},
        "/v1/users/{username}/mfa": {"get": operation(
            "The MFA profile and what a login must ask next", "getMfa", ok=("200", "Mfa"),
            params=(USER,), errors={"404": NO_USER})},
        "/v1/users/{username}/mfa/{choice}": {"post": operation(
            "Skip (asked again next login), opt out, or opt back in", "chooseMfa",
            ok=("200", "Mfa"),
            params=(USER, {"name": "choice", "in": "path", "required": True,
                           "schema": {"enum": ["skip", "opt-out", "opt-in"]}}),
            errors={"404": NO_USER, "409": error("Not allowed now", "already_enrolled",
                                                 "not_opted_out")})},
        "/v1/users/{username}/devices": {"get": operation(
            "The user's devices (never a secret)", "listDevices", ok=("200", "Devices"),
            params=(USER,), errors={"404": NO_USER})},
        "/v1/users/{username}/devices/{device_id}": {
            "patch": operation("Rename a device", "renameDevice", ok=("200", "Device"),
                               body="Rename", params=device,
                               errors={"400": INVALID, "404": NO_DEVICE}),
            "delete": operation(
                "Remove a device and its recovery codes (needs reauth_token, in the body or"
                " X-Reauth-Token)", "removeDevice", ok=("200", "Mfa"), body="ReauthToken",
                body_required=False, params=device,
                errors={"403": REAUTH, "404": NO_DEVICE}),
        },
        "/v1/users/{username}/reauthenticate": {"post": operation(
            "Check the password again: a token for removing devices and regenerating codes",
            "reauthenticate", ok=("200", "Reauth"), body="PasswordCheck", params=(USER,),
            errors={"400": INVALID, "429": LOCKED, "401": error(
                "Missing or wrong key, or the wrong password (or no such user: the same answer)",
                "unauthorized", "invalid_credentials")})},
        "/v1/users/{username}/recovery-codes": {
            "get": operation("How many recovery codes remain", "recoveryCodesLeft",
                             ok=("200", "RecoveryCodesLeft"), params=(USER,),
                             errors={"404": NO_USER}),
            "post": operation("Replace all recovery codes with 10 new ones (needs reauth)",
                              "regenerateRecoveryCodes", ok=("201", "RecoveryCodes"),
                              body="ReauthToken", body_required=False, params=(USER,),
                              errors={"403": REAUTH}),
        },
        "/v1/users/{username}/recovery-codes/verify": {"post": operation(
            "Use a recovery code at login (each works once)", "verifyRecoveryCode",
            ok=("200", "Accepted"), body="Code", params=(USER,),
            errors={"400": INVALID, "429": LOCKED, "401": WRONG_CODE})},
        "/v1/users/{username}/otp/registrations": {"post": operation(
            "Start a one-time-password registration (TOTP, or HOTP)", "startOtp",
            ok=("201", "OtpOffer"), body="OtpRequest", body_required=False, params=(USER,),
            errors={"400": INVALID, "409": error("One OTP device per user", "device_limit")})},
        "/v1/otp/registrations/{id}/confirm": {"post": operation(
            "Confirm with the first code: the device and its 10 recovery codes", "confirmOtp",
            ok=("201", "Registered"), body="FirstCode", params=(ID,),
            errors={"401": WRONG_CODE, "404": error("No such registration", "not_found"),
                    "429": LOCKED})},
        "/v1/users/{username}/otp/verify": {"post": operation(
            "Check a one-time password at login (drift window, replay guard)", "verifyOtp",
            ok=("200", "Accepted"), body="Code", params=(USER,),
            errors={"401": WRONG_CODE, "409": error("No OTP device", "no_otp_device"),
                    "429": LOCKED})},
        "/v1/users/{username}/webauthn/registrations": {"post": operation(
            "Registration options for navigator.credentials.create", "startWebAuthnRegistration",
            ok=("201", "WebAuthnStart"), body="WebAuthnRequest", body_required=False,
            params=(USER,), errors={"409": error("Too many keys", "device_limit")})},
        "/v1/webauthn/registrations/{id}": {"post": operation(
            "Verify and store the new credential: the device and its 10 recovery codes",
            "completeWebAuthnRegistration", ok=("201", "Registered"),
            body="WebAuthnRegistrationAnswer",
            params=(ID,),
            errors={"400": error("Did not verify", "webauthn_rejected", "invalid_request"),
                    "404": error("No such ceremony (or already answered)", "not_found"),
                    "409": error("Already registered", "duplicate_device")})},
        "/v1/users/{username}/webauthn/authentications": {"post": operation(
            "Authentication options for navigator.credentials.get",
            "startWebAuthnAuthentication", ok=("201", "WebAuthnStart"), params=(USER,),
            errors={"409": error("No security key", "no_webauthn_device")})},
        "/v1/webauthn/authentications/{id}": {"post": operation(
            "Verify an assertion (the sign count moves on; a regression is refused)",
            "completeWebAuthnAuthentication", ok=("200", "Accepted"), body="WebAuthnAnswer",
            params=(ID,),
            errors={"401": error("Did not verify", "webauthn_rejected", "possible_clone"),
                    "404": error("No such ceremony (or already answered)", "not_found")})},
        "/v1/admin/users": {"post": operation(
            "Create a user (admin key)", "adminCreateUser", ok=("201", "AdminUser"),
            body="AdminUserCreate",
            errors={"400": INVALID, "409": error("Taken", "username_taken", "email_taken")})},
        "/v1/admin/users/{username}": {
            "get": operation("A user, their profile and devices (admin key)", "adminGetUser",
                             ok=("200", "AdminUser"), params=(USER,), errors={"404": NO_USER}),
            "patch": operation("Change email, phone, password (admin key)", "adminUpdateUser",
                               ok=("200", "AdminUser"), body="AdminUserUpdate", params=(USER,),
                               errors={"400": INVALID, "404": NO_USER,
                                       "409": error("Taken", "email_taken")}),
        },
        "/v1/admin/users/{username}/mfa/reset": {"post": operation(
            "Remove every device and code: set-up at next login (admin key)", "adminResetMfa",
            ok=("200", "AdminUser"), params=(USER,), errors={"404": NO_USER})},
        "/v1/admin/users/{username}/unlock": {"post": operation(
            "Lift lockouts and a push suspension (admin key)", "adminUnlock",
            ok=("200", "Lifted"), params=(USER,), errors={"404": NO_USER})},
        "/v1/admin/audit": {"get": operation(
            "The audit log, per user and time range (admin key)", "adminAudit",
            ok=("200", "AuditEvents"),
            params=({"name": "username", **q}, {"name": "since", **q}, {"name": "until", **q},
                    {"name": "limit", **q}),
            errors={"400": INVALID, "404": NO_USER})},
        "/v1/admin/lockouts": {"get": operation(
            "Current lockouts (admin key)", "adminLockouts", ok=("200", "Lockouts"))},
    }  # fmt: skip
