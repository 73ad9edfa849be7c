"""Sign-in: a person's name and password (and TOTP code, when enrolled) for a short-lived key."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import ArchiveDep, SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.schemas import KeyCreated, KeyOut, SignIn
from api.signing_in import sign_in as sign_in_person

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"], responses={**COMMON_ERRORS, **error_responses(429)})


@router.post("", status_code=201, response_model=KeyCreated)
def sign_in(body: SignIn, request: Request, session: SessionDep, archive: ArchiveDep) -> KeyCreated:
    """A key of the person's role, expiring after VERITY_SIGN_IN_HOURS; send it as any other key.
    Failed sign-ins are logged (name, address and reason, never the password) and limited per
    account and per address (429 with Retry-After)."""
    key, secret = sign_in_person(session, request, archive, body.name, body.password, body.totp)
    return KeyCreated(**KeyOut.of(key).model_dump(), key=secret)
