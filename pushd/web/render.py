"""Templates and static files: one jinja2 environment per application, autoescaped."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2
from aiohttp import web
from markupsafe import Markup

from pushd.appkeys import SERVICES
from pushd.services.registrations import qr_svg

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"
STATIC_PREFIX = "/static/"


@dataclass(frozen=True, slots=True)
class Pages:
    """What the pages need from the application: the environment and static file versions."""

    env: jinja2.Environment
    versions: Mapping[str, str]

    def static_url(self, name: str) -> str:
        """``/static/NAME?v=HASH``: a changed file gets a new URL, so it may be cached long."""
        return f"{STATIC_PREFIX}{name}?v={self.versions.get(name, '0')}"


PAGES = web.AppKey("pages", Pages)


def build_pages() -> Pages:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    versions = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        for path in sorted(STATIC_DIR.iterdir())
        if path.is_file()
    }
    pages = Pages(env=env, versions=versions)
    env.globals["static"] = pages.static_url
    return pages


def render_text(
    request: web.Request,
    template: str,
    *,
    status: int = 200,
    csrf_token: str = "",
    signed_in: bool = False,
    values: Mapping[str, object] | None = None,
) -> str:
    pages = request.app[PAGES]
    settings = request.app[SERVICES].ctx.settings
    context: dict[str, object] = {
        "site": settings.issuer,
        "csrf_token": csrf_token,
        "signed_in": signed_in,
        "status": status,
        "path": request.path,
    }
    context.update(values or {})
    return pages.env.get_template(template).render(context)


def html(body: str, *, status: int = 200, no_store: bool = True) -> web.Response:
    """An HTML answer; pages are personal, so none is kept in a cache unless asked."""
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    if no_store:
        response.headers["Cache-Control"] = "no-store"
    return response


_SIZE = re.compile(r'<svg([^>]*?) width="(\d+)" height="(\d+)"')


def qr_markup(uri: str) -> Markup:
    """The QR code as inline SVG (our own markup: no script, no style attribute), scalable."""
    svg = _SIZE.sub(
        lambda m: (
            f'<svg{m.group(1)} viewBox="0 0 {m.group(2)} {m.group(3)}" role="img"'
            ' aria-label="QR code to scan with your authenticator app"'
        ),
        qr_svg(uri),
        count=1,
    )
    return Markup(svg)  # noqa: S704 - segno's SVG of our own URI, not user input
