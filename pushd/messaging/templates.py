"""Message templates: plain text shipped with pushd, overridable file by file.

A template is ``Subject: ...`` on its first line, a blank line, then the body, rendered
with jinja2. Every template gets ``site`` (the issuer) plus the values listed in
``TEMPLATE_VALUES``, no more and no fewer. Overrides in ``templates_dir`` are checked
when ``Templates`` is built, so a broken one stops start-up rather than a recovery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import jinja2
import jinja2.meta
import jinja2.sandbox

from pushd.messaging.base import Outgoing
from pushd.settings import Settings

TEMPLATE_VALUES: Mapping[str, frozenset[str]] = MappingProxyType({
    "verify_email": frozenset({"username", "link", "minutes"}),
    "password_reset": frozenset({"username", "link", "minutes"}),
    "alternative_email": frozenset({"username", "code", "minutes"}),
    "alternative_sms": frozenset({"username", "code", "minutes"}),  # the text leaves it out
    "case_opened": frozenset({"username", "case_id"}),
    "case_approved": frozenset({"username", "case_id"}),
    "case_rejected": frozenset({"username", "case_id"}),
    "contact_changed": frozenset({"username"}),
})  # fmt: skip
SMS_TEMPLATES = frozenset({"alternative_sms"})
SMS_MAX_CHARS = 160  # one GSM-7 segment

# Long-ish stand-ins, so a length check on the sample holds for real values too.
_SAMPLES: Mapping[str, str] = MappingProxyType({
    "link": "https://backstage.example.com/recover?token=" + "x" * 43,
    "code": "12345678",
    "username": "sample.user",
    "case_id": "C-20240101-0001",
    "minutes": "15",
})  # fmt: skip


class TemplateError(ValueError):
    """A template that cannot be used, or a render call that does not fit it."""


@dataclass(frozen=True, slots=True)
class _Compiled:
    subject: jinja2.Template
    body: jinja2.Template


class Templates:
    def __init__(self, settings: Settings) -> None:
        self._site = settings.issuer
        builtin = jinja2.PackageLoader("pushd.messaging", "templates")
        loader: jinja2.BaseLoader = builtin
        if settings.templates_dir:
            loader = jinja2.ChoiceLoader([_overrides(Path(settings.templates_dir)), builtin])
        env = jinja2.sandbox.SandboxedEnvironment(
            loader=loader, autoescape=False, undefined=jinja2.StrictUndefined
        )
        self._compiled = {name: self._load(env, loader, name) for name in TEMPLATE_VALUES}

    def render(self, name: str, *, secrets: Sequence[str] = (), **values: str) -> Outgoing:
        """Fill template ``name``; ``secrets`` are the values to mask wherever it is shown."""
        compiled = self._compiled.get(name)
        if compiled is None:
            raise TemplateError(f"no template {name!r}")
        expected = TEMPLATE_VALUES[name]
        if values.keys() != expected:
            raise TemplateError(f"{name} takes {sorted(expected)}, was given {sorted(values)}")
        context = {**values, "site": self._site}
        subject = (
            "" if name in SMS_TEMPLATES else " ".join(compiled.subject.render(context).split())
        )
        body = compiled.body.render(context).strip()
        return Outgoing(subject=subject, body=body, secrets=tuple(secrets))

    def _load(self, env: jinja2.Environment, loader: jinja2.BaseLoader, name: str) -> _Compiled:
        source, filename, _ = loader.get_source(env, f"{name}.txt")
        where = filename or f"{name}.txt"
        first, _, rest = source.replace("\r\n", "\n").partition("\n")
        if not first.startswith("Subject:"):
            raise TemplateError(f"{where}: the first line must be 'Subject: ...'")
        if not rest.startswith("\n"):
            raise TemplateError(f"{where}: a blank line must follow the Subject line")
        allowed = TEMPLATE_VALUES[name] | {"site"}
        try:
            parsed = [env.parse(part) for part in (first.removeprefix("Subject:"), rest)]
            unknown = set().union(*map(jinja2.meta.find_undeclared_variables, parsed)) - allowed
            compiled = _Compiled(*(env.from_string(tree) for tree in parsed))
        except jinja2.TemplateSyntaxError as e:
            raise TemplateError(f"{where}: {e.message}") from e
        if unknown:
            raise TemplateError(
                f"{where}: unknown value(s) {sorted(unknown)}; it is given {sorted(allowed)}"
            )
        self._check_sample(name, where, compiled)
        return compiled

    def _check_sample(self, name: str, where: str, compiled: _Compiled) -> None:
        context = {key: _SAMPLES[key] for key in TEMPLATE_VALUES[name]} | {"site": self._site}
        try:
            subject = compiled.subject.render(context).strip()
            body = compiled.body.render(context).strip()
        except (jinja2.TemplateError, TypeError, ValueError, LookupError, ArithmeticError) as e:
            raise TemplateError(f"{where}: cannot render: {e}") from e
        if not body or (name not in SMS_TEMPLATES and not subject):
            raise TemplateError(f"{where}: the subject and the body must not be empty")
        if name in SMS_TEMPLATES and len(body) > SMS_MAX_CHARS:
            raise TemplateError(f"{where}: {len(body)} characters; keep SMS to {SMS_MAX_CHARS}")


def _overrides(directory: Path) -> jinja2.FileSystemLoader:
    """The operator's directory; a file pushd would never read is a mistake worth stopping for."""
    if not directory.is_dir():
        raise TemplateError(f"PUSHD_TEMPLATES_DIR {directory} is not a directory")
    known = {f"{name}.txt" for name in TEMPLATE_VALUES}
    strays = sorted(p.name for p in directory.glob("*.txt") if p.name not in known)
    if strays:
        raise TemplateError(f"unknown template(s) in {directory}: {strays}; known: {sorted(known)}")
    return jinja2.FileSystemLoader(directory, encoding="utf-8")
