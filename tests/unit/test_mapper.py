"""The pydantic mapper: stored JSON is the model's JSON; old versions are upcast; renamed classes keep their topic."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, ClassVar
from uuid import uuid4

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic, register_topic

from ledger.domain.events import AuditConducted, OrganizationEvent
from ledger.storage.mapper import PlainJSONTranscoder, PydanticMapper

MAPPER = PydanticMapper(transcoder=PlainJSONTranscoder())


def an_audit() -> AuditConducted:
    return AuditConducted(originator_id=uuid4(), originator_version=2, timestamp=datetime.now(timezone.utc),
                          date=date(2016, 5, 20), recorded_by="tester", key="k", body="IMO Swiss AG",
                          kind="initial")


class SurveyConducted(OrganizationEvent):
    """A test event at its second version: v1 had no ``auditors``."""

    class_version: ClassVar[int] = 2
    body: str
    auditors: int

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["auditors"] = 1


def test_the_stored_state_is_the_models_own_json() -> None:
    event = an_audit()

    stored = MAPPER.to_stored_event(event)

    assert stored.state == event.model_dump_json().encode()
    assert MAPPER.to_domain_event(stored) == event


def test_a_version_1_event_is_upcast_when_read_by_a_version_2_class() -> None:
    v1_state = {"originator_id": str(uuid4()), "originator_version": 3, "timestamp": "2019-01-01T00:00:00Z",
                "date": "2018-12-30", "recorded_by": "tester", "key": "k", "body": "IMO Swiss AG"}
    stored = StoredEvent(originator_id=uuid4(), originator_version=3, topic=get_topic(SurveyConducted),
                         state=json.dumps(v1_state).encode())

    event = MAPPER.to_domain_event(stored)

    assert isinstance(event, SurveyConducted) and event.auditors == 1


def test_a_version_2_event_is_stored_with_its_class_version_and_read_back_unchanged() -> None:
    event = SurveyConducted(originator_id=uuid4(), originator_version=2, timestamp=datetime.now(timezone.utc),
                            date=date(2019, 1, 1), recorded_by="tester", key="k", body="NaturaCert", auditors=3)

    stored = MAPPER.to_stored_event(event)

    assert json.loads(stored.state)["class_version"] == 2
    assert MAPPER.to_domain_event(stored) == event


def test_a_renamed_event_class_still_reads_its_old_topic_through_a_registered_alias() -> None:
    register_topic("ledger.old_events:SurveyDone", SurveyConducted)
    event = SurveyConducted(originator_id=uuid4(), originator_version=2, timestamp=datetime.now(timezone.utc),
                            date=date(2019, 1, 1), recorded_by="tester", key="k", body="NaturaCert", auditors=2)
    stored = MAPPER.to_stored_event(event)

    renamed = StoredEvent(originator_id=stored.originator_id, originator_version=2,
                          topic="ledger.old_events:SurveyDone", state=stored.state)

    assert MAPPER.to_domain_event(renamed) == event
