"""The pydantic mapper: each event is stored as its own model's JSON and rebuilt with full validation.

Older stored versions are upcast with the library's ``class_version`` / ``upcast_vN_vM``
convention before validation. Event topics are a stored API: the first release's topics stay
resolvable through aliases registered next to the event classes.
"""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent, Transcoder, Transcoding
from eventsourcing.utils import get_topic, resolve_topic

# Imported for their topic aliases: a stored topic of the first release must resolve before any event is read.
import ledger.domain.events  # noqa: F401
import ledger.domain.organization  # noqa: F401


class PydanticMapper(Mapper):
    """Stores each event as its pydantic model's JSON; rebuilds it with full validation.

    Older stored versions are upcast with the library's ``class_version`` /
    ``upcast_vN_vM`` convention before validation.
    """

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        cls = type(domain_event)
        class_version = getattr(cls, "class_version", 1)
        if class_version > 1:
            state = domain_event.model_dump(mode="json")
            state["class_version"] = class_version
            payload = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
        else:
            payload = domain_event.model_dump_json().encode()
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(cls),
            state=payload,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = resolve_topic(stored_event.topic)
        class_version = getattr(cls, "class_version", 1)
        if class_version == 1:
            return cls.model_validate_json(stored_event.state)
        state = json.loads(stored_event.state)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        return cls.model_validate(state)


class PlainJSONTranscoder(Transcoder):
    """Unused by the pydantic mapper, present because the library's factory expects one."""

    def encode(self, obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data)

    def register(self, transcoding: Transcoding) -> None:  # pragma: no cover - pydantic does the typing
        raise NotImplementedError("events are pydantic models; no transcodings are needed")
