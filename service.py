"""The questions and commands that the command line and the public registry share: one function each.

``LedgerService`` sits above ``ledger`` (the event log, the write pipeline, single organizations)
and ``projections`` (the registry-wide views). The CLI and the web app parse their input, make one
call here, and render the answer; neither talks to storage. Verification lives here too, because
it checks both sides: the hash chain below, then the views against a scratch rebuild.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, TypeVar

from ledger.application import creation
from ledger.application.ledger import CertificationLedger
from ledger.application.system_time import KnownAt
from ledger.errors import Forbidden, IntegrityFailure, LedgerError, StorageError
from ledger.storage import chosen, describe
from projections.answers import Listing, Record

if TYPE_CHECKING:  # the write side, accounts and the chain walker: imported by the commands that use them
    from ledger.application.accounts import TokenChecker
    from ledger.application.recording import Outcome, Recorded
    from ledger.domain.accounts import Account
    from ledger.integrity import walker
    from ledger.integrity.heads import PublishedHead
    from projections import Views

T = TypeVar("T")
Progress = Callable[[int, int], None]  # (done, total)


class AccountDesk:
    """The accounts' part of ``LedgerService``: opening, listing and revoking accounts, checking a
    bearer token, and recording as an account. It works through the service's ``ledger()``,
    ``write()``, ``following_views()``, ``catch_up_quietly()`` and ``_record_lines()``, like its recording
    commands."""

    by: str | None
    _tokens: TokenChecker | None

    def open_account(self, name: str, role: str, orgs: Sequence[str] = ()) -> dict[str, Any]:
        """Open an account; the answer holds its token, shown this once and stored nowhere."""
        recorded, token = self.write(lambda ledger: ledger.open_account(name, role=role, orgs=orgs, by=self.by))
        self.catch_up_quietly(recorded.position)
        return {"name": name, "role": role, "orgs": list(dict.fromkeys(orgs)), "token": token.token,
                "position": recorded.position}

    def revoke_account(self, name: str) -> Recorded:
        result = self.following_views(self.ledger(must_exist=True)).revoke_account(name, by=self.by)
        self.catch_up_quietly(result.position)
        return result

    def accounts(self) -> list[dict[str, Any]]:
        return [account.describe() for account in self.ledger(must_exist=True).accounts()]

    def authenticate(self, token: str | None) -> Account:
        """The active account holding a bearer token (NotAuthenticated otherwise, one message for all)."""
        if self._tokens is None:
            self._tokens = self.ledger(must_exist=True).token_checker()
        return self._tokens.account(token)

    def record_as(self, account: Account, lines: Sequence[Any]) -> Outcome:
        """Record import lines for an account: all or nothing, each allowed by its role, under its name."""
        from ledger.domain.commands import COMMANDS, parse_line

        def forbidden(number: int, refusal: str) -> Forbidden:
            return Forbidden(f"line {number}: {refusal}" if len(lines) > 1 else refusal)

        commands = []
        for number, line in enumerate(lines, start=1):
            # What the role may not record is refused before the line is read closely: a reader's request is
            # 403 whatever it holds, and so is a body's register, well-formed or not.
            named = line.get("command") if isinstance(line, dict) else None
            known = isinstance(named, str) and named in COMMANDS
            refusal = account.role_refusal(named) if known or account.role == "reader" else None
            if refusal is not None:
                raise forbidden(number, refusal)
            command = parse_line(line, number if len(lines) > 1 else None)
            refusal = account.refusal(command.command, command.org)
            if refusal is not None:
                raise forbidden(number, refusal)
            commands.append((number if len(lines) > 1 else None, command))
        return self._record_lines(commands, account.name)


class LedgerService(AccountDesk):
    """One ledger, opened on first use and kept for the life of the command (or of the server)."""

    def __init__(self, db: str | None = None, by: str | None = None, *,
                 on_wait: Callable[[], None] | None = None):
        self.db = db
        self.by = by
        self.on_wait = on_wait
        self._ledger: CertificationLedger | None = None
        self._views: Views | None = None
        self._tokens: TokenChecker | None = None
        self._views_decided = False  # whether following_views has decided, for this ledger, once and for all

    def ledger(self, *, must_exist: bool = False) -> CertificationLedger:
        if self._ledger is None:
            self._ledger = CertificationLedger(self.db, must_exist=must_exist, tables_on_first_write=True)
        return self._ledger

    def write(self, write: Callable[[CertificationLedger], T], wrote: Callable[[T], bool] = lambda _: True, *,
              repeatable: bool = True) -> T:
        """Run ``write`` on the ledger; where none exists yet, it appears only if ``write`` commits
        something (``wrote(result)``): see ``ledger.application.creation``."""
        db = chosen(self.db)
        if self._ledger is not None or creation.exists(db, repeatable=repeatable):
            return write(self.following_views(self.ledger()))
        result, self._ledger = creation.first_write(db, write, wrote, repeatable=repeatable)
        return result

    def following_views(self, ledger: CertificationLedger) -> CertificationLedger:
        """Have ``ledger``'s writes keep the views in their own transaction (``projections.in_transaction``).

        The views are opened first, outside any write, and only in a ledger that has its tables: opening them
        makes theirs, which a refused first write must not leave behind. Views that this connection cannot
        open or write (a role without their grants) are left to the catch-up after each write, which reports
        its failure without failing the recording.
        """
        if self._views_decided or not ledger.storage.has_tables():
            return ledger
        from projections.in_transaction import ViewsFollower

        self._views_decided = True  # asked once per ledger: not again before every write
        try:
            store = self.views().store
            if store.may_write():
                ledger.writer.follower = ViewsFollower(store)
        except LedgerError:
            pass
        return ledger

    def views(self) -> Views:
        if self._views is None:
            from projections import Views  # a question about one organization never needs the views

            self._views = Views(self.ledger(must_exist=True).log)
        return self._views

    def close(self) -> None:
        self._views = None
        self._views_decided = False
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None

    # ------------------------------------------------------------------ recording

    def record(self, command: dict[str, Any], *, again: bool = False) -> Recorded:
        """Record one command, then bring the views up to date (a failure there only delays them)."""
        result = self.write(lambda ledger: ledger.record(command, by=self.by, again=again, on_wait=self.on_wait))
        self.catch_up_quietly(result.position)
        return result

    def record_lines(self, lines: Iterable[tuple[int | None, Any]], *, by: str | None = None) -> Outcome:
        """Record a list of commands as the lines of one file: all or nothing, those already recorded skipped."""
        return self._record_lines(list(lines), by or self.by)

    def _record_lines(self, lines: list[tuple[int | None, Any]], by: str | None) -> Outcome:
        from ledger.application.recording import Options

        outcome = self.write(lambda ledger: ledger.record_lines(lines, by=by, options=Options(lines=True,
                                                                                           on_wait=self.on_wait)),
                             lambda outcome: outcome.recorded > 0)
        if outcome.recorded:
            self.catch_up_quietly(outcome.last_position)
        return outcome

    def import_file(self, path: str, *, fmt: str | None = None, check: bool = False,
                    progress: Callable[[int], None] | None = None) -> Any:
        """Import a file (``-``: standard input); ``check``: decide every line, list the bad ones, write nothing.

        Where no ledger exists yet, lines are checked against an empty ledger.
        """
        from ledger.transfer import importing

        summary = self.write(lambda ledger: importing.import_file(ledger, path, fmt=fmt, by=self.by, progress=progress,
                                                                  check=check, on_wait=self.on_wait),
                             lambda summary: summary.recorded > 0 and not check, repeatable=path != "-")
        if summary.recorded and not check:
            self.catch_up_quietly(summary.last_position)
        return summary

    def catch_up_quietly(self, recorded: int | None = None) -> str | None:
        """Catch the views up after recording, unless the recording's own transaction kept them (``recorded``: its
        last position); the events are committed, so a failure is only reported."""
        writer = self._ledger.writer if self._ledger is not None else None
        if recorded is not None and getattr(writer and writer.follower, "followed_to", 0) >= recorded:
            return None
        try:
            self.views().catch_up()
        except LedgerError as error:
            return f"{error} (the next query catches up)"
        return None

    def recorded_entry(self, result: Recorded) -> dict[str, Any]:
        """A recorded event as ``history`` shows it."""
        from ledger.application.reading import history_entry  # (the events are loaded: one was just recorded)

        stamp = self.ledger().storage.recorded_at([result.position]).get(result.position)
        return history_entry(result.position, result.event, stamp, None)

    def recorded_entries(self, results: Sequence[Recorded]) -> list[dict[str, Any]]:
        """Recorded events as ``history`` shows them (SPEC section 11: "the recorded history entries"): an event
        retracted by a later one of the same submission is shown retracted, as ``history`` shows it."""
        from ledger.application.reading import history_entry
        from ledger.domain.events import EntryRetracted

        stamps = self.ledger().storage.recorded_at([result.position for result in results])
        retracted_by = {(result.org, result.event.target): result.version for result in results
                        if isinstance(result.event, EntryRetracted)}
        return [history_entry(result.position, result.event, stamps.get(result.position),
                              retracted_by.get((result.org, result.version))) for result in results]

    # ------------------------------------------------------------------ questions

    def status(self, org: str, as_of: Any = None, known_at: Any = None) -> Record:
        """From the views when they hold the moment asked (no event decoded), else from ``org``'s own events."""
        try:
            answer = self.views().status(org, as_of, known_at)
        except StorageError:
            answer = None  # views that cannot be opened here (a read-only ledger without them)
        if answer is not None:
            return answer
        ledger, seen = self._pinned(known_at)
        return Record(ledger.state_at(org, as_of, seen), seen.position or 0)

    def history(self, org: str, known_at: Any = None) -> Listing:
        ledger, seen = self._pinned(known_at)
        return Listing(ledger.history(org, seen), seen.position or 0)

    def _pinned(self, known_at: Any) -> tuple[CertificationLedger, KnownAt]:
        """``known_at`` resolved to a position: "now" is the last position, and still echoes the instant asked."""
        ledger = self.ledger(must_exist=True)
        seen = ledger.known_at(known_at)
        if seen.position is None:
            seen = replace(seen, position=ledger.storage.max_position())
        return ledger, seen

    def registry(self, as_of: Any = None, statuses: Sequence[str] = (), country: str | None = None,
                 standard: str | None = None, known_at: Any = None, *, region: str | None = None,
                 q: str | None = None, expiring_within: int | None = None, limit: int | None = None,
                 offset: int = 0) -> Listing:
        """The registry; with ``limit``/``offset`` one page of it (its ``total`` counts the whole answer)."""
        return self.views().registry(as_of, statuses, country, standard, known_at, region=region, q=q,
                                     expiring_within=expiring_within, limit=limit, offset=offset)

    def findings(self, org: str, only_open: bool = False, as_of: Any = None, known_at: Any = None) -> Listing:
        ledger = self.ledger(must_exist=True)
        seen = ledger.known_at(known_at)
        position = seen.position if seen.position is not None else ledger.storage.max_position()
        # Pinned to the position just read, and still worded, in a refusal, as the user gave it.
        pinned = replace(ledger.known_at(position), asked=seen.asked if seen.position is not None else None)
        return Listing(ledger.findings(org, as_of, pinned, only_open), position)

    def certificate(self, number: str, as_of: Any = None, known_at: Any = None) -> Record:
        """SPEC section 9: was this certificate valid on ``as_of`` (as known at ``known_at``)?"""
        return self.views().certificate(number, as_of, known_at)

    def verify_certificates(self, entries: Sequence[dict[str, Any]], as_of: Any = None,
                            known_at: Any = None) -> Listing:
        """One certificate answer per ``{"certificate", "date"?}``, in order; unknown numbers give
        ``{"certificate": NO, "found": false}``."""
        return self.views().verify_certificates(entries, as_of, known_at)

    def streaks(self, as_of: Any = None, known_at: Any = None) -> Listing:
        return self.views().streaks(as_of, known_at)

    def report(self, year: int | None = None, start: Any = None, end: Any = None, known_at: Any = None) -> Record:
        views = self.views()
        return views.year_report(year, known_at) if year is not None else views.report(start, end, known_at)

    def changes(self, since: int = 0, limit: int = 100, known_at: Any = None) -> Listing:
        """The event feed: organizations' events from the views, accounts' events (few) read beside them."""
        feed = self.views().changes(since, limit, known_at)
        accounts = self.ledger().reader.account_feed(since, limit, feed.position)
        if not accounts:
            return feed
        merged = sorted([*feed, *accounts], key=lambda entry: entry["position"])[:limit]
        return Listing(merged, feed.position)

    def ledger_identity(self) -> bytes | None:
        """What names this ledger for good, wherever it is served from: its chain's first entry hash (None while
        it holds no event)."""
        return self.ledger().storage.first_entry_hash()

    def rebuild(self) -> Any:
        return self.views().rebuild()

    # ------------------------------------------------------------------ integrity

    def verify(self, published: PublishedHead | None = None, *, chain_progress: Progress | None = None,
               views_progress: Progress | None = None) -> Verification:
        """Check the chain (and that it extends ``published``), then the views against a scratch rebuild."""
        return verify(self.ledger(must_exist=True), published, chain_progress=chain_progress,
                      views_progress=views_progress)

    def head(self) -> walker.Head:
        """The chain's last entry, once the chain up to it has verified."""
        from ledger.integrity import walker

        ledger = self.ledger(must_exist=True)
        return walker.current_head(ledger.storage, describe(ledger.db), reopening(ledger))


