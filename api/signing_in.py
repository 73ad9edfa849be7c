"""Signing a person in, for `POST /api/v1/sessions` and the workbench's sign-in page alike: the
failure limits, the log lines, and the short-lived key that stands for the sign-in."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import Request
from sqlalchemy.orm import Session

from api.sign_in_limit import SignInLimit
from storage.archive import Archive
from storage.keys import create_sign_in_key
from storage.models import ApiKey
from storage.people import check_sign_in
from verity.errors import SignInRefused

log = logging.getLogger("verity.api.sessions")


def sign_in(
    session: Session, request: Request, archive: Archive, name: str, password: str, totp: str | None
) -> tuple[ApiKey, str]:
    """A key of the person's role expiring after VERITY_SIGN_IN_HOURS, and its secret. Failures
    are logged (name, address and reason, never the password) and limited per account and per
    address (`TooManyRequests`)."""
    limit: SignInLimit = request.app.state.sign_in_limit
    address = request.client.host if request.client else "unknown"
    limit.check(name, address)
    try:
        person = check_sign_in(session, name, password, totp)
    except SignInRefused as refused:
        limit.failed(name, address)
        log.warning("sign-in refused for %r from %s: %s", name, address, refused.detail)
        raise
    limit.succeeded(name)
    key, secret = create_sign_in_key(session, person, timedelta(hours=archive.settings.sign_in_hours))
    log.info("%r signed in from %s (key %r)", person.name, address, key.name)
    return key, secret
