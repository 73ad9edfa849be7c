"""Sign-in: a person's name and password (and TOTP code, when enrolled) for a short-lived key."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, Request

from api.deps import ArchiveDep, SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.schemas import KeyCreated, KeyOut, SignIn
from api.sign_in_limit import SignInLimit
from storage.keys import create_sign_in_key
from storage.people import check_sign_in
from verity.errors import SignInRefused

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"], responses={**COMMON_ERRORS, **error_responses(429)})
log = logging.getLogger("verity.api.sessions")


@router.post("", status_code=201, response_model=KeyCreated)
def sign_in(body: SignIn, request: Request, session: SessionDep, archive: ArchiveDep) -> KeyCreated:
    """A key of the person's role, expiring after VERITY_SIGN_IN_HOURS; send it as any other key.
    Failed sign-ins are logged (name, address and reason, never the password) and limited per
    account and per address (429 with Retry-After)."""
    limit: SignInLimit = request.app.state.sign_in_limit
    address = request.client.host if request.client else "unknown"
    limit.check(body.name, address)
    try:
        person = check_sign_in(session, body.name, body.password, body.totp)
    except SignInRefused as refused:
        limit.failed(body.name, address)
        log.warning("sign-in refused for %r from %s: %s", body.name, address, refused.detail)
        raise
    limit.succeeded(body.name)
    key, secret = create_sign_in_key(session, person, timedelta(hours=archive.settings.sign_in_hours))
    log.info("%r signed in from %s (key %r)", person.name, address, key.name)
    return KeyCreated(**KeyOut.of(key).model_dump(), key=secret)
