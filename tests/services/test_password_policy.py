"""The password policy (issue #16 L4), one rule wherever a password is set: 12 to 1,024
characters, at least 5 different ones, neither the email nor its local part."""

from __future__ import annotations

import pytest

from assay.services import users
from assay.services.demo import ADMIN, ANNOTATORS, DEMO_PASSWORD, LEAD
from assay.services.errors import Invalid

EMAIL = "Ann.Otator@Example.com"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("eleven-char", "at least 12 characters"),
        ("x" * 1013 + "abcdefghijkl", "at most 1024 characters"),
        ("ann.otator@example.com", "not be your email address"),
        ("  ANN.OTATOR@EXAMPLE.COM ", "not be your email address"),
        ("ann.otator", "at least 12 characters"),  # its local part, and short anyway
        ("abababababababab", "at least 5 different characters"),
        ("123412341234", "at least 5 different characters"),
    ],
)
def test_refused_passwords_name_the_field_and_the_reason(password, reason):
    with pytest.raises(Invalid, match=reason) as refused:
        users.check_password(password, EMAIL)
    assert list(refused.value.validation_errors) == ["password"]
    with pytest.raises(Invalid) as named:
        users.check_password(password, EMAIL, "new_password")
    assert list(named.value.validation_errors) == ["new_password"]


def test_the_local_part_of_a_long_email_is_refused():
    with pytest.raises(Invalid, match="part before the @"):
        users.check_password("Field.Worker.North", "field.worker.north@lab.org")


@pytest.mark.parametrize(
    "password",
    ["twelve-chars", "x" * 1000 + "abcdefghijklmnopqrstuvwx", "annotator-password", "ann.otator-2"],
)
def test_accepted_passwords(password):
    users.check_password(password, EMAIL)


def test_every_place_that_sets_a_password_applies_the_policy(db, people):
    with pytest.raises(Invalid, match="password: must not be your email"), db.session() as s:
        users.create_user(s, "someone.long@example.com", "annotator", password="someone.long")
    with pytest.raises(Invalid, match="password: must have at least 12"), db.session() as s:
        users.update_user(s, None, people["lead"].id, password="short-pw")
    with (
        pytest.raises(Invalid, match="password: must not be your email"),
        db.session() as s,
    ):  # the new email
        users.update_user(
            s,
            None,
            people["lead"].id,
            email="pat.quinn.lead@example.com",
            password="Pat.Quinn.Lead",
        )
    with pytest.raises(Invalid, match="new_password: must not be your email"), db.session() as s:
        users.change_password(
            s,
            users.actor_of(users.get_user(s, people["reviewer"].id)),
            people["reviewer"].password,
            "REVIEWER@example.com",
        )


def test_the_demo_password_satisfies_the_policy():
    for email in (ADMIN, LEAD, *(e for e, _ in ANNOTATORS)):
        users.check_password(DEMO_PASSWORD, email)
