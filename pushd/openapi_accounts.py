"""OpenAPI paths and schemas for accounts and account recovery."""

from __future__ import annotations

from pushd.openapi_mfa import (
    ID,
    INVALID,
    LOCKED,
    NO_USER,
    TIME,
    USER,
    WRONG_CODE,
    Schema,
    error,
    operation,
    path_param,
    ref,
)

LINK = error("The link is unknown, expired or already used", "invalid_token")
UNDELIVERED = error("The email or SMS could not be sent", "delivery_failed")
STR: Schema = {"type": "string"}

SCHEMAS: dict[str, Schema] = {
    "SignUp": {"type": "object", "required": ["username", "email", "password"],
               "additionalProperties": False,
               "properties": {"username": STR, "email": STR, "password": STR,
                              "phone": {"type": "string", "description": "E.164"}}},
    "Contact": {"type": "object",
                "properties": {"username": STR, "email": {"type": ["string", "null"]},
                               "email_verified": {"type": "boolean"},
                               "phone": {"type": ["string", "null"]},
                               "review_due": {"type": "boolean"},
                               "email_verification": STR}},
    "ContactChange": {"type": "object", "additionalProperties": False,
                      "properties": {"email": STR, "phone": {"type": ["string", "null"]}}},
    "Token": {"type": "object", "required": ["token"], "additionalProperties": False,
              "properties": {"token": STR}},
    "ResetRequest": {"type": "object", "required": ["login"], "additionalProperties": False,
                     "properties": {"login": {"type": "string",
                                              "description": "username or email"}}},
    "Accepted202": {"type": "object", "properties": {"status": STR, "message": STR}},
    "NewPassword": {"type": "object", "required": ["token", "password"],
                    "additionalProperties": False, "properties": {"token": STR, "password": STR}},
    "Username": {"type": "object", "properties": {"username": STR}},
    "AlternativeStarted": {"type": "object", "required": ["id", "sms_to", "email_to", "expires_at"],
                           "properties": {"id": STR, "sms_to": STR, "email_to": STR,
                                          "sends_left": {"type": "integer"}, "expires_at": TIME}},
    "AlternativeCodes": {"type": "object", "required": ["sms_code", "email_code"],
                         "additionalProperties": False,
                         "properties": {"sms_code": STR, "email_code": STR, "client_ip": STR}},
    "AlternativeDone": {"type": "object",
                        "properties": {"result": {"const": "accepted"}, "username": STR,
                                       "next": {"const": "review_mfa"}}},
    "CaseOpen": {"type": "object", "additionalProperties": False,
                 "properties": {"note": {"type": "string", "maxLength": 1000}}},
    "Case": {"type": "object", "required": ["id", "state", "opened_at"],
             "properties": {"id": STR, "opened_at": TIME, "decided_at": TIME, "state": {"enum": [
                 "opened", "evidence_received", "approved", "rejected", "closed"]}}},
    "OperatorCase": {"type": "object", "properties": {
        "id": STR, "state": STR, "opened_at": TIME, "decided_at": TIME, "username": STR,
        "note": STR, "has_document": {"type": "boolean"},
        "document_type": {"type": ["string", "null"]},
        "document_destroyed": {"type": "boolean"}, "checks": {"type": "array"},
        "decided_by": {"type": ["string", "null"]}, "decision_note": STR}},
    "OperatorCases": {"type": "object", "properties": {
        "cases": {"type": "array", "items": ref("OperatorCase")}}},
    "CaseCheck": {"type": "object", "required": ["check", "passed"],
                  "additionalProperties": False,
                  "properties": {"check": {"enum": ["names_match", "from_registered_email",
                                                    "avatar_matches"]},
                                 "passed": {"type": "boolean"}, "note": STR}},
    "CaseDecision": {"type": "object", "additionalProperties": False,
                     "properties": {"note": STR}},
}  # fmt: skip


