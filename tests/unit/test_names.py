"""The stored names in ``ledger.domain.names`` are written out as text, apart from the classes they name
(so that reading needs no model): here they are held against the classes."""

from __future__ import annotations

from eventsourcing.utils import get_topic, resolve_topic

from ledger.domain import accounts, events, names
from ledger.domain.commands import parse_command
from ledger.domain.organization import Organization


def test_the_registration_topics_name_the_registration_event_today_and_as_the_first_release_stored_it() -> None:
    today, first_release = names.REGISTRATION_TOPICS
    assert today == get_topic(events.OrganizationRegistered)
    assert resolve_topic(first_release) is events.OrganizationRegistered


def test_every_event_of_the_first_release_resolves_under_its_old_topic() -> None:
    for event_type in events.EVENT_TYPES:
        assert resolve_topic(f"{names.FIRST_RELEASE_MODULE}:{event_type.__name__}") is event_type


def test_the_account_topics_name_the_account_events() -> None:
    assert names.ACCOUNT_TOPICS == {get_topic(accounts.AccountOpened), get_topic(accounts.AccountRevoked)}
    assert names.OPENING_TOPICS == (get_topic(accounts.AccountOpened),)


def test_an_organization_registered_gets_the_id_its_name_gives() -> None:
    command = parse_command({"command": "register", "org": "cecomip", "name": "CECOMIP", "country": "PE",
                             "date": "2016-01-10"})
    organization = Organization.register(command, "tester", key="")
    assert organization.id == names.organization_id("cecomip") != names.account_id("cecomip")
