"""A follower keeps the views current continuously, so queries find nothing left to catch up.

PostgreSQL wakes it with the library's LISTEN/NOTIFY subscription; SQLite has no
subscriptions, so it polls. Either way the work is the same exactly-once catch-up that
queries run themselves, resuming from the tracked position.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from projections.runner import Progress
from projections.views import Views


@dataclass(frozen=True)
class FollowSummary:
    applied: int
    position: int


class Follower:
    def __init__(self, views: Views, *, poll_seconds: float = 1.0,
                 on_batch: Callable[[Progress], None] | None = None):
        self.views = views
        self.poll_seconds = poll_seconds
        self.on_batch = on_batch
        self.stopping = threading.Event()
        self._subscription = None

    def stop(self) -> None:
        """Safe from a signal handler: the loop finishes its current batch and returns."""
        self.stopping.set()
        subscription = self._subscription
        if subscription is not None:
            subscription.stop()

    def run(self) -> FollowSummary:
        applied = self.views.catch_up(self.on_batch)
        if self.views.log.can_subscribe:
            applied += self._listen()
        else:
            applied += self._poll()
        return FollowSummary(applied, self.views.tracked_position())

    def _poll(self) -> int:
        applied = 0
        while not self.stopping.is_set():
            count = self.views.catch_up(self.on_batch)
            applied += count
            if count == 0:
                self.stopping.wait(self.poll_seconds)
        return applied

    def _listen(self) -> int:
        applied = 0
        log = self.views.log
        while not self.stopping.is_set():
            with log.subscribe(gt=self.views.tracked_position()) as subscription:
                self._subscription = subscription
                if self.stopping.is_set():
                    subscription.stop()
                for notification in subscription:
                    if notification.id > self.views.tracked_position():
                        applied += self.views.catch_up(self.on_batch)
                    if self.stopping.is_set():
                        break
            self._subscription = None
        return applied
