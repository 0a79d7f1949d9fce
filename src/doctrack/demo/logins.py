"""Sign-ins for the served demo: one known password for every user of the scenario.

The served demo is for trying doctrack on one's own machine: every scenario user gets the
same, published password (:data:`DEMO_PASSWORD`), which is why ``doctrack demo --serve``
listens on 127.0.0.1 unless told otherwise, and warns when told otherwise.
"""

from __future__ import annotations

from doctrack.demo.scenario import Scenario, UserSpec
from doctrack.services.accounts import Accounts

#: The password of every demo user (published in the README: never use it for real data).
DEMO_PASSWORD = "tashkent2016"  # noqa: S105 (published on purpose)

#: The order in which the sign-ins are listed: the roles that do the most first.
_ROLE_ORDER = ("coordinator", "drafter", "admin", "secretary", "delegate")


def set_demo_passwords(accounts: Accounts, scenario: Scenario) -> int:
    """Give every scenario user :data:`DEMO_PASSWORD`; returns how many users got it."""
    for user in scenario.users:
        accounts.set_password(user.name, DEMO_PASSWORD)
    return len(scenario.users)


def _rank(user: UserSpec) -> int:
    ranks = [_ROLE_ORDER.index(r) for r in user.roles if r in _ROLE_ORDER]
    return min(ranks, default=len(_ROLE_ORDER))


def render_logins(scenario: Scenario, url: str) -> str:
    """Where to sign in, as whom, and with which password: one line per user."""
    users = sorted(scenario.users, key=lambda u: (_rank(u), u.name))
    width = max(len(u.name) for u in users)
    head = f"Sign in at {url} as any of these users; the password of all of them is "
    lines = [f"{head}{DEMO_PASSWORD!r}:"]
    for u in users:
        party = f", party {u.party}" if u.party else ""
        lines.append(f"  {u.name:<{width}}  {', '.join(u.roles)}{party} ({u.full_name})")
    return "\n".join(lines)
