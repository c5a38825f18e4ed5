"""Views that hold nothing yet, behind a long log, are filled by one replay: the same rows as catching up."""

from __future__ import annotations

import json
from pathlib import Path

from ledger.application import CertificationLedger
from projections import Progress, Views

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NEVER = 10**9


def record_examples(ledger: CertificationLedger) -> None:
    for line in (EXAMPLES / "fairmined-history.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            ledger.record(json.loads(line))


def test_empty_views_are_filled_by_a_replay_with_exactly_the_rows_of_an_incremental_catch_up(
        ledger: CertificationLedger) -> None:
    record_examples(ledger)
    incremental = Views(ledger.log, batch_size=3, replay_from_empty=NEVER)
    incremental.catch_up()
    expected = incremental.store.snapshot()

    incremental.store.replace_all([], 0)  # the views hold nothing again
    batches: list[Progress] = []
    replayed = Views(ledger.log, replay_from_empty=1).catch_up(batches.append)

    assert replayed == ledger.recorder.max_position()
    assert batches == [Progress(replayed, replayed)]
    assert Views(ledger.log).store.snapshot() == expected


def test_views_that_applied_something_keep_catching_up_incrementally(ledger: CertificationLedger) -> None:
    record_examples(ledger)
    Views(ledger.log, batch_size=3, replay_from_empty=NEVER).catch_up()
    ledger.register("new-coop", name="New Coop", country="BO", date="2020-01-10")
    batches: list[Progress] = []
    assert Views(ledger.log, batch_size=500, replay_from_empty=1).catch_up(batches.append) == 1
    assert batches == [Progress(1, ledger.recorder.max_position())]
