"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served with local assets: a browser fetches nothing from elsewhere.

FastAPI's own pages load their scripts and styles from a CDN, so offline they are blank. These
serve the copies the ``fastapi-offline`` package ships (Swagger UI and ReDoc bundles, their
licences in the bundles' headers) under :data:`ASSETS`, and each page carries a Content Security
Policy that allows this origin only (its one inline script by hash), so a page that tried to
reach another host would be stopped by the browser too.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS = "/docs-assets"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def content_security_policy(html: str) -> str:
    """The policy for one documentation page: this origin only; its inline scripts by their SHA-256."""
    scripts = ["'self'"] + [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(html)
    ]
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(scripts),
            "style-src 'self' 'unsafe-inline'",  # both UIs set element styles from script
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _page(response: HTMLResponse) -> HTMLResponse:
    # FastAPI's page names no language, which screen readers need (axe: html-has-lang).
    html = re.sub(r"<html>", '<html lang="en">', bytes(response.body).decode(), count=1)
    response = HTMLResponse(html, status_code=response.status_code)
    response.headers["Content-Security-Policy"] = content_security_policy(html)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def install(app: FastAPI) -> None:
    """Add ``/docs``, ``/redoc`` and their assets to ``app`` (created with ``docs_url=None, redoc_url=None``)."""
    app.mount(ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")
    title = app.title

    def url(request: Request, path: str) -> str:
        return f"{request.scope.get('root_path', '')}{path}"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return _page(
            get_swagger_ui_html(
                openapi_url=url(request, str(app.openapi_url)),
                title=f"{title} - Swagger UI",
                swagger_js_url=url(request, f"{ASSETS}/swagger-ui-bundle.js"),
                swagger_css_url=url(request, f"{ASSETS}/swagger-ui.css"),
                swagger_favicon_url=url(request, f"{ASSETS}/favicon.png"),
                swagger_ui_parameters=app.swagger_ui_parameters,
            )
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return _page(
            get_redoc_html(
                openapi_url=url(request, str(app.openapi_url)),
                title=f"{title} - ReDoc",
                redoc_js_url=url(request, f"{ASSETS}/redoc.standalone.js"),
                redoc_favicon_url=url(request, f"{ASSETS}/favicon.png"),
                with_google_fonts=False,
            )
        )
