"""Passwords and API tokens: only hashes and digests are stored."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from transit import auth
from transit.models import ApiToken, User


def test_password_is_stored_only_as_salted_hash(session):
    user = auth.create_user(session, "ada", "correct horse battery")
    session.commit()
    stored = session.scalar(select(User.password_hash).where(User.username == "ada"))
    assert "correct horse battery" not in stored
    assert stored.startswith("scrypt:")
    other = auth.create_user(session, "bob", "correct horse battery")
    assert other.password_hash != user.password_hash  # salted


def test_authenticate(session):
    auth.create_user(session, "ada", "correct horse battery")
    assert auth.authenticate(session, "ada", "correct horse battery").username == "ada"
    assert auth.authenticate(session, "ada", "wrong password") is None
    assert auth.authenticate(session, "nobody", "correct horse battery") is None
    assert auth.authenticate(session, "' OR 1=1 --", "x") is None


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("", "long enough pw", "username"),
        ("with space", "long enough pw", "username"),
        ("x" * 81, "long enough pw", "username"),
        ("ada", "short", "at least 8"),
        ("ada", "        ", "only spaces"),
    ],
)
def test_bad_users_refused(session, name, password, message):
    with pytest.raises(auth.UserError, match=message):
        auth.create_user(session, name, password)


def test_duplicate_user_refused(session):
    auth.create_user(session, "ada", "correct horse battery")
    with pytest.raises(auth.UserError, match="already exists"):
        auth.create_user(session, "ada", "another password")


def test_token_digest_only(session):
    auth.create_user(session, "ada", "correct horse battery")
    token = auth.issue_token(session, "ada")
    session.commit()
    assert token.startswith(auth.TOKEN_PREFIX) and len(token) > 40
    stored = session.scalars(select(ApiToken.token_hash)).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    user = auth.user_for_token(session, token)
    assert user is not None and user.username == "ada"
    assert user.tokens[0].last_used_at is not None
    assert auth.user_for_token(session, token + "x") is None
    assert auth.user_for_token(session, "") is None
    assert auth.user_for_token(session, stored[0]) is None  # the digest is not a token


def test_tokens_are_unique_and_revocable(session):
    auth.create_user(session, "ada", "correct horse battery")
    tokens = {auth.issue_token(session, "ada") for _ in range(5)}
    assert len(tokens) == 5
    assert auth.revoke_tokens(session, "ada") == 5
    assert all(auth.user_for_token(session, t) is None for t in tokens)


def test_deleting_user_removes_tokens(session):
    auth.create_user(session, "ada", "correct horse battery")
    token = auth.issue_token(session, "ada")
    auth.delete_user(session, "ada")
    session.commit()
    assert auth.user_for_token(session, token) is None
    assert session.scalars(select(ApiToken)).all() == []
    with pytest.raises(auth.UserError, match="no user"):
        auth.issue_token(session, "ada")


def test_set_password(session):
    auth.create_user(session, "ada", "correct horse battery")
    auth.set_password(session, "ada", "new password here")
    assert auth.authenticate(session, "ada", "new password here") is not None
    assert auth.authenticate(session, "ada", "correct horse battery") is None


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_any_string_token_is_refused_without_error(token):
    # An independent reference: a token is valid only if issued; none is issued here.
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from transit.models import Base

    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        assert auth.user_for_token(session, token) is None
    engine.dispose()
