"""``flask users ...``: administrators and their API tokens."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from transit import auth
from transit.web.extensions import db


@click.group("users")
def users() -> None:
    """Manage administrators and their API tokens."""


def _fail(error: auth.UserError) -> None:
    db.session.rollback()
    raise click.ClickException(str(error))


@users.command("create")
@click.argument("name")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts).",
)
@click.option(
    "--admin/--no-admin",
    default=True,
    show_default=True,
    help="Whether the user may change the timetable (API writes, admin pages).",
)
@with_appcontext
def create(name: str, password_stdin: bool, admin: bool) -> None:
    """Create user NAME; the password is prompted for (hidden, asked twice)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = auth.create_user(db.session(), name, password, is_admin=admin)
    except auth.UserError as error:
        _fail(error)
        return
    db.session.commit()
    role = "an administrator" if user.is_admin else "a user without write access"
    click.echo(f"Created {user.username}, {role}.")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@with_appcontext
def password(name: str, password_stdin: bool) -> None:
    """Change the password of user NAME."""
    if password_stdin:
        new = sys.stdin.readline().rstrip("\r\n")
    else:
        new = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        auth.set_password(db.session(), name, new)
    except auth.UserError as error:
        _fail(error)
        return
    db.session.commit()
    click.echo(f"Password of {name} changed.")


@users.command("token")
@click.argument("name")
@with_appcontext
def token(name: str) -> None:
    """Issue a new API bearer token for NAME and print it (it is shown only once)."""
    try:
        value = auth.issue_token(db.session(), name)
    except auth.UserError as error:
        _fail(error)
        return
    db.session.commit()
    click.echo(value)
    click.echo(
        "Keep this token safe: it is not stored and cannot be shown again. "
        "Send it as 'Authorization: Bearer <token>'.",
        err=True,
    )


@users.command("revoke")
@click.argument("name")
@with_appcontext
def revoke(name: str) -> None:
    """Revoke every API token of NAME."""
    try:
        count = auth.revoke_tokens(db.session(), name)
    except auth.UserError as error:
        _fail(error)
        return
    db.session.commit()
    click.echo(f"Revoked {count} token{'s' if count != 1 else ''} of {name}.")


@users.command("list")
@with_appcontext
def list_() -> None:
    """List users: name, role, tokens, creation date."""
    people = auth.list_users(db.session())
    if not people:
        click.echo("No users yet: create one with 'flask users create NAME'.")
        return
    width = max(len(u.username) for u in people)
    for user in people:
        role = "admin" if user.is_admin else "reader"
        created = user.created_at.strftime("%Y-%m-%d %H:%M") if user.created_at else ""
        tokens = len(user.tokens)
        click.echo(
            f"{user.username:<{width}}  {role:<6}  {tokens} token{'s' if tokens != 1 else ''}"
            f"  created {created} UTC"
        )


@users.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def delete(name: str, yes: bool) -> None:
    """Delete user NAME and revoke its tokens."""
    try:
        name = auth.get_user(db.session(), name).username  # no question about a user not there
        if not yes:
            click.confirm(f"Delete user {name} and all its tokens?", abort=True)
        auth.delete_user(db.session(), name)
    except auth.UserError as error:
        _fail(error)
        return
    db.session.commit()
    click.echo(f"Deleted user {name}.")
