"""certledger command line: parse options, make one call into the ledger, render the answer."""

from __future__ import annotations

import io
import os
import sqlite3
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import click
from eventsourcing.persistence import PersistenceError

import rendering
from ledger.transfer import line_files
from ledger.application import CertificationLedger
from ledger.errors import LedgerError
from ledger.storage import describe, failure_message
from service import LedgerService
from ledger.domain.values import AUDIT_KINDS, DEPOSITS, LEGAL_FORMS, REASON_CATEGORIES, STANDARDS, STATUSES, parse_date

class LedgerGroup(click.Group):
    """Maps every ledger refusal to ``Error: ...`` and exit 1, and never shows a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LedgerError as error:
            raise click.ClickException(one_line(str(error))) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Abort() from None
        except (PersistenceError, sqlite3.Error) as error:
            db = getattr(ctx.obj, "db", None) or "the database"
            raise click.ClickException(one_line(failure_message(db, error))) from None
        except Exception as error:  # noqa: BLE001 - the promise is: no traceback, ever
            raise click.ClickException(one_line(f"unexpected failure ({type(error).__name__}): {error}")) from None


def one_line(message: str) -> str:
    """Messages quote user input (paths, values): keep them on the one ``Error:`` line scripts read."""
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape", "backslashreplace").decode()
                   for ch in message)


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="CERTLEDGER_DB", default="certledger.db", show_default=True,
              help="SQLite file path, or a postgresql:// URL (env CERTLEDGER_DB).")
@click.option("--by", "by", default=None, help="Who records (default: $CERTLEDGER_USER, else the login name).")
@click.version_option(None, "--version", package_name="certledger", prog_name="certledger")
@click.pass_context
def cli(ctx: click.Context, db: str, by: str | None) -> None:
    """An event-sourced, bitemporal ledger of responsible-mining certifications.

    Example:

        certledger register cecomip --name CECOMIP --country PE --date 2016-01-10
    """
    ctx.obj = LedgerService(db, by, on_wait=say_waiting)
    ctx.call_on_close(ctx.obj.close)


def session() -> LedgerService:
    return click.get_current_context().find_object(LedgerService)


def say_waiting() -> None:
    click.echo("waiting for another writer...", err=True)


# ---------------------------------------------------------------- shared option stacks

def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)


def csv_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--csv", "as_csv", is_flag=True, help="Print CSV (lists only).")(f)


def as_of_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--as-of", "as_of", metavar="DATE",
                        help="Valid time: status at the end of this day (default: today, UTC).")(f)


def known_at_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--known-at", "known_at", metavar="T",
                        help="System time: a ledger position, or an ISO-8601 date-time (default: now).")(f)


def date_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--date", "date", required=True, metavar="DATE", help="Effective date (YYYY-MM-DD).")(f)


def record(command: dict[str, Any], as_json: bool) -> None:
    s = session()
    result = s.ledger().record({k: v for k, v in command.items() if v not in (None, ())}, by=s.by,
                               on_wait=s.on_wait)
    if as_json:
        click.echo(rendering.to_json(s.recorded_entry(result)))
    else:
        click.echo(f"Recorded {result.type} for {result.org} at position {result.position} "
                   f"(version {result.version}, {result.event.date.isoformat()})")
    keep_views_up(s)


def keep_views_up(s: LedgerService) -> None:
    """Catch the projections up after recording; the event is already committed, so only warn on failure."""
    problem = s.catch_up_quietly()
    if problem:
        click.echo(f"Warning: {problem}", err=True)


# ---------------------------------------------------------------- recording commands

@cli.command()
@click.argument("org")
@click.option("--name", required=True, help="Organization name.")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 code, e.g. PE.")
@click.option("--region", help="Region or province.")
@click.option("--legal-form", type=click.Choice(LEGAL_FORMS), default="other", show_default=True)
@click.option("--deposit", type=click.Choice(DEPOSITS))
@date_option
@json_option
def register(org: str, name: str, country: str, region: str | None, legal_form: str, deposit: str | None,
             date: str, as_json: bool) -> None:
    """Register an organization in the ledger.

    Example:

        certledger register cecomip --name "CECOMIP" --country PE --region Puno --legal-form cooperative --deposit alluvial --date 2016-01-10
    """
    record(dict(command="register", org=org, name=name, country=country, region=region, legal_form=legal_form,
                deposit=deposit, date=date), as_json)


@cli.command()
@click.argument("org")
@date_option
@click.option("--body", required=True, help="The certification body (auditing firm).")
@click.option("--kind", type=click.Choice(AUDIT_KINDS), required=True)
@click.option("--reference", help="The audit's reference.")
@click.option("--finding", "findings", multiple=True, metavar="SEVERITY:CATEGORY:TEXT",
              help="A finding (repeatable); severity is major, minor or observation.")
@json_option
def audit(org: str, date: str, body: str, kind: str, reference: str | None, findings: tuple[str, ...],
          as_json: bool) -> None:
    """Record an audit (it changes no status by itself).

    Example:

        certledger audit cecomip --date 2016-05-20 --body "IMO Swiss AG" --kind initial --finding "minor:health-safety:first aid kits incomplete"
    """
    record(dict(command="audit", org=org, date=date, body=body, kind=kind, reference=reference,
                finding=list(findings) or None), as_json)


@cli.command()
@click.argument("org")
@date_option
@click.option("--standard", type=click.Choice(STANDARDS), required=True)
@click.option("--certificate", help="Certificate number (unique in the ledger).")
@click.option("--valid-until", metavar="DATE", help="End date (default: the day before the first anniversary).")
@click.option("--audit", "audit_ref", metavar="REF", help="The audit this decision rests on.")
@json_option
def certify(org: str, date: str, standard: str, certificate: str | None, valid_until: str | None,
            audit_ref: str | None, as_json: bool) -> None:
    """Grant a certificate: a first one, or a new one after a gap.

    Example:

        certledger certify cecomip --date 2016-06-15 --standard fairmined --certificate FM-PE-0001
    """
    record(dict(command="certify", org=org, date=date, standard=standard, certificate=certificate,
                valid_until=valid_until, audit=audit_ref), as_json)


@cli.command()
@click.argument("org")
@date_option
@click.option("--standard", type=click.Choice(STANDARDS), help="Default: the current one.")
@click.option("--valid-until", metavar="DATE", help="Default: the day before the new period's first anniversary.")
@click.option("--audit", "audit_ref", metavar="REF", help="The audit this decision rests on.")
@json_option
def recertify(org: str, date: str, standard: str | None, valid_until: str | None, audit_ref: str | None,
              as_json: bool) -> None:
    """Renew the current period: the new one follows it without a gap.

    Example:

        certledger recertify cecomip --date 2017-06-01
    """
    record(dict(command="recertify", org=org, date=date, standard=standard, valid_until=valid_until,
                audit=audit_ref), as_json)


@cli.command()
@click.argument("org")
@date_option
@click.option("--reason-category", type=click.Choice(REASON_CATEGORIES), required=True)
@click.option("--reason", required=True)
@json_option
def deny(org: str, date: str, reason_category: str, reason: str, as_json: bool) -> None:
    """Refuse (re)certification; a current certificate still runs to its end date.

    Example:

        certledger deny aurifera-yani --date 2019-02-20 --reason-category commercial --reason "commercial requirements not met"
    """
    record(dict(command="deny", org=org, date=date, reason_category=reason_category, reason=reason), as_json)


@cli.command()
@click.argument("org")
@date_option
@click.option("--reason", required=True)
@click.option("--resolve-by", metavar="DATE", help="When the issue must be resolved.")
@json_option
def suspend(org: str, date: str, reason: str, resolve_by: str | None, as_json: bool) -> None:
    """Suspend a certificate (temporarily invalid).

    Example:

        certledger suspend cecomip --date 2018-09-01 --reason "traceability records missing" --resolve-by 2018-10-31
    """
    record(dict(command="suspend", org=org, date=date, reason=reason, resolve_by=resolve_by), as_json)


@cli.command()
@click.argument("org")
@date_option
@json_option
def reinstate(org: str, date: str, as_json: bool) -> None:
    """Lift a suspension.

    Example:

        certledger reinstate cecomip --date 2018-10-15
    """
    record(dict(command="reinstate", org=org, date=date), as_json)


@cli.command()
@click.argument("org")
@date_option
@click.option("--until", required=True, metavar="DATE", help="The new end date (after the current one).")
@click.option("--reason", required=True)
@json_option
def extend(org: str, date: str, until: str, reason: str, as_json: bool) -> None:
    """Move the current certificate's end date later.

    Example:

        certledger extend oro-puno --date 2020-04-15 --until 2020-08-31 --reason "operations halted (COVID-19)"
    """
    record(dict(command="extend", org=org, date=date, until=until, reason=reason), as_json)


@cli.command()
@click.argument("org")
@date_option
@click.option("--voluntary", is_flag=True, help="The organization chose to stop.")
@click.option("--imposed", is_flag=True, help="The scheme withdrew it.")
@click.option("--reason", required=True)
@json_option
def withdraw(org: str, date: str, voluntary: bool, imposed: bool, reason: str, as_json: bool) -> None:
    """Withdraw a certificate: it ends on that date.

    Example:

        certledger withdraw la-cascada --date 2019-05-02 --voluntary --reason "for internal reasons decided not to continue"
    """
    if voluntary == imposed:
        raise click.UsageError("give exactly one of --voluntary or --imposed")
    record(dict(command="withdraw", org=org, date=date, mode="voluntary" if voluntary else "imposed", reason=reason),
           as_json)


@cli.command()
@click.argument("org")
@click.argument("version", type=click.IntRange(min=1))
@date_option
@click.option("--reason", required=True)
@json_option
def retract(org: str, version: int, date: str, reason: str, as_json: bool) -> None:
    """Retract an earlier event (a correction); it stays in the history, marked.

    Example:

        certledger retract cecomip 4 --date 2019-08-01 --reason "recorded for the wrong organization"
    """
    record(dict(command="retract", org=org, target=version, date=date, reason=reason), as_json)


# ---------------------------------------------------------------- queries

@cli.command()
@click.argument("org", required=False)
@as_of_option
@known_at_option
@json_option
@csv_option
def status(org: str | None, as_of: str | None, known_at: str | None, as_json: bool, as_csv: bool) -> None:
    """Status of one organization, or of all.

    Example:

        certledger status cecomip --as-of 2019-12-31
    """
    ledger = session().ledger(must_exist=True)
    if org:
        result = ledger.state_at(org, as_of, known_at)
        if as_json:
            click.echo(rendering.to_json(result))
        elif as_csv:
            click.echo(rendering.to_csv([result], rendering.status_csv_columns()))
        else:
            click.echo(rendering.record(result))
        return
    rows = session().views().registry(as_of, known_at=known_at)
    render_statuses(rows, as_json, as_csv)


def render_statuses(rows: list[dict[str, Any]], as_json: bool, as_csv: bool) -> None:
    if as_json:
        click.echo(rendering.to_json(rows))
    elif as_csv:
        click.echo(rendering.to_csv(rows, rendering.status_csv_columns()))
    else:
        click.echo(rendering.status_table(rows))


@cli.command()
@click.argument("org")
@known_at_option
@json_option
@csv_option
def history(org: str, known_at: str | None, as_json: bool, as_csv: bool) -> None:
    """Every event of an organization in position order; retracted ones marked.

    Example:

        certledger history cecomip
    """
    entries = session().ledger(must_exist=True).history(org, known_at)
    render_events(entries, as_json, as_csv, with_org=False)


def render_events(entries: list[dict[str, Any]], as_json: bool, as_csv: bool, *, with_org: bool) -> None:
    if as_json:
        click.echo(rendering.to_json(entries))
    elif as_csv:
        click.echo(rendering.to_csv(entries))
    else:
        rows = [{**e, "details": _details(e["fields"]), "retracted": f"by v{e['retracted_by']}" if e["retracted"]
                 else ""} for e in entries]
        columns = ("position", *(("org",) if with_org else ()), "version", "recorded_at", "recorded_by", "type",
                   "date", "details", "retracted")
        click.echo(rendering.table(rows, columns, max_width=70))


def _details(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k}={rendering.cell(v)}" for k, v in fields.items() if v not in (None, [], ()))


# ---------------------------------------------------------------- registry queries (projections)

@cli.command()
@as_of_option
@known_at_option
@json_option
@csv_option
def streaks(as_of: str | None, known_at: str | None, as_json: bool, as_csv: bool) -> None:
    """Certified streaks, longest first (ties: certified_since, then org).

    Lists the organizations with consecutive_years > 0 on the as-of date.

    Example:

        certledger streaks --as-of 2019-12-31
    """
    render_statuses(session().views().streaks(as_of, known_at), as_json, as_csv)


@cli.command()
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only organizations with this status (repeatable).")
@click.option("--country", metavar="CC", help="Only organizations of this country (ISO 3166-1 alpha-2).")
@click.option("--standard", type=click.Choice(STANDARDS), help="Only certificates of this standard.")
@as_of_option
@known_at_option
@json_option
@csv_option
def registry(statuses: tuple[str, ...], country: str | None, standard: str | None, as_of: str | None,
             known_at: str | None, as_json: bool, as_csv: bool) -> None:
    """Every organization registered by the as-of date, with its status.

    Filters combine: --status (repeatable), --country and --standard.

    Example:

        certledger registry --as-of 2019-12-31 --status certified --country PE
    """
    rows = session().views().registry(as_of, statuses, country, standard, known_at)
    render_statuses(rows, as_json, as_csv)


@cli.command()
@click.option("--year", type=click.IntRange(1, 9999), help="The calendar year (1 January to 31 December).")
@click.option("--from", "start", metavar="DATE", help="First day of the period (with --to).")
@click.option("--to", "end", metavar="DATE", help="Last day of the period (with --from).")
@known_at_option
@json_option
def report(year: int | None, start: str | None, end: str | None, known_at: str | None, as_json: bool) -> None:
    """What happened in a year or period, as the scheme's yearly news tells it.

    Certified at the end, grants, renewals (with their streak), denials, suspensions,
    withdrawals and expiries.

    Example:

        certledger report --year 2019
    """
    if year is not None and (start or end):
        raise click.UsageError("give either --year or --from and --to, not both")
    if year is None and not (start and end):
        raise click.UsageError("give --year YYYY, or both --from DATE and --to DATE")
    if year is None:
        check_period_order(start, end)
    views = session().views()
    result = views.year_report(year, known_at) if year is not None else views.report(start, end, known_at)
    click.echo(rendering.to_json(result) if as_json else render_report(result))


def check_period_order(start: str, end: str) -> None:
    try:
        first, last = parse_date(start), parse_date(end)
    except ValueError:
        return  # the query names the malformed date
    if first > last:
        raise click.UsageError(f"--from {first} is after --to {last}")


REPORT_SECTIONS = (
    ("newly_certified", "Newly certified", ("date", "org", "standard")),
    ("recertified", "Recertified", ("date", "org", "standard", "consecutive_years")),
    ("denied", "Denied", ("date", "org", "stage", "reason_category", "reason")),
    ("suspended", "Suspended", ("date", "org", "reason", "resolve_by")),
    ("withdrawn", "Withdrawn", ("date", "org", "mode", "reason")),
    ("expired", "Expired", ("date", "org", "valid_until")),
)


def render_report(result: dict[str, Any]) -> str:
    certified = ", ".join(result["certified"])
    lines = [f"Report {result['from']} to {result['to']}",
             f"Certified at the end: {result['certified_at_end']}" + (f" ({certified})" if certified else "")]
    for key, title, columns in REPORT_SECTIONS:
        rows = result[key]
        lines += ["", f"{title}: {len(rows)}"]
        if rows:
            lines.append(rendering.table(rows, columns, {"consecutive_years": "years"}, max_width=70))
    return "\n".join(lines)


@cli.command()
@click.option("--since", type=click.IntRange(min=0), default=0, show_default=True, metavar="POSITION",
              help="Only events at positions after this one.")
@click.option("--limit", type=click.IntRange(min=0), default=100, show_default=True, metavar="N",
              help="At most this many events.")
@known_at_option
@json_option
@csv_option
def changes(since: int, limit: int, known_at: str | None, as_json: bool, as_csv: bool) -> None:
    """The event feed: every event after a position, in position order.

    Example:

        certledger changes --since 30 --limit 10
    """
    entries = session().views().changes(since, limit, known_at)
    render_events(entries, as_json, as_csv, with_org=True)


@cli.command()
def rebuild() -> None:
    """Drop every projection and replay the whole log into it.

    Example:

        certledger rebuild
    """
    click.echo(str(session().views().rebuild()))


# ---------------------------------------------------------------- data in and out (import, export)

@cli.command("import")
@click.argument("source", metavar="FILE|-", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(line_files.FORMATS),
              help="jsonl or csv (default: csv for a .csv file, else jsonl).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@json_option
def import_(source: str, fmt: str | None, quiet: bool, as_json: bool) -> None:
    """Import a JSON Lines or CSV file of commands: all or nothing, never twice.

    A bad line rejects the whole file (nothing is written); lines already in the
    ledger are skipped, so importing a file twice records it once.

    Example:

        certledger import examples/fairmined-history.jsonl
    """
    s = session()
    ledger = s.ledger()
    with import_progress(source, quiet) as progress:
        from ledger.transfer import importing

        summary = importing.import_file(ledger, source, fmt=fmt, by=s.by, progress=progress)
    click.echo(rendering.to_json(summary.as_dict()) if as_json else summary.describe())
    if summary.recorded:
        keep_views_up(s)


@contextmanager
def import_progress(source: str, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar over the bytes read, on a terminal only; None when piped, from stdin or quiet."""
    if quiet or source == "-" or not sys.stderr.isatty():
        yield None
        return
    try:
        size = os.path.getsize(source)
    except OSError:
        yield None
        return
    with click.progressbar(length=size, label="Importing", file=sys.stderr) as bar:
        done = 0

        def advance(bytes_read: int) -> None:
            nonlocal done
            bar.update(bytes_read - done)
            done = bytes_read

        yield advance


