"""Email over SMTP (aiosmtplib): plain, STARTTLS or implicit TLS, with optional login.

One connection per message: recovery mail is rare, and a fresh connection never
trips over a server that dropped an idle one. Each attempt is bounded by the retry
policy's timeout; SMTP 4xx replies and connection trouble are retried, 5xx are not.
"""

from __future__ import annotations

import email.utils
import re
import ssl
from email.message import EmailMessage

import aiosmtplib

from pushd.messaging.base import Outgoing
from pushd.messaging.retry import Permanent, RetryPolicy, Transient, deliver, refuse
from pushd.settings import Settings, SettingsError

CHANNEL = "email"
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+")


class SmtpMailer:
    def __init__(self, settings: Settings, *, retry: RetryPolicy) -> None:
        if settings.smtp_tls and settings.smtp_starttls:
            raise SettingsError("PUSHD_SMTP_TLS and PUSHD_SMTP_STARTTLS exclude each other")
        sender = email.utils.parseaddr(settings.email_from)[1]
        if not _ADDRESS.fullmatch(sender):
            raise SettingsError("PUSHD_EMAIL_FROM needs an address: Site <no-reply@example.com>")
        self._settings = settings
        self._retry = retry
        self._domain = sender.rpartition("@")[2]  # for Message-ID, without a DNS lookup
        self._tls: ssl.SSLContext | None = None
        if settings.smtp_tls or settings.smtp_starttls:
            try:
                self._tls = ssl.create_default_context(cafile=settings.smtp_ca_file or None)
            except OSError as e:  # missing, unreadable or not PEM (ssl.SSLError)
                raise SettingsError(f"PUSHD_SMTP_CA_FILE cannot be used: {e}") from e

    def compose(self, to: str, message: Outgoing) -> EmailMessage:
        composed = EmailMessage()
        composed["From"] = self._settings.email_from
        composed["To"] = to
        composed["Subject"] = message.subject
        composed["Date"] = email.utils.formatdate(usegmt=True)
        composed["Message-ID"] = email.utils.make_msgid(domain=self._domain)
        composed["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
        composed.set_content(message.body, charset="utf-8")
        return composed

    async def send(self, to: str, message: Outgoing) -> None:
        if not _ADDRESS.fullmatch(to):
            raise refuse(CHANNEL, to, "invalid recipient")
        composed = self.compose(to, message)  # once: every attempt has the same Message-ID
        await deliver(lambda: self._hand_over(composed), channel=CHANNEL, to=to, policy=self._retry)

    async def close(self) -> None:
        """Nothing to release: connections last one message."""

    async def _hand_over(self, composed: EmailMessage) -> None:
        s = self._settings
        try:
            await aiosmtplib.send(
                composed,
                hostname=s.smtp_host,
                port=s.smtp_port,
                use_tls=s.smtp_tls,
                start_tls=s.smtp_starttls,
                tls_context=self._tls,
                username=s.smtp_username or None,
                password=s.smtp_password if s.smtp_username else None,
                timeout=self._retry.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as e:
            raise _by_code(max(r.code for r in e.recipients)) from e
        except aiosmtplib.SMTPResponseException as e:
            raise _by_code(e.code) from e
        except aiosmtplib.SMTPNotSupported as e:
            raise Permanent("smtp not supported") from e  # e.g. no STARTTLS or AUTH offered
        except (aiosmtplib.SMTPException, OSError) as e:
            if _caused_by(e, ssl.SSLCertVerificationError):
                raise Permanent("tls certificate not trusted") from e
            raise Transient(type(e).__name__) from e


def _by_code(code: int) -> Transient | Permanent:
    reason = f"smtp {code}"
    return Transient(reason) if 400 <= code < 500 else Permanent(reason)


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = error
    for _ in range(8):  # a chain is short; the bound guards against a cycle
        if seen is None:
            break
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
