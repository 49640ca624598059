"""The hosted login pages: sign-in, every MFA flow, getting back in, and the settings page.

Plain HTML forms (aiohttp + jinja2), one CSS file and a little JavaScript for the live
waits and WebAuthn; every form works without JavaScript where a form can. The handlers
are thin: they call the same services as the JSON API. See the README's "Hosted pages".
"""

from __future__ import annotations

from aiohttp import web

from pushd.web import (
    pages_auth,
    pages_codes,
    pages_mfa,
    pages_recovery,
    pages_register,
    pages_settings,
)
from pushd.web.render import PAGES, STATIC_DIR, build_pages
from pushd.web.security import on_prepare


def add_web_routes(app: web.Application) -> None:
    """Register the pages; called once by pushd.routes.add_routes."""
    app[PAGES] = build_pages()
    app.on_response_prepare.append(on_prepare)
    app.router.add_static("/static/", STATIC_DIR, name="static")
    app.add_routes(
        [
            web.get("/", pages_auth.home),
            web.get("/login", pages_auth.login_form),
            web.post("/login", pages_auth.login),
            web.post("/logout", pages_auth.logout),
            web.get("/signup", pages_auth.signup_form),
            web.post("/signup", pages_auth.signup),
            web.get("/verify-email", pages_auth.verify_email_form),
            web.post("/verify-email", pages_auth.verify_email),
            web.get("/forgot-password", pages_auth.forgot_form),
            web.post("/forgot-password", pages_auth.forgot),
            web.get("/reset-password", pages_auth.reset_form),
            web.post("/reset-password", pages_auth.reset),
            # the second step
            web.get("/login/setup", pages_mfa.setup_page),
            web.post("/login/setup", pages_mfa.setup_choice),
            web.get("/login/mfa", pages_mfa.methods_page),
            web.get("/login/push", pages_mfa.push_page),
            web.post("/login/push", pages_mfa.push_send),
            web.get("/login/push/status", pages_mfa.push_status),
            web.post("/login/push/cancel", pages_mfa.push_cancel),
            web.get("/login/otp", pages_mfa.otp_page),
            web.post("/login/otp", pages_mfa.otp_verify),
            web.get("/login/webauthn", pages_mfa.webauthn_page),
            web.post("/login/webauthn/options", pages_mfa.webauthn_options),
            web.post("/login/webauthn/verify", pages_mfa.webauthn_verify),
            # getting back in
            web.get("/login/recovery", pages_recovery.recovery_page),
            web.post("/login/recovery", pages_recovery.recovery_verify),
            web.get("/login/alternative", pages_recovery.alternative_page),
            web.post("/login/alternative/start", pages_recovery.alternative_start),
            web.post("/login/alternative/resend", pages_recovery.alternative_resend),
            web.post("/login/alternative/verify", pages_recovery.alternative_verify),
            web.get("/login/case", pages_recovery.case_page),
            web.post("/login/case", pages_recovery.case_submit),
            # registering a device, and its recovery codes
            web.post("/register/push", pages_register.push_start),
            web.get("/register/push", pages_register.push_page),
            web.get("/register/push/status", pages_register.push_status),
            web.post("/register/push/cancel", pages_register.push_cancel),
            web.post("/register/otp", pages_register.otp_start),
            web.get("/register/otp", pages_register.otp_page),
            web.post("/register/otp/confirm", pages_register.otp_confirm),
            web.get("/register/webauthn", pages_register.webauthn_page),
            web.post("/register/webauthn/options", pages_register.webauthn_options),
            web.post("/register/webauthn/verify", pages_register.webauthn_verify),
            web.get("/recovery-codes", pages_codes.codes_page),
            web.get("/recovery-codes.txt", pages_codes.codes_text),
            web.post("/recovery-codes", pages_codes.codes_saved),
            # authentication settings
            web.get("/settings", pages_settings.settings_page),
            web.get("/settings/devices/{device_id}", pages_settings.device_page),
            web.post("/settings/devices/{device_id}/rename", pages_settings.device_rename),
            web.post("/settings/devices/{device_id}/remove", pages_settings.device_remove),
            web.get("/settings/recovery-codes", pages_settings.regenerate_page),
            web.post("/settings/recovery-codes", pages_settings.regenerate),
            web.get("/settings/contact", pages_settings.contact_page),
            web.post("/settings/contact", pages_settings.contact_save),
            web.post("/settings/opt-in", pages_settings.opt_in),
        ]
    )