def stop_writing_to_closed_pipe() -> None:
    """The reader of our output went away (``export | head``): drop what is still buffered, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass


@cli.command("export")
@click.argument("target", metavar="[FILE|-]", default="-", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(line_files.FORMATS),
              help="jsonl or csv (default: csv for a .csv file, else jsonl).")
def export_(target: str, fmt: str | None) -> None:
    """Export every event in position order, in the import format.

    Each line also carries read-only metadata (position, version, recorded_at,
    recorded_by). Importing the export into an empty ledger gives the same answer to every
    --as-of query; importing it into the ledger it came from records nothing.

    Example:

        certledger export ledger-backup.jsonl
    """
    from ledger.transfer import export

    try:
        count = export.export_file(session().ledger(must_exist=True), target, fmt=fmt)
    except BrokenPipeError:
        stop_writing_to_closed_pipe()
        raise click.exceptions.Exit(1) from None
    if target != "-":
        click.echo(f"Exported {count} events to {target}")



# ---------------------------------------------------------------- integrity (verify, head, keygen)

@cli.command()
@click.option("--head", "head_file", metavar="FILE", help="A head written earlier: prove the ledger still extends it.")
@click.option("--public-key", metavar="FILE", help="Check the head's Ed25519 signature with this PEM public key.")
def verify(head_file: str | None, public_key: str | None) -> None:
    """Check the hash chain and the projections; exit 1 naming the first bad entry.

    Recomputes every chain entry from the stored events, looks for events without a chain
    entry, optionally proves that the ledger still extends a head written earlier, and compares
    the projections with a scratch rebuild.

    Example:

        certledger verify --head head-2024-06-30.json --public-key scheme-public.pem
    """
    from ledger.errors import IntegrityFailure
    from ledger.integrity import heads

    if public_key and not head_file:
        raise click.UsageError("--public-key checks the signature of a head: give --head FILE too")
    published = heads.read_head(head_file, public_key) if head_file else None
    result = session().verify(published)
    if not result.ok:
        for line in result.problems:
            click.echo(f"  {line}", err=True)
        raise IntegrityFailure(result.failure())
    click.echo(result.summary())


@cli.command()
@click.option("--out", metavar="FILE", help="Write the head to FILE instead of standard output.")
@click.option("--sign-key", metavar="FILE", help="Sign the head with this Ed25519 PEM private key.")
def head(out: str | None, sign_key: str | None) -> None:
    """Print the chain head (seq, hash, recorded_at) as JSON, optionally signed.

    The chain is verified first: a head is never written for a broken chain. Keep or publish
    the head; `verify --head` later proves the ledger still extends it.

    Example:

        certledger head --out head-2024-06-30.json --sign-key scheme-private.pem
    """
    from ledger.errors import InvalidInput
    from ledger.integrity import heads

    key = heads.load_private_key(sign_key) if sign_key else None
    current = session().head()
    text = heads.head_json(current, key)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        with open(out, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise InvalidInput(f"cannot write head to {out}: {error.strerror or error}") from None
    click.echo(f"Wrote head seq {current.seq} to {out}")


@cli.command()
@click.option("--out-private", required=True, metavar="FILE", help="Where to write the private key (PEM).")
@click.option("--out-public", required=True, metavar="FILE", help="Where to write the public key (PEM).")
def keygen(out_private: str, out_public: str) -> None:
    """Make an Ed25519 key pair for signing heads; never overwrites a file.

    Example:

        certledger keygen --out-private scheme-private.pem --out-public scheme-public.pem
    """
    from ledger.integrity import heads

    key = heads.generate_key_pair(out_private, out_public)
    click.echo(f"Wrote Ed25519 key pair {key}: private key {out_private} (keep it secret), "
               f"public key {out_public} (publish it)")


# ---------------------------------------------------------------- scale-out (follow, copy)

@cli.command()
@click.option("--interval", type=click.FloatRange(min=0.05), default=1.0, show_default=True, metavar="SECONDS",
              help="How often to look for new events on SQLite (PostgreSQL is woken by LISTEN/NOTIFY).")
@click.option("--quiet", is_flag=True, help="Print only the final line.")
def follow(interval: float, quiet: bool) -> None:
    """Keep the projections current until stopped (Ctrl-C or SIGTERM).

    Example:

        certledger follow --interval 0.5
    """
    import signal

    from projections.follower import Follower

    views = session().views()

    def report(progress: Any) -> None:
        if not quiet:
            click.echo(f"Applied {progress.applied} events, now at position {progress.position}", err=True)

    follower = Follower(views, poll_seconds=interval, on_batch=report)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: follower.stop())
    if not quiet:
        click.echo(f"Following {describe(views.log.db)} from position {views.tracked_position()}", err=True)
    summary = follower.run()
    click.echo(f"Stopped at position {summary.position} ({summary.applied} events applied)", err=True)


@cli.command("copy")
@click.option("--to", "target", required=True, metavar="URL",
              help="The empty ledger to fill: a SQLite file path or a postgresql:// URL.")
def copy_command(target: str) -> None:
    """Copy this ledger into an empty one, e.g. from SQLite up to PostgreSQL.

    Positions, versions, recorded times and recorders are kept, so every --as-of / --known-at
    answer stays the same. A non-empty target is refused.

    Example:

        certledger copy --to "postgresql://certledger@db.example.org/registry?schema=fairmined"
    """
    source = session().ledger(must_exist=True)
    destination = CertificationLedger(target)
    try:
        from ledger.transfer.copying import copy_ledger

        report = copy_ledger(source, destination, progress=copy_progress if sys.stderr.isatty() else None)
    finally:
        destination.close()
    if sys.stderr.isatty():
        click.echo(err=True)
    head = report.head.entry_hash.hex()[:16] if report.head else "-"
    click.echo(f"Copied {report.events} events (up to position {report.last_position}) from "
               f"{describe(source.db)} to {describe(target)}; chain head {head} matches the source")


def copy_progress(position: int, last: int) -> None:
    click.echo(f"\rcopying: position {position} of {last}", err=True, nl=False)



# ---------------------------------------------------------------- the public registry (serve)

@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (each answers one question at a time).")
@click.option("--sign-key", metavar="FILE", help="Sign the head that /api/head serves with this Ed25519 PEM key.")
def serve(host: str, port: int, workers: int, sign_key: str | None) -> None:
    """Serve the public registry, read-only: web pages and a JSON API.

    Every answer reflects every event committed before its request arrived, and names the
    ledger position it used (X-Ledger-Position). See docs/http.md.

    Example:

        certledger serve --port 8080 --workers 4
    """
    from web.serving import serve as run

    run(session(), host=host, port=port, workers=workers, sign_key=sign_key, announce=click.echo)


def main() -> None:
    cli.main(prog_name="certledger")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
