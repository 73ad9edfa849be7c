"""A browser's sign-in: the secret of a sign-in key (storage/keys.py `create_sign_in_key`) kept in
an HttpOnly cookie, and the CSRF token that must come with every request that changes anything.

The token is derived from the secret (an HMAC), so it needs no storage and dies with the key; the
page carries it (a `<meta>` tag, hidden form fields), and script reads it from there, never from
the cookie, which script cannot read. A request authenticated by a bearer key needs no token:
another site cannot make a browser send an Authorization header."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import URL, Headers
from starlette.responses import Response

SESSION_COOKIE = "verity_session"
# Before sign-in there is no secret to derive from: the sign-in form's token is a random value
# signed with the archive's form key (`sign_in_form_key`), kept in a cookie of its own and echoed
# by the form (double submit), against login CSRF. The signature means a value planted in the
# cookie by a page of the same site (another port shares its cookies) must be one this server made.
SIGN_IN_COOKIE = "verity_sign_in"
SIGN_IN_FORM_KEY_FILE = "sign-in-form.key"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(secret: str) -> str:
    return hmac.new(secret.encode(), b"verity csrf token", hashlib.sha256).hexdigest()


def csrf_matches(secret: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(secret), presented)


def sign_in_token(key: bytes) -> str:
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_signature(key, nonce)}"


def sign_in_token_matches(key: bytes, cookie: str | None, presented: str | None) -> bool:
    """Whether the form echoes its cookie's token, and the token is one signed with `key`."""
    if not cookie or not presented or not hmac.compare_digest(cookie.encode(), presented.encode()):
        return False
    nonce, _, signature = cookie.partition(".")
    return hmac.compare_digest(_signature(key, nonce).encode(), signature.encode())


def _signature(key: bytes, nonce: str) -> str:
    return hmac.new(key, b"verity sign-in form " + nonce.encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def sign_in_form_key(data_dir: Path) -> bytes:
    """The archive's key for signing sign-in form tokens: 32 random bytes in data_dir, made once
    (linked into place, so two processes starting together agree on one) and readable by its owner only."""
    path = data_dir / SIGN_IN_FORM_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{SIGN_IN_FORM_KEY_FILE}.{secrets.token_hex(8)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(secrets.token_bytes(32))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the key
        finally:
            draft.unlink()
    return path.read_bytes()


def own_origin(url: URL) -> str:
    """The origin (scheme://host[:port]) a browser gives pages of this server, from the URL it asked for."""
    return _origin(f"{url.scheme}://{url.netloc}")


def _origin(text: str) -> str:
    parts = urlsplit(text.strip().lower())
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return "invalid"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def cross_site_refusal(method: str, headers: Headers, origin: str) -> str | None:
    """Why a signed-in browser's request did not come from this server's own pages, or None. Its
    cookie is SameSite=Strict, but a page of the same *site* (another port, a subdomain) still
    sends it: an `<img>` or a form there would act under the visitor's name. Chromium and Firefox
    say where a request comes from in Sec-Fetch-Site; `none` (typed into the address bar, a
    bookmark) passes for reading only. An Origin header (sent with every form POST and script
    request) must be this server's."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin" and not (fetch_site == "none" and method in SAFE_METHODS):
        return (
            f"a signed-in browser's request that did not come from this server's own pages is refused "
            f"(Sec-Fetch-Site: {fetch_site[:40]}): open the workbench at {origin} and act from there"
        )
    presented = headers.get("origin")
    if presented is not None and _origin(presented) != origin:
        return (
            f"a signed-in browser's request from another origin ({presented[:100]}) is refused: "
            f"only pages of {origin} may act with its sign-in"
        )
    return None


def presented_secret(headers: Headers, cookies: dict[str, str], url: URL) -> tuple[str | None, bool]:
    """The key secret a request presents and whether it came in the session cookie. A bearer key
    wins over the cookie."""
    scheme, _, secret = (headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return secret.strip(), False
    if headers.get("authorization"):
        return None, False  # some other scheme: refused as no key
    cookie = cookie_of(cookies, SESSION_COOKIE, url)
    return (cookie, True) if cookie else (None, False)


def cookie_name(name: str, url: URL) -> str:
    """A cookie's name as this request's scheme has it. Over TLS it is `__Host-` prefixed: a
    browser takes such a cookie only from this very origin (Secure, Path=/, no Domain), so a page
    of a subdomain or of plain HTTP cannot plant one. Plain HTTP (loopback) cannot have the prefix."""
    return f"__Host-{name}" if url.scheme == "https" else name


def cookie_of(cookies: dict[str, str], name: str, url: URL) -> str | None:
    """The cookie's value under the name this request's scheme gives it (never the other name:
    over TLS an unprefixed one may have been planted)."""
    return cookies.get(cookie_name(name, url))


def set_cookie(response: Response, name: str, value: str, url: URL, *, max_age: int | None = None) -> None:
    """HttpOnly (script cannot read it), SameSite=Strict (no other site's page sends it), Secure
    and `__Host-` named when the request came over TLS (a plain-HTTP cookie would never come back
    otherwise)."""
    secure = url.scheme == "https"
    response.set_cookie(
        cookie_name(name, url), value, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/"
    )


def delete_cookie(response: Response, name: str, url: URL) -> None:
    secure = url.scheme == "https"  # a browser drops a __Host- cookie only by a Secure answer
    response.delete_cookie(cookie_name(name, url), path="/", secure=secure, httponly=True, samesite="strict")
