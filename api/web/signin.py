"""The review pages' gate: a sign-in that keeps the reviewer's token in a cookie, and same-origin form posts.

An API client sends ``Authorization: Bearer``; a browser signs in once and its cookie (HttpOnly,
SameSite=Strict, Path=/review, Secure over https) is read by the review pages alone. A form post
whose ``Origin`` (or, without one, ``Referer``) names another host is refused: the cookie is never
sent cross-site, but a server open on loopback has no cookie to protect it. Tokens are never logged.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..auth import Principal, authenticate, get_credentials, is_loopback
from ..body import read_limited
from ..deps import KnowledgeBaseDep
from ..negotiation import media_type
from ..problems import PROBLEM, Problem
from ..roles import Role, words
from .pages import HTML, page, wants_html

router = APIRouter(tags=["pages"])

COOKIE = "gr_review"
REVIEWER = frozenset({Role.REVIEWER})
FORM = "application/x-www-form-urlencoded"
FORM_MAX_BYTES = 64 * 1024
TOKEN = re.compile(r"[\x21-\x7e]{1,512}")  # printable ASCII: a cookie carries it as it is
SEE_OTHER: dict[int | str, dict[str, Any]] = {303: {"description": "Where to go next (a page)"}}
HTML_PAGE: dict[str, Any] = {"content": {HTML: {"schema": {"type": "string"}}}}


def form_body(fields: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI request body of a form post with these string fields."""
    schema = {"type": "object", "properties": fields, "additionalProperties": False}
    return {"requestBody": {"required": True, "content": {FORM: {"schema": schema}}}}


def same_origin(request: Request) -> bool:
    """Whether a post comes from this server's own pages: ``Origin``, else ``Referer``, names its host when sent."""
    host = request.headers.get("host", "")
    for header in ("origin", "referer"):
        value = request.headers.get(header)
        if value is not None:
            return bool(host) and urlsplit(value).netloc == host
    return True  # neither sent (an older client): the digest and the SameSite cookie still hold


async def read_form(request: Request) -> dict[str, str]:
    """A same-origin form post's fields (the first of each name); a ``Problem`` otherwise (403, 415, 413, 422)."""
    if not same_origin(request):
        raise Problem(403, "cross-site", "Cross-site post refused", "a form is accepted from this server's pages only")
    if media_type(request.headers.get("content-type")) != FORM:
        raise Problem(415, "unsupported-media-type", "Unsupported media type", f"a form post is {FORM}")
    body = await read_limited(request, FORM_MAX_BYTES)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise Problem(422, "request-invalid", "The request is not valid", "the form is not UTF-8 fields") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def next_page(value: str | None) -> str:
    """Where to go after signing in: a review page of this server, else the queue."""
    if value and re.fullmatch(r"/review(/[0-9A-Za-z-]{1,80})?", value):
        return value
    return "/review"


def reviewer(request: Request, kb: Any) -> Principal | Response:
    """The reviewer (bearer token, sign-in cookie, or open on loopback); for a browser otherwise a page to go to.

    Without a reviewer a browser is sent to the sign-in page (401) or shown why not (403); any
    other client gets the problem.
    """
    try:
        return authenticate(request, REVIEWER, cookie=COOKIE)
    except Problem as exc:
        if not wants_html(request):
            raise
        if exc.status == 401:
            return RedirectResponse(f"/review/sign-in?next={quote(request.url.path)}", status_code=303)
        signed_in = bool(request.cookies.get(COOKIE))
        return page(
            "review_message.html.j2",
            kb,
            status=exc.status,
            heading="The review pages are for reviewers",
            message=exc.detail[:1].upper() + exc.detail[1:] + ".",
            sign_in=True,
            signed_in=signed_in,
            section="review",
        )


def _open(request: Request) -> bool:
    return get_credentials(request).open and is_loopback(request.client.host if request.client else None)


def _sign_in_page(request: Request, kb: Any, *, status: int = 200, error: str | None = None, goto: str) -> Response:
    return page(
        "review_sign_in.html.j2",
        kb,
        status=status,
        error=error,
        next=goto,
        open=_open(request),
        signed_in=bool(request.cookies.get(COOKIE)),
        section="review",
    )


@router.get(
    "/review/sign-in",
    summary="Sign in to the review pages (a page)",
    description="A form for the reviewer's token; on loopback without tokens it says no sign-in is needed.",
    responses={200: HTML_PAGE},
    response_class=Response,
)
def sign_in_form(request: Request, kb: KnowledgeBaseDep, next: str | None = None) -> Response:  # noqa: A002
    """The sign-in page."""
    return _sign_in_page(request, kb, goto=next_page(next))


@router.post(
    "/review/sign-in",
    summary="Sign in with a reviewer token (a form post)",
    description=(
        "Checks the token; a reviewer's is kept in a cookie (HttpOnly, SameSite=Strict, Path=/review, Secure over "
        "https) that the review pages accept as the bearer token. A token this server does not know: 401; one "
        "without the reviewer role: 403 (a page saying so). A post from another site: 403. On loopback without "
        "tokens there is nothing to sign in to: straight to the page asked for."
    ),
    status_code=303,
    response_class=Response,
    responses={
        **SEE_OTHER,
        401: {"description": "Not a token this server knows (the form again)", **HTML_PAGE},
        403: {"description": "Not a reviewer's token, or a cross-site post", "content": {HTML: {}, PROBLEM: {}}},
    },
    openapi_extra=form_body({"token": {"type": "string"}, "next": {"type": "string"}}),
)
async def sign_in(request: Request, kb: KnowledgeBaseDep) -> Response:
    """Check the token and keep it in the cookie."""
    fields = await read_form(request)
    token, goto = fields.get("token", "").strip(), next_page(fields.get("next"))
    if _open(request):  # no tokens to sign in with: the pages are open to this client as they are
        return RedirectResponse(goto, status_code=303)
    holder = get_credentials(request).find(token.encode()) if TOKEN.fullmatch(token) else None
    if holder is None:
        return _sign_in_page(request, kb, status=401, error="That is not a token this server knows.", goto=goto)
    if Role.REVIEWER not in holder.roles:
        error = f"The token of {holder.name} has the role {words(holder.roles)}; the review pages need reviewer."
        return _sign_in_page(request, kb, status=403, error=error, goto=goto)
    response = RedirectResponse(goto, status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, token, path="/review", httponly=True, samesite="strict", secure=secure)
    return response


@router.post(
    "/review/sign-out",
    summary="Sign out of the review pages (a form post)",
    description="Clears the sign-in cookie; then the sign-in page.",
    status_code=303,
    response_class=Response,
    responses={**SEE_OTHER, 403: {"description": "A cross-site post", "content": {PROBLEM: {}}}},
)
async def sign_out(request: Request) -> Response:
    """Clear the cookie."""
    if not same_origin(request):
        raise Problem(403, "cross-site", "Cross-site post refused", "a form is accepted from this server's pages only")
    response = RedirectResponse("/review/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/review", httponly=True, samesite="strict")
    return response
