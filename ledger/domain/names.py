"""The names the ledger stores: aggregate ids and the topics of the events that open an aggregate.

Kept apart from the classes they name, so that a command which only reads (``status ORG``) finds
an organization's rows, and tells accounts' events from organizations', without building the
models of every command and event. ``tests/unit/test_names.py`` holds them against the classes.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

ORG_NAMESPACE = uuid5(NAMESPACE_URL, "certledger:organization")
ACCOUNT_NAMESPACE = uuid5(NAMESPACE_URL, "certledger:account")

EVENTS_MODULE = "ledger.domain.events"
# The first release stored the organization's events under "ledger.events:<name>"; ledgers written then keep
# those topics (they are hashed into the chain), and ``ledger.domain.events`` registers them as aliases.
FIRST_RELEASE_MODULE = "ledger.events"
# The topics an organization's first event is stored under, today's and the first release's.
REGISTRATION_TOPICS: tuple[str, ...] = (f"{EVENTS_MODULE}:OrganizationRegistered",
                                        f"{FIRST_RELEASE_MODULE}:OrganizationRegistered")

ACCOUNTS_MODULE = "ledger.domain.accounts"
ACCOUNT_TOPICS: frozenset[str] = frozenset({f"{ACCOUNTS_MODULE}:AccountOpened", f"{ACCOUNTS_MODULE}:AccountRevoked"})
OPENING_TOPICS: tuple[str, ...] = (f"{ACCOUNTS_MODULE}:AccountOpened",)


def organization_id(org: str) -> UUID:
    """Deterministic aggregate id: two writers registering one slug collide on version 1."""
    return uuid5(ORG_NAMESPACE, org)


def account_id(name: str) -> UUID:
    """Deterministic aggregate id: two accounts with one name collide on version 1."""
    return uuid5(ACCOUNT_NAMESPACE, name)
