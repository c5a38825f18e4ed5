"""certledger command line: parse options, make one call into the ledger, render the answer."""

from __future__ import annotations

import io
import os
import sys
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version as package_version
from typing import Any, Callable, Iterator

import click

from ledger import bulk, export, formats, line_files
from ledger.application import CertificationLedger, Recorded, history_entry
from ledger.errors import LedgerError
from ledger.values import AUDIT_KINDS, DEPOSITS, LEGAL_FORMS, REASON_CATEGORIES, STANDARDS, STATUSES

try:
    VERSION = package_version("certledger")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "0.0.0"


class Session:
    """Per-invocation state: the ledger object lives as long as the command."""

    def __init__(self, db: str | None, by: str | None):
        self.db = db
        self.by = by
        self._ledger: CertificationLedger | None = None

    def ledger(self, *, must_exist: bool = False) -> CertificationLedger:
        if self._ledger is None:
            self._ledger = CertificationLedger(self.db, must_exist=must_exist)
        return self._ledger


class LedgerGroup(click.Group):
    """Maps every ledger refusal to ``Error: ...`` and exit 1, and never shows a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LedgerError as error:
            raise click.ClickException(str(error)) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Abort() from None
        except Exception as error:  # noqa: BLE001 - the promise is: no traceback, ever
            raise click.ClickException(f"unexpected failure ({type(error).__name__}): {error}") from None


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="CERTLEDGER_DB", default="certledger.db", show_default=True,
              help="SQLite file path, or a postgresql:// URL (env CERTLEDGER_DB).")
@click.option("--by", "by", default=None, help="Who records (default: $CERTLEDGER_USER, else the login name).")
@click.version_option(VERSION, "--version", prog_name="certledger")
@click.pass_context
def cli(ctx: click.Context, db: str, by: str | None) -> None:
    """An event-sourced, bitemporal ledger of responsible-mining certifications.

    Example:

        certledger register cecomip --name CECOMIP --country PE --date 2016-01-10
    """
    ctx.obj = Session(db, by)


def session() -> Session:
    return click.get_current_context().find_object(Session)


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


def emit_recorded(result: Recorded, as_json: bool) -> None:
    if as_json:
        ledger = session().ledger()
        stamp = ledger.recorder.recorded_at([result.position]).get(result.position)
        entry = history_entry_for(result, stamp)
        click.echo(formats.to_json(entry))
    else:
        click.echo(f"Recorded {result.type} for {result.org} at position {result.position} "
                   f"(version {result.version}, {result.event.date.isoformat()})")


def history_entry_for(result: Recorded, stamp: str | None) -> dict[str, Any]:
    from ledger.persistence import StoredRow

    row = StoredRow(result.position, result.event.originator_id, result.version, "", b"")
    return history_entry(row, result.event, stamp, None)


def record(command: dict[str, Any], as_json: bool) -> None:
    s = session()
    result = s.ledger().record({k: v for k, v in command.items() if v not in (None, ())}, by=s.by)
    emit_recorded(result, as_json)


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
@click.option("--voluntary", "mode", flag_value="voluntary", help="The organization chose to stop.")
@click.option("--imposed", "mode", flag_value="imposed", help="The scheme withdrew it.")
@click.option("--reason", required=True)
@json_option
def withdraw(org: str, date: str, mode: str | None, reason: str, as_json: bool) -> None:
    """Withdraw a certificate: it ends on that date.

    Example:

        certledger withdraw la-cascada --date 2019-05-02 --voluntary --reason "for internal reasons decided not to continue"
    """
    if mode is None:
        raise click.UsageError("give --voluntary or --imposed")
    record(dict(command="withdraw", org=org, date=date, mode=mode, reason=reason), as_json)


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
            click.echo(formats.to_json(result))
        elif as_csv:
            click.echo(formats.to_csv([result], formats.status_csv_columns()))
        else:
            click.echo(formats.record(result))
        return
    rows = ledger.statuses(as_of, known_at)
    render_statuses(rows, as_json, as_csv)


def render_statuses(rows: list[dict[str, Any]], as_json: bool, as_csv: bool) -> None:
    if as_json:
        click.echo(formats.to_json(rows))
    elif as_csv:
        click.echo(formats.to_csv(rows, formats.status_csv_columns()))
    else:
        click.echo(formats.table(rows, formats.STATUS_COLUMNS, formats.STATUS_HEADINGS, max_width=30))


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
    if as_json:
        click.echo(formats.to_json(entries))
    elif as_csv:
        click.echo(formats.to_csv(entries))
    else:
        rows = [{**e, "details": _details(e["fields"]), "retracted": f"by v{e['retracted_by']}" if e["retracted"]
                 else ""} for e in entries]
        click.echo(formats.table(rows, ("position", "version", "recorded_at", "recorded_by", "type", "date",
                                        "details", "retracted"), max_width=70))


def _details(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k}={formats.cell(v)}" for k, v in fields.items() if v not in (None, [], ()))


# ---------------------------------------------------------------- registry queries (projections)


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
        summary = bulk.import_file(ledger, source, fmt=fmt, by=s.by, progress=progress)
    click.echo(formats.to_json(summary.as_dict()) if as_json else summary.describe())


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
    try:
        count = export.export_file(session().ledger(must_exist=True), target, fmt=fmt)
    except BrokenPipeError:
        stop_writing_to_closed_pipe()
        raise click.exceptions.Exit(1) from None
    if target != "-":
        click.echo(f"Exported {count} events to {target}")



# ---------------------------------------------------------------- integrity (verify, head, keygen)


# ---------------------------------------------------------------- scale-out (follow, copy)


def main() -> None:
    cli.main(prog_name="certledger")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
