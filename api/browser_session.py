"""A browser's sign-in: the secret of a sign-in key (storage/keys.py `create_sign_in_key`) kept in
an HttpOnly cookie, and the CSRF token that must come with every request that changes anything.

The token is derived from the secret (an HMAC), so it needs no storage and dies with the key; the
page carries it (a `<meta>` tag, hidden form fields), and script reads it from there, never from
the cookie, which script cannot read. A request authenticated by a bearer key needs no token:
another site cannot make a browser send an Authorization header."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.datastructures import Headers
from starlette.responses import Response

SESSION_COOKIE = "verity_session"
# Before sign-in there is no secret to derive from: the sign-in form's token is a random value
# kept in a cookie of its own and echoed by the form (double submit), against login CSRF.
SIGN_IN_COOKIE = "verity_sign_in"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(secret: str) -> str:
    return hmac.new(secret.encode(), b"verity csrf token", hashlib.sha256).hexdigest()


def csrf_matches(secret: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(secret), presented)


def sign_in_token() -> str:
    return secrets.token_urlsafe(32)


def presented_secret(headers: Headers, cookies: dict[str, str]) -> tuple[str | None, bool]:
    """The key secret a request presents and whether it came in the session cookie. A bearer key
    wins over the cookie."""
    scheme, _, secret = (headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return secret.strip(), False
    if headers.get("authorization"):
        return None, False  # some other scheme: refused as no key
    cookie = cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


def set_cookie(response: Response, name: str, value: str, *, secure: bool, max_age: int | None = None) -> None:
    """HttpOnly (script cannot read it), SameSite=Strict (no other site's page sends it), Secure
    when the request came over TLS (a plain-HTTP cookie would never come back otherwise)."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/")
