"""Administrators, their passwords and their API tokens (no Flask here).

Passwords are kept only as salted scrypt hashes (werkzeug's format, so a hash says how it
was made and can be upgraded later). API bearer tokens are random strings shown once; the
database keeps only their SHA-256 digest, so a stolen database gives no usable token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from functools import cache

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from transit.models import ApiToken, User

PASSWORD_METHOD = "scrypt"
MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "trt_"
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$")


@cache
def _dummy_hash() -> str:
    # Checked when the user does not exist, so a wrong name costs as long as a wrong
    # password and response times do not tell which names exist.
    return generate_password_hash(secrets.token_hex(16), method=PASSWORD_METHOD)


class UserError(ValueError):
    """A user operation that cannot be done: names what is wrong in plain words."""


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` (the only form in which it is stored)."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


def check_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash`` (constant-time comparison)."""
    return check_password_hash(password_hash, password)


def validate_username(username: str) -> str:
    """The username, stripped, or UserError saying what is wrong with it."""
    name = username.strip()
    if not USERNAME_PATTERN.fullmatch(name):
        raise UserError(
            "a username is 1 to 80 letters, digits, dots, dashes, underscores or @, "
            f"starting with a letter or digit; got {username!r}"
        )
    return name


def validate_password(password: str) -> None:
    """Raise UserError when ``password`` is too weak to protect an administrator."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() == "":
        raise UserError("the password must not be only spaces")


def same_name(username: str) -> str:
    """The form of a user name two names are compared in: capitals and small letters are the
    same name ("QA" is "qa"). Names are ASCII (USERNAME_PATTERN), so lower() is exact."""
    return username.strip().lower()


def find_user(session: Session, username: str) -> User | None:
    """The user called ``username`` in any case ("QA" finds "qa"), or None.

    A name written exactly as stored wins; otherwise the one user whose name differs only in
    case. Two such users (made before names were compared in any case) and no exact match:
    None, never a guess between two people.
    """
    name = username.strip()
    exact = session.scalar(select(User).where(User.username == name))
    if exact is not None:
        return exact
    alike = list(
        session.scalars(select(User).where(func.lower(User.username) == same_name(name)).limit(2))
    )
    return alike[0] if len(alike) == 1 else None


def get_user(session: Session, username: str) -> User:
    """The user called ``username``; UserError when there is none."""
    user = find_user(session, username)
    if user is None:
        raise UserError(f"no user called {username!r}")
    return user


def create_user(session: Session, username: str, password: str, *, is_admin: bool = True) -> User:
    """Add a user with a hashed password (flushed, not committed)."""
    name = validate_username(username)
    validate_password(password)
    taken = session.scalar(
        select(User.username).where(func.lower(User.username) == same_name(name)).limit(1)
    )
    if taken is not None:
        if taken == name:
            raise UserError(f"a user called {name!r} already exists")
        raise UserError(
            f"a user called {taken!r} already exists; user names do not tell capitals from "
            f"small letters, so {name!r} would be the same name"
        )
    user = User(username=name, password_hash=hash_password(password), is_admin=is_admin)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """Replace a user's password (flushed, not committed)."""
    user = get_user(session, username)
    validate_password(password)
    user.password_hash = hash_password(password)
    session.flush()
    return user


def delete_user(session: Session, username: str) -> None:
    """Remove a user and, with it, every token issued to it."""
    user = get_user(session, username)
    session.delete(user)
    session.flush()


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user when the name and password match, else None (in about the same time)."""
    user = find_user(session, username) if USERNAME_PATTERN.fullmatch(username.strip()) else None
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    return user if check_password(user.password_hash, password) else None


def token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, username: str) -> str:
    """A new bearer token for ``username``; returned once, only its digest is stored."""
    user = get_user(session, username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=token_digest(token)))
    session.flush()
    return token


def revoke_tokens(session: Session, username: str) -> int:
    """Remove every token of ``username``; returns how many there were."""
    user = get_user(session, username)
    count = len(user.tokens)
    user.tokens.clear()
    session.flush()
    return count


def user_for_token(session: Session, token: str, *, touch: bool = True) -> User | None:
    """The user a bearer token belongs to, or None for an unknown token.

    The lookup is by digest, so the comparison never sees the stored secret; ``touch``
    records when the token was last used (the caller commits).
    """
    if not token or len(token) > 200:
        return None
    api_token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if api_token is None:
        return None
    if touch:
        api_token.last_used_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return api_token.user


def record_token_use(connection: Connection, token: str) -> None:
    """Write that ``token`` was used now, in a statement of its own on ``connection`` (the
    web layer's, in autocommit, after the request's write has committed): inside a request's
    transaction the token's row would be locked until its end, so one token's writes would
    wait on one another, and a read that wrote it would take SQLite's write lock."""
    connection.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == token_digest(token))
        .values(last_used_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
    )