def paths() -> dict[str, Schema]:
    document = {
        "required": True,
        "content": {kind: {"schema": {"type": "string", "format": "binary"}}
                    for kind in ("image/jpeg", "image/png", "application/pdf")},
    }  # fmt: skip
    state_case = error("Not in a state for this", "case_state", "case_closed", "case_open",
                       "checks_incomplete")  # fmt: skip
    upload = operation(
        "Upload a photo of a government ID (JPEG, PNG or PDF, under 10 MB; sealed, never"
        " logged, destroyed when the case closes)", "uploadEvidence", ok=("200", "Case"),
        params=(ID,),
        errors={"404": error("No such case", "not_found"), "409": state_case,
                "413": error("Too large", "payload_too_large"),
                "415": error("Not a JPEG, PNG or PDF", "unsupported_media_type")},
    )  # fmt: skip
    upload["requestBody"] = document
    evidence = operation(
        "The ID document, for the operator's eyes (admin key; audited)", "adminCaseEvidence",
        ok=("200", "Case"), params=(ID,), errors={"404": error("No document", "not_found")},
    )  # fmt: skip
    evidence["responses"]["200"] = {"description": "the document", "content": document["content"]}
    return {
        "/v1/accounts": {"post": operation(
            "Create an account; a verification link goes to the email", "signUp",
            ok=("201", "Contact"), body="SignUp",
            errors={"400": INVALID, "409": error("Taken", "username_taken", "email_taken"),
                    "502": UNDELIVERED})},
        "/v1/accounts/verify-email": {"post": operation(
            "Verify an email address with the link's token", "verifyEmail", ok=("200", "Contact"),
            body="Token", errors={"400": LINK})},
        "/v1/password-resets": {"post": operation(
            "Email a single-use reset link (the answer never says whether the account exists)",
            "requestPasswordReset", ok=("202", "Accepted202"), body="ResetRequest",
            errors={"400": INVALID})},
        "/v1/password-resets/complete": {"post": operation(
            "Set a new password with the link's token; earlier sessions and re-authentications"
            " end", "resetPassword", ok=("200", "Username"), body="NewPassword",
            errors={"400": LINK})},
        "/v1/users/{username}/contact": {
            "get": operation("Phone and email, and whether to ask the user to confirm them",
                             "getContact", ok=("200", "Contact"), params=(USER,),
                             errors={"404": NO_USER}),
            "post": operation("Confirm (empty body) or update phone and email; a new email is"
                              " verified again", "updateContact", ok=("200", "Contact"),
                              body="ContactChange", body_required=False, params=(USER,),
                              errors={"400": INVALID, "404": NO_USER, "502": UNDELIVERED}),
        },
        "/v1/users/{username}/alternative": {"post": operation(
            "The alternative method: a code by SMS and one by email", "startAlternative",
            ok=("201", "AlternativeStarted"), params=(USER,),
            errors={"404": NO_USER, "502": UNDELIVERED, "409": error(
                "No E.164 phone or no verified email: error.missing names which; manual"
                " verification is offered", "alternative_unavailable")})},
        "/v1/alternative/{id}/resend": {"post": operation(
            "New codes on both channels (limited)", "resendAlternative",
            ok=("200", "AlternativeStarted"), params=(ID,),
            errors={"404": error("Unknown", "not_found"), "429": error("Too many", "resend_limit"),
                    "502": UNDELIVERED})},
        "/v1/alternative/{id}/verify": {"post": operation(
            "Both codes, SMS and email, are needed", "verifyAlternative",
            ok=("200", "AlternativeDone"), body="AlternativeCodes", params=(ID,),
            errors={"401": WRONG_CODE, "404": error("Unknown", "not_found"),
                    "410": error("Expired", "expired"),
                    "429": {**LOCKED, "description": "Locked out, or too many attempts"
                            " (error codes: locked, attempts_exhausted)"}})},
        "/v1/users/{username}/cases": {"post": operation(
            "Open a manual-verification case", "openCase", ok=("201", "Case"), body="CaseOpen",
            body_required=False, params=(USER,),
            errors={"404": NO_USER, "409": error("A case is open", "case_open")})},
        "/v1/cases/{id}/evidence": {"put": upload},
        "/v1/cases/{id}": {"get": operation("A case's state", "getCase", ok=("200", "Case"),
                                            params=(ID,),
                                            errors={"404": error("No such case", "not_found")})},
        "/v1/admin/cases": {"get": operation(
            "Cases, optionally by ?state= (admin key)", "adminListCases",
            ok=("200", "OperatorCases"),
            params=({"name": "state", "in": "query", "required": False, "schema": STR},))},
        "/v1/admin/cases/{id}": {"get": operation(
            "A case with its checks (admin key)", "adminShowCase", ok=("200", "OperatorCase"),
            params=(ID,), errors={"404": error("No such case", "not_found")})},
        "/v1/admin/cases/{id}/evidence": {"get": evidence},
        "/v1/admin/cases/{id}/checks": {"post": operation(
            "Record one check (admin key)", "adminCaseCheck", ok=("200", "OperatorCase"),
            body="CaseCheck", params=(ID,),
            errors={"400": INVALID, "404": error("No such case", "not_found"),
                    "409": state_case})},
        "/v1/admin/cases/{id}/{decision}": {"post": operation(
            "Approve (every check passed: the user's MFA is reset) or reject; the case closes"
            " and the document is destroyed (admin key)", "adminDecideCase",
            ok=("200", "OperatorCase"), body="CaseDecision", body_required=False,
            params=(ID, {**path_param("decision"), "schema": {"enum": ["approve", "reject"]}}),
            errors={"404": error("No such case", "not_found"), "409": state_case})},
    }  # fmt: skip
