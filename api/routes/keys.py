"""API keys, for archive-wide admins: create (secret shown once), list, revoke. A case's admin
manages who belongs to the case (its members), never keys: a key can carry any role its person
holds anywhere, so making one is archive-wide power."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from api.errors import COMMON_ERRORS, error_responses
from api.params import Admin
from api.schemas import KeyCreate, KeyCreated, KeyOut
from storage.access import archive_wide
from storage.keys import Role, create_key, list_keys, revoke_key

router = APIRouter(prefix="/api/v1/keys", tags=["keys"], responses=COMMON_ERRORS)


@router.post("", status_code=201, response_model=KeyCreated, responses=error_responses(409))
def create(body: KeyCreate, session: SessionDep, caller: Admin) -> KeyCreated:
    archive_wide(caller.scope, Role.admin, "making keys")
    key, secret = create_key(
        session, body.name, body.role.value, person=body.person, cases=body.cases, expires_at=body.expires_at
    )
    return KeyCreated(**KeyOut.of(key).model_dump(), key=secret)


@router.get("", response_model=list[KeyOut])
def index(session: SessionDep, caller: Admin) -> list[KeyOut]:
    archive_wide(caller.scope, Role.admin, "the list of keys")
    return [KeyOut.of(key) for key in list_keys(session)]


@router.delete("/{name}", response_model=KeyOut)
def revoke(name: str, session: SessionDep, caller: Admin) -> KeyOut:
    archive_wide(caller.scope, Role.admin, "revoking keys")
    key = revoke_key(session, name)
    return KeyOut.of(key)
