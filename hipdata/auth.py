"""Accounts, roles and sign-in: password hashing (argon2id), lockout, and who the acting user is.

Who may see which patient is enforced in the store: every store call takes the acting user (an Actor)
and filters by it. This module only decides who someone is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

ROLES = ("patient", "therapist", "admin")
MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
MIN_PASSWORD_LENGTH = 8
SIGN_IN_FAILED = "Wrong username or password, or the account is locked or disabled. Try again later."


@cache
def _hasher():
    """argon2id with the library's current recommended parameters, loaded on first use (imports cost 0.1 s)."""
    from argon2 import PasswordHasher

    return PasswordHasher()


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf the store reads or writes."""

    username: str
    role: str  # patient, therapist, admin; "system" is the local command line, which has full access
    patient_id: str | None = None

    @property
    def sees_everything(self) -> bool:
        return self.role in ("admin", "system")


SYSTEM = Actor("system", "system")


class AuthError(ValueError):
    pass


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher().hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


def password_matches(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher().hash("not-a-real-account-password")


def sign_in(store, username: str, password: str, now: datetime | None = None) -> str | None:
    """Return a new session token, or None.

    The attempt is counted before its password is checked, so attempts made at once cannot exceed the limit.
    Refused attempts (unknown name, disabled, locked) cost the same hash check: timing reveals nothing.
    """
    now = now or datetime.now()
    password_hash = store.begin_sign_in(username, now, MAX_FAILED_ATTEMPTS, now + LOCKOUT)
    if password_hash is None:
        password_matches(_dummy_hash(), password)
        return None
    if not password_matches(password_hash, password):
        store.fail_sign_in(username, MAX_FAILED_ATTEMPTS, now + LOCKOUT)
        return None
    return store.finish_sign_in(username, now)


def current_actor(store, token: str | None, now: datetime | None = None) -> Actor | None:
    """The signed-in user behind a session token, or None when absent, expired by idleness, or disabled."""
    if not token:
        return None
    return store.session_actor(token, now or datetime.now(), IDLE_TIMEOUT)
