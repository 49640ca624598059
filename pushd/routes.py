"""Every route pushd serves, in one table."""

from __future__ import annotations

from aiohttp import web

from pushd.handlers import accounts_api, admin_api, device, methods_api, mfa_api, ops, push_api
from pushd.web import add_web_routes


def add_routes(app: web.Application) -> None:
    add_web_routes(app)
    app.add_routes(
        [
            web.post("/v1/users/{username}/push/registrations", push_api.start_registration),
            web.get("/v1/push/registrations/{id}", push_api.get_registration),
            web.delete("/v1/push/registrations/{id}", push_api.cancel_registration),
            web.post("/v1/users/{username}/push/challenges", push_api.create_challenge),
            web.get("/v1/push/challenges/{id}", push_api.get_challenge),
            web.delete("/v1/push/challenges/{id}", push_api.cancel_challenge),
            web.post("/push/device", device.device_endpoint),
            # sign-in, profile, devices, recovery codes
            web.post("/v1/login", mfa_api.login),
            web.get("/v1/users/{username}/mfa", mfa_api.mfa_status),
            web.post("/v1/users/{username}/mfa/{choice:skip|opt-out|opt-in}", mfa_api.mfa_choice),
            web.get("/v1/users/{username}/devices", mfa_api.list_devices),
            web.patch("/v1/users/{username}/devices/{device_id}", mfa_api.rename_device),
            web.delete("/v1/users/{username}/devices/{device_id}", mfa_api.remove_device),
            web.post("/v1/users/{username}/reauthenticate", mfa_api.reauthenticate),
            web.get("/v1/users/{username}/recovery-codes", mfa_api.recovery_codes_left),
            web.post("/v1/users/{username}/recovery-codes", mfa_api.regenerate_recovery_codes),
            web.post("/v1/users/{username}/recovery-codes/verify", mfa_api.verify_recovery_code),
            # one-time passwords and WebAuthn
            web.post("/v1/users/{username}/otp/registrations", methods_api.start_otp),
            web.post("/v1/otp/registrations/{id}/confirm", methods_api.confirm_otp),
            web.post("/v1/users/{username}/otp/verify", methods_api.verify_otp),
            web.post(
                "/v1/users/{username}/webauthn/registrations",
                methods_api.start_webauthn_registration,
            ),
            web.post("/v1/webauthn/registrations/{id}", methods_api.complete_webauthn_registration),
            web.post(
                "/v1/users/{username}/webauthn/authentications",
                methods_api.start_webauthn_authentication,
            ),
            web.post(
                "/v1/webauthn/authentications/{id}", methods_api.complete_webauthn_authentication
            ),
            # accounts and account recovery
            web.post("/v1/accounts", accounts_api.sign_up),
            web.post("/v1/accounts/verify-email", accounts_api.verify_email),
            web.post("/v1/password-resets", accounts_api.request_password_reset),
            web.post("/v1/password-resets/complete", accounts_api.reset_password),
            web.get("/v1/users/{username}/contact", accounts_api.contact),
            web.post("/v1/users/{username}/contact", accounts_api.contact),
            web.post("/v1/users/{username}/alternative", accounts_api.start_alternative),
            web.post("/v1/alternative/{id}/resend", accounts_api.resend_alternative),
            web.post("/v1/alternative/{id}/verify", accounts_api.verify_alternative),
            web.post("/v1/users/{username}/cases", accounts_api.open_case),
            web.put("/v1/cases/{id}/evidence", accounts_api.upload_evidence),
            web.get("/v1/cases/{id}", accounts_api.get_case),
            # operators
            web.post("/v1/admin/users", admin_api.create),
            web.get("/v1/admin/users/{username}", admin_api.show),
            web.patch("/v1/admin/users/{username}", admin_api.update),
            web.post("/v1/admin/users/{username}/mfa/reset", admin_api.reset_mfa),
            web.post("/v1/admin/users/{username}/unlock", admin_api.unlock),
            web.get("/v1/admin/audit", admin_api.audit),
            web.get("/v1/admin/lockouts", admin_api.lockouts),
            web.get("/v1/admin/cases", admin_api.list_cases),
            web.get("/v1/admin/cases/{id}", admin_api.show_case),
            web.get("/v1/admin/cases/{id}/evidence", admin_api.case_evidence),
            web.post("/v1/admin/cases/{id}/checks", admin_api.case_check),
            web.post("/v1/admin/cases/{id}/{decision:approve|reject}", admin_api.decide_case),
            web.get("/v1/openapi.json", ops.openapi),
            web.get("/healthz", ops.healthz),
            web.get("/readyz", ops.readyz),
            web.get("/metrics", ops.metrics),
        ]
    )
