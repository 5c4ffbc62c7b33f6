"""`assay user`: add, list and change users, and make new API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from assay.cli.common import current_settings, fail, open_database, out
from assay.services.errors import AssayError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from assay.store.models import User


app = typer.Typer(help="Manage users.", no_args_is_help=True)


@app.command("add")
def user_add(
    email: str,
    role: str = typer.Option("annotator", help="admin, lead, reviewer or annotator."),
    password: str = typer.Option(
        None, help="Password for the web login (12+ characters, not the email)."
    ),
    token: str = typer.Option(None, help="Use this API token instead of a generated one."),
) -> None:
    """Add a user and print its API token (shown only now)."""
    from assay.services import users

    db = open_database(current_settings())
    try:
        with db.session() as s:
            user, tok = users.create_user(s, email, role, password=password, token=token)
            uid = user.id
    except AssayError as exc:
        fail(exc.detail)
    out.print(f"user {uid} {email} ({role})")
    out.print(f"token: {tok}")


@app.command("list")
def user_list(
    active: bool = typer.Option(
        None, "--active/--inactive", help="Only active or only deactivated users (default all)."
    ),
    role: str = typer.Option(None, help="Only this role."),
) -> None:
    """List users: id, email, name, role, active, last activity."""
    from assay.services import users

    db = open_database(current_settings())
    try:
        with db.session(write=False) as s:
            rows = users.list_users(s, None, is_active=active, role=role)
    except AssayError as exc:
        fail(exc.detail)
    table = Table(title=f"{len(rows)} users")
    table.add_column("id", justify="right")
    table.add_column("email", no_wrap=True)
    table.add_column("name")
    table.add_column("role")
    table.add_column("active")
    table.add_column("last activity", no_wrap=True)
    for u in rows:
        seen = u.last_activity.strftime("%Y-%m-%d %H:%M") if u.last_activity else "-"
        name = f"{u.first_name} {u.last_name}".strip() or "-"
        table.add_row(str(u.id), u.email, name, u.role, "yes" if u.is_active else "no", seen)
    out.print(table)


@app.command("set")
def user_set(
    email: str,
    role: str = typer.Option(None, help="admin, lead, reviewer or annotator."),
    password: str = typer.Option(
        None, help="A new password for the web login (12+ characters, not the email)."
    ),
    active: bool = typer.Option(
        None, "--active/--inactive", help="Reactivate, or deactivate (can no longer log in)."
    ),
    first_name: str = typer.Option(None, help="First name."),
    last_name: str = typer.Option(None, help="Last name."),
) -> None:
    """Change a user's role, password, name, or deactivate / reactivate them."""
    from assay.services import users

    changes = {
        "role": role,
        "password": password,
        "is_active": active,
        "first_name": first_name,
        "last_name": last_name,
    }
    if all(v is None for v in changes.values()):
        fail("nothing to change: give --role, --password, --active/--inactive or a name")
    db = open_database(current_settings())
    try:
        with db.session() as s:
            user = _user(s, email)
            user = users.update_user(s, None, user.id, **changes)
            line = f"user {user.id} {user.email} ({user.role}, "
            line += "active)" if user.is_active else "inactive)"
    except AssayError as exc:
        fail(exc.detail)
    out.print(line, highlight=False)


@app.command("token")
def user_token(email: str) -> None:
    """Make a new API token for a user and print it (the old one stops working)."""
    from assay.services import users

    db = open_database(current_settings())
    with db.session() as s:
        tok = users.reset_token(s, _user(s, email).id)
    out.print(f"token: {tok}", highlight=False)


def _user(session: Session, email: str) -> User:
    from assay.services import users

    user = users.user_by_email(session, email)
    if user is None:
        fail(f"no user with email {email}")
    return user
