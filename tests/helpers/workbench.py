"""Signing in to the workbench in the tests: a person with a password, and a TestClient holding
their session cookie (the form's CSRF token read off the page, as a browser would)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from storage.archive import Archive
from storage.people import create_person

PASSWORD = "a long test passphrase"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def make_person(archive: Archive, name: str, role: str) -> str:
    with archive.sessions.begin() as session:
        create_person(session, name, role, PASSWORD)
    return name


def form_token(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def page_token(html: str) -> str:
    found = _META.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign `client` in through the form; the CSRF token of the pages it now sees."""
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"name": name, "password": password, "csrf_token": form_token(form.text), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return page_token(client.get("/").text)
