"""The pydantic mapper: each event is stored as its own model's JSON and rebuilt from it.

Older stored versions are upcast with the library's ``class_version`` / ``upcast_vN_vM``
convention before validation. Event topics are a stored API: the first release's topics stay
resolvable through aliases registered next to the event classes.

Reading an event does not need validating it again: it was validated when it was recorded, and
the hash chain proves its bytes unchanged since (``verify``). Validating is still the fastest way
to rebuild many events of one class, once pydantic has built that class's validator; but building
it costs a short command (``status ORG``) more than the command's own work. So the first events
of each class a process reads are rebuilt field by field (``Rebuilder``), and pydantic validates
from then on; anything the rebuilder cannot take (a damaged row) is validated at once, which
says exactly what is wrong.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from functools import cache
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Callable, Union, get_args, get_origin
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent, Transcoder, Transcoding
from eventsourcing.utils import get_topic, resolve_topic

if TYPE_CHECKING:
    from pydantic import BaseModel  # a model class is rebuilt: see converter()


# Events of one class a process rebuilds without pydantic before building the class's validator pays off.
REBUILT_FIRST = 200


class PydanticMapper(Mapper):
    """Stores each event as its pydantic model's JSON and rebuilds it from that JSON (see the module's notes)."""

    read_counts: Counter[type] | None = None

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
        cls = event_class(stored_event.topic)
        class_version = getattr(cls, "class_version", 1)
        if class_version == 1:
            counts = self.read_counts if self.read_counts is not None else self._start_counting()
            counts[cls] += 1  # a race between threads only moves the switch by an event or two
            if counts[cls] <= REBUILT_FIRST:
                try:
                    return rebuilder(cls).rebuild(json.loads(stored_event.state))
                except (ValueError, TypeError, KeyError):
                    pass
            return cls.model_validate_json(stored_event.state)
        state = json.loads(stored_event.state)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        return cls.model_validate(state)


    def _start_counting(self) -> Counter[type]:
        self.read_counts = Counter()
        return self.read_counts


@cache
def event_class(topic: str) -> type:
    """The class stored under ``topic``. The event classes are imported with the first event read, not
    before (a question answered from the views never builds their models), and before any topic is
    resolved: they register the first release's topics as aliases. (The aggregate's own alias is
    registered by ``ledger.domain.organization``, which every writer imports before it folds events
    into an aggregate: reading events never needs the aggregate's class.)"""
    import ledger.domain.events  # noqa: F401

    return resolve_topic(topic)


class Rebuilder:
    """Rebuilds one model class from JSON that it wrote itself: each field converted back, nothing validated."""

    def __init__(self, cls: type[BaseModel]):
        self.cls = cls
        self.fields = {name: converter(field.annotation) for name, field in cls.model_fields.items()}
        self.required = frozenset(name for name, field in cls.model_fields.items() if field.is_required())

    def rebuild(self, state: dict[str, Any]) -> Any:
        if not isinstance(state, dict) or not self.required <= state.keys() or not state.keys() <= self.fields.keys():
            raise KeyError("the stored fields are not the model's")
        values = {}
        for name, value in state.items():
            convert = self.fields[name]
            values[name] = convert(value) if convert is not None and value is not None else value
        return self.cls.model_construct(**values)


@cache
def rebuilder(cls: type[BaseModel]) -> Rebuilder:
    return Rebuilder(cls)


def converter(annotation: Any) -> Callable[[Any], Any] | None:
    """How to turn a stored JSON value back into a value of this type (None: it is stored as it is)."""
    from pydantic import BaseModel  # (loaded with the event classes by now)

    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return converter(members[0]) if len(members) == 1 else None
    if get_origin(annotation) is Annotated:
        return converter(get_args(annotation)[0])
    if annotation is date:
        return stored_date
    if annotation is datetime:
        return stored_instant
    if annotation is UUID:
        return UUID
    if get_origin(annotation) is tuple:
        item = converter(get_args(annotation)[0]) if get_args(annotation) else None
        return (lambda values: tuple(item(v) for v in values)) if item is not None else tuple
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return lambda value: rebuilder(annotation).rebuild(value)
    return None


def stored_date(value: str) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError(f"not a stored date: {value!r}")
    return date.fromisoformat(value)


def stored_instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    if moment.tzinfo is None:
        raise ValueError(f"a stored instant without an offset: {value!r}")
    return moment


class PlainJSONTranscoder(Transcoder):
    """Unused by the pydantic mapper, present because the library's factory expects one."""

    def encode(self, obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data)

    def register(self, transcoding: Transcoding) -> None:  # pragma: no cover - pydantic does the typing
        raise NotImplementedError("events are pydantic models; no transcodings are needed")
