"""Failed logins, counted per client address and per account, for the API and the admin alike.

After LOGIN_MAX_FAILURES failures within LOGIN_WINDOW_S, that address (or that account) is locked
for LOGIN_LOCKOUT_S, doubled for each lockout it already had that day: while locked, even the
right password is refused. A success clears the account's count (not the address's). Counts live
in the cache (Redis), so every server process sees the same ones. Every lockout is logged.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
DAY_S = 24 * 3600


@dataclass(frozen=True)
class Lockout:
    kind: str  # "address" or "account"
    retry_after_s: int


def _account(username: str) -> str:
    # Hashed: any text may be typed as a username, and the cache keys stay short and plain.
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _address(address: str) -> str:
    """IPv6 clients are counted per /64: one customer holds a whole /64 and could rotate within it."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


def _keys(address: str, username: str) -> list[tuple[str, str]]:
    keys = [("address", _address(address))] if address else []
    if username:
        keys.append(("account", _account(username)))
    return keys


def login_lockout(*, address: str, username: str) -> Lockout | None:
    """The lockout in force for this address or account, if any."""
    for kind, who in _keys(address, username):
        until = cache.get(f"login-locked:{kind}:{who}")
        if until is not None and until > time.time():
            return Lockout(kind, max(1, round(until - time.time())))
    return None


def login_failed(*, address: str, username: str) -> None:
    for kind, who in _keys(address, username):
        failures_key = f"login-failures:{kind}:{who}"
        cache.add(failures_key, 0, settings.LOGIN_WINDOW_S)
        if cache.incr(failures_key) >= settings.LOGIN_MAX_FAILURES:
            _lock(kind, who)
            cache.delete(failures_key)


def _lock(kind: str, who: str) -> None:
    lockouts_key = f"login-lockouts:{kind}:{who}"
    cache.add(lockouts_key, 0, DAY_S)
    earlier = cache.incr(lockouts_key) - 1
    seconds = settings.LOGIN_LOCKOUT_S * 2**earlier
    cache.set(f"login-locked:{kind}:{who}", time.time() + seconds, seconds)
    # The account is named by its kind only: the log must not become a list of usernames under attack.
    extra = {"kind": kind, "seconds": seconds, "lockouts_today": earlier + 1}
    logger.warning("auth.login_locked", extra=extra)


def login_succeeded(*, username: str) -> None:
    cache.delete(f"login-failures:account:{_account(username)}")