@dataclass
class Verification:
    """The chain report, the projection comparison and the published head (if one was given)."""

    chain: walker.ChainReport
    problems: list[str]
    projections: str
    published: PublishedHead | None = None
    seconds: float = 0.0
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        head = self.chain.head
        rate = (f" (chain: {self.chain.events_checked / self.chain.seconds:,.0f} events/s)"
                if self.chain.seconds >= 0.1 else "")
        extends = f"; {self.published.describe()}" if self.published is not None else ""
        return (f"OK: {self.chain.events_checked} events checked, head seq {head.seq} hash {head.entry_hash.hex()}, "
                f"{self.projections}{extends}; {self.seconds:.2f} s{rate}")

    def failure(self) -> str:
        first = self.problems[0]
        more = f" ({self.problem_count} problems in all; see above)" if self.problem_count > 1 else ""
        return f"verification failed {'at' if first.startswith('seq ') else 'in'} {first}{more}"


def verify(ledger: CertificationLedger, published: PublishedHead | None = None, *,
           chain_progress: Progress | None = None, views_progress: Progress | None = None) -> Verification:
    """The chain first (the rest is compared only when it is intact), then the import keys and certificate
    claims against the events, then the views.

    ``chain_progress(seq, last)`` and ``views_progress(organizations, total)`` follow the two steps.
    """
    from ledger.integrity import walker

    started = time.perf_counter()
    chain = walker.verify_chain(ledger.storage, head=published.head if published is not None else None,
                                database=describe(ledger.db), progress=chain_progress, reopen=reopening(ledger))
    problems = walker.describe_problems(ledger.storage, chain.problems)
    count = chain.problem_count
    if count > len(chain.problems):
        problems.append(f"... and {count - len(chain.problems)} more chain problems")
    if not chain.intact:
        status = "projections not compared (the chain is broken)"
    else:
        from ledger.integrity.indexes import verify_indexes

        indexes = verify_indexes(ledger.storage)
        problems += indexes.kept
        if indexes.count > len(indexes.kept):
            problems.append(f"... and {indexes.count - len(indexes.kept)} more key and claim problems")
        count += indexes.count
        differences = compare_projections(ledger, views_progress)
        if differences is None:
            status = "no projections to compare"
        elif differences:
            status = "projections differ"
            problems += [f"projections: {difference}" for difference in differences]
            count += len(differences)
        else:
            status = "projections match"
        status = f"keys and claims {'differ' if indexes.count else 'match'}, {status}"
    return Verification(chain, problems, status, published, time.perf_counter() - started, count)


def reopening(ledger: CertificationLedger) -> Callable[[], Any]:
    """Opens ``ledger``'s database anew (for a forked process), and keeps what it opened open while it is kept."""
    opened: list[CertificationLedger] = []

    def reopen() -> Any:
        opened.append(CertificationLedger(ledger.db, must_exist=True))
        return opened[-1].storage

    return reopen


def compare_projections(ledger: CertificationLedger, progress: Progress | None = None) -> list[str] | None:
    """Differences between the live views and a scratch rebuild; None when there are no views to compare."""
    from projections import compare_with_rebuild

    try:
        return compare_with_rebuild(ledger.log, progress)
    except IntegrityFailure as error:
        return [str(error)]
    except StorageError as error:
        if "readonly" in str(error) or "permission denied" in str(error):
            return None  # a read-only ledger whose views were never built: there is nothing to compare
        raise
