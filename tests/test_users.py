"""``flask users ...`` commands."""

from __future__ import annotations

from sqlalchemy import select

from transit import auth
from transit.models import ApiToken, User
from transit.web.extensions import db


def _users(app):
    with app.app_context():
        return {u.username: u for u in db.session.scalars(select(User))}


def test_create_prompts_twice_and_stores_hash(app, runner):
    result = runner.invoke(
        args=["users", "create", "ada"], input="s3cret password\ns3cret password\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created ada, an administrator." in result.output
    assert "s3cret password" not in result.output  # hidden input is not echoed
    user = _users(app)["ada"]
    assert user.is_admin
    assert user.password_hash != "s3cret password" and "s3cret" not in user.password_hash
    with app.app_context():
        assert auth.authenticate(db.session, "ada", "s3cret password") is not None


def test_create_confirmation_mismatch_asks_again(app, runner):
    result = runner.invoke(
        args=["users", "create", "ada"],
        input="first password\nother password\nfirst password\nfirst password\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output.lower() or "don't match" in result.output.lower()
    assert "ada" in _users(app)


def test_create_from_stdin_and_non_admin(app, runner):
    result = runner.invoke(
        args=["users", "create", "reader", "--no-admin", "--password-stdin"],
        input="a long password\n",
    )
    assert result.exit_code == 0, result.output
    assert not _users(app)["reader"].is_admin


def test_create_refuses_weak_password_and_duplicates(app, runner):
    result = runner.invoke(args=["users", "create", "ada", "--password-stdin"], input="short\n")
    assert result.exit_code != 0 and "at least 8" in result.output
    assert _users(app) == {}
    runner.invoke(args=["users", "create", "ada", "--password-stdin"], input="long enough\n")
    again = runner.invoke(
        args=["users", "create", "ada", "--password-stdin"], input="long enough\n"
    )
    assert again.exit_code != 0 and "already exists" in again.output


def test_token_printed_once_and_stored_as_digest(app, runner):
    runner.invoke(args=["users", "create", "ada", "--password-stdin"], input="long enough\n")
    result = runner.invoke(args=["users", "token", "ada"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith(auth.TOKEN_PREFIX)
    with app.app_context():
        hashes = db.session.scalars(select(ApiToken.token_hash)).all()
        assert hashes == [auth.token_digest(token)]
        assert auth.user_for_token(db.session, token).username == "ada"
    missing = runner.invoke(args=["users", "token", "nobody"])
    assert missing.exit_code != 0 and "no user called 'nobody'" in missing.output


def test_list_revoke_password_delete(app, runner):
    assert "No users yet" in runner.invoke(args=["users", "list"]).output
    runner.invoke(args=["users", "create", "ada", "--password-stdin"], input="long enough\n")
    runner.invoke(
        args=["users", "create", "bob", "--no-admin", "--password-stdin"], input="long enough\n"
    )
    runner.invoke(args=["users", "token", "ada"])
    listing = runner.invoke(args=["users", "list"]).output.splitlines()
    assert listing[0].startswith("ada") and "admin" in listing[0] and "1 token" in listing[0]
    assert listing[1].startswith("bob") and "reader" in listing[1]

    assert "Revoked 1 token" in runner.invoke(args=["users", "revoke", "ada"]).output
    changed = runner.invoke(
        args=["users", "password", "ada", "--password-stdin"], input="brand new pw\n"
    )
    assert changed.exit_code == 0, changed.output
    with app.app_context():
        assert auth.authenticate(db.session, "ada", "brand new pw") is not None

    refused = runner.invoke(args=["users", "delete", "bob"], input="n\n")
    assert refused.exit_code != 0 and "bob" in _users(app)
    assert runner.invoke(args=["users", "delete", "bob"], input="y\n").exit_code == 0
    assert runner.invoke(args=["users", "delete", "ada", "--yes"]).exit_code == 0
    assert _users(app) == {}
    gone = runner.invoke(args=["users", "delete", "ada", "--yes"])
    assert gone.exit_code != 0 and "no user" in gone.output
    # Without --yes it says so at once, rather than asking to delete a user there is not.
    asked = runner.invoke(args=["users", "delete", "nobody"], input="y\n")
    assert asked.exit_code != 0 and "no user" in asked.output and "Delete user" not in asked.output
