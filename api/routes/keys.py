"""API keys, for admins: create (secret shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.params import Admin
from api.schemas import KeyCreate, KeyCreated, KeyOut
from storage.keys import create_key, list_keys, revoke_key

router = APIRouter(prefix="/api/v1/keys", tags=["keys"], responses=COMMON_ERRORS)


@router.post("", status_code=201, response_model=KeyCreated, responses=error_responses(409))
def create(body: KeyCreate, session: SessionDep, _caller: Admin) -> KeyCreated:
    key, secret = create_key(
        session, body.name, body.role.value, person=body.person, cases=body.cases, expires_at=body.expires_at
    )
    return KeyCreated(**KeyOut.of(key).model_dump(), key=secret)


@router.get("", response_model=list[KeyOut])
def index(session: SessionDep, _caller: Admin) -> list[KeyOut]:
    return [KeyOut.of(key) for key in list_keys(session)]


@router.delete("/{name}", response_model=KeyOut)
def revoke(name: str, session: SessionDep, _caller: Admin) -> KeyOut:
    key = revoke_key(session, name)
    return KeyOut.of(key)
