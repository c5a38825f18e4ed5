"""certledger command line: parse options, make one call into the ledger, render the answer."""

from __future__ import annotations

import io
import os
import shlex
import sqlite3
import sys
import types

# pydantic looks for plugins among every installed distribution's entry points the first time it
# builds a validator; certledger uses none, and a short command would spend a fifth of its time there.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Callable, Iterator, Literal, Union, get_args, get_origin

import click
from eventsourcing.persistence import PersistenceError

import rendering
from ledger.transfer import FORMATS
from ledger.errors import DAYS, POSITIONS, REPORT_NEEDS_A_PERIOD, YEARS, Interrupted, LedgerError, one_line
from ledger.storage import chosen, describe, failure_message
from service import LedgerService
from ledger.domain.values import (AUDIT_KINDS, DEPOSITS, LEGAL_FORMS, LONE_SURROGATE, REASON_CATEGORIES, ROLES,
                                  STANDARDS, STATUSES, parse_date, version_number)

if TYPE_CHECKING:  # the models and the ledger class are loaded by the commands that use them: see RecordingCommand
    from ledger.application import CertificationLedger
    from ledger.domain import commands as cmd

# Options of the group itself: given after a command's name, they get a hint to move them.
GLOBAL_OPTIONS = {"--db": True, "--by": True, "--version": False}  # name: takes a value

class LedgerGroup(click.Group):
    """Maps every ledger refusal to ``Error: ...`` and exit 1, and never shows a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        # The command's name and its arguments as typed (Group.invoke empties them; click < 8.2 names them
        # protected_args).
        typed = [*vars(ctx).get("_protected_args", vars(ctx).get("protected_args", [])), *ctx.args]
        try:
            return super().invoke(ctx)
        except click.NoSuchOption as error:
            raise global_option_hint(error, typed) from None
        except Interrupted as error:
            raise Stopped(one_line(str(error))) from None
        except LedgerError as error:
            raise click.ClickException(one_line(str(error))) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            # Outside a recording (which words its own): one line, and the status of a process stopped by SIGINT.
            raise Stopped("interrupted") from None
        except BrokenPipeError:
            # The reader of our output went away (``registry | head -0``): as any filter, stop quietly.
            stop_writing_to_closed_pipe()
            raise click.exceptions.Exit(1) from None
        except (PersistenceError, sqlite3.Error) as error:
            db = getattr(ctx.obj, "db", None) or "the database"
            raise click.ClickException(one_line(failure_message(db, error))) from None
        except Exception as error:  # noqa: BLE001 - the promise is: no traceback, ever
            raise click.ClickException(one_line(f"unexpected failure ({type(error).__name__}): {error}")) from None


class Stopped(click.ClickException):
    """Ctrl-C: ``Error: interrupted ...`` and the exit status of a process stopped by SIGINT."""

    exit_code = 130


def global_option_hint(error: click.NoSuchOption, args: list[str]) -> click.NoSuchOption:
    """``certledger status --db x.db``: say that global options go before the command, and show the line."""
    if error.option_name.split("=", 1)[0] not in GLOBAL_OPTIONS:
        return error
    moved: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS and index > 0:
            takes_value = GLOBAL_OPTIONS[name] and "=" not in arg and index + 1 < len(args)
            moved += args[index:index + 2] if takes_value else [arg]
            index += 2 if takes_value else 1
            continue
        rest.append(arg)
        index += 1
    line = "certledger --version" if "--version" in moved else shlex.join(["certledger", *moved, *rest])
    return click.NoSuchOption(error.option_name, f"{error.message} Global options go before the command: {line}",
                              ctx=error.ctx)


def a_ledger(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--db ''`` names no ledger: refused. A blank ``CERTLEDGER_DB`` counts as unset (the default file), as a blank
    ``CERTLEDGER_USER`` does."""
    if value is not None and not value.strip():
        if ctx.get_parameter_source(param.name or "db") is click.core.ParameterSource.COMMANDLINE:
            raise click.BadParameter("give a SQLite file path or a postgresql:// URL, not an empty one")
        return None
    return decodable(ctx, param, value)


@click.group(cls=LedgerGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", envvar="CERTLEDGER_DB", default="certledger.db", show_default=True, callback=a_ledger,
              help="SQLite file path, or a postgresql:// URL (env CERTLEDGER_DB).")
@click.option("--by", "by", default=None, help="Who records (default: $CERTLEDGER_USER, else the login name).")
@click.version_option(None, "--version", package_name="certledger", prog_name="certledger")
@click.pass_context
def cli(ctx: click.Context, db: str | None, by: str | None) -> None:
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


def stderr_is_terminal() -> bool:
    """Progress bars are drawn only for a person watching a terminal, never into a pipe or a file."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressBars:
    """click progress bars on standard error, one per step, each started when its total is known."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._label: str | None = None
        self._done = 0

    def step(self, label: str) -> Callable[[int, int], None]:
        def advance(done: int, total: int) -> None:
            if self._label != label:
                self.close()
                self._bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
                self._bar.__enter__()
                self._label, self._done = label, 0
            self._bar.update(max(done - self._done, 0))
            self._done = done

        return advance

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar, self._label = None, None


@contextmanager
def progress_bars() -> Iterator[ProgressBars | None]:
    """Progress bars on a terminal; None when standard error is piped or redirected."""
    if not stderr_is_terminal():
        yield None
        return
    bars = ProgressBars()
    try:
        yield bars
    finally:
        bars.close()


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """One progress bar, ``advance(done, total)``, on a terminal only."""
    with progress_bars() as bars:
        yield bars.step(label) if bars is not None else None


@contextmanager
def replay_progress(known_at: str | None) -> Iterator[None]:
    """A bar while a --known-at answer replays the log (the views hold only the present)."""
    if known_at is None:
        yield
        return
    views = session().views()
    with progress("Replaying the ledger") as advance:
        views.on_replay = advance
        try:
            yield
        finally:
            views.on_replay = None


def complete_org(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of organization ids from the ledger named by --db (or CERTLEDGER_DB); silent on any failure."""
    from click.shell_completion import CompletionItem

    from ledger.application import CertificationLedger

    try:
        db = chosen(ctx.find_root().params.get("db"))
        ledger = CertificationLedger(db, must_exist=True)
        try:
            slugs = ledger.reader.organization_slugs()
        finally:
            ledger.close()
        return [CompletionItem(slug) for slug in slugs if slug.startswith(incomplete)]
    except Exception:  # noqa: BLE001 - completion must never print an error into the user's shell
        return []


def a_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A file given as an empty word (``--out ''``) names no file: refused, rather than read as the current
    directory or as no option at all."""
    if value is not None and not value.strip():
        raise click.BadParameter("give a file path, not an empty one")
    return decodable(ctx, param, value)


def decodable(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An organization id typed with bytes that are not UTF-8 (they reach Python as lone surrogates) names no
    organization, and no database could even be asked about it."""
    if value is not None and LONE_SURROGATE.search(value):
        raise click.BadParameter(f"{value!r} holds bytes that are not UTF-8 text")
    return value


def org_argument(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument("org", shell_complete=complete_org, callback=decodable)(f)


# ---------------------------------------------------------------- shared option stacks

def one_format(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """--json and --csv each choose the output: given together, neither silently wins."""
    if value:
        chosen = ctx.meta.setdefault("certledger.format", param.opts[0])
        if chosen != param.opts[0]:
            raise click.UsageError(f"{chosen} and {param.opts[0]} cannot be combined: choose one output format")
    return value


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, callback=one_format, help="Print JSON.")(f)


def csv_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--csv", "as_csv", is_flag=True, callback=one_format, help="Print CSV (lists only).")(f)


# Flags that only change how a command renders or records are kept on the context (not passed
# to the command's function), so that every command takes them the same way.

def remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta[f"certledger.{param.name}"] = value
    return value


def flag(name: str) -> bool:
    return bool(click.get_current_context().meta.get(f"certledger.{name}", False))


def wide_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--wide", is_flag=True, expose_value=False, callback=remember,
                        help=f"Show every column in full (the table otherwise fits {rendering.TABLE_WIDTH} columns).")(f)


def again_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--again", is_flag=True, expose_value=False, callback=remember,
                        help="Record it even if an identical event is already recorded for the organization.")(f)


def as_of_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--as-of", "as_of", metavar="DATE",
                        help="Valid time: status at the end of this day (default: today, UTC).")(f)


def known_at_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--known-at", "known_at", metavar="T",
                        help="System time: a ledger position, or an ISO-8601 date-time (default: now).")(f)


def options(*decorators: Callable[[Callable[..., Any]], Any]) -> Callable[[Callable[..., Any]], Any]:
    """One decorator for several parameters, listed in the order given (as if stacked in that order)."""
    def declare(f: Callable[..., Any]) -> Any:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return declare


# The moment a query asks about: in valid time (--as-of) and in system time (--known-at).
time_options = options(as_of_option, known_at_option)
# How a list is printed: JSON, CSV, or a table (--wide: unclipped).
list_options = options(json_option, csv_option, wide_option)


def record(command: dict[str, Any], as_json: bool) -> None:
    s = session()
    again = flag("again")
    fields = {k: v for k, v in command.items() if v not in (None, ())}
    result = s.write(lambda ledger: ledger.record(fields, by=s.by, again=again, on_wait=s.on_wait))
    try:
        if as_json:
            click.echo(rendering.to_json(s.recorded_entry(result)))
        else:
            click.echo(f"Recorded {result.type} for {result.org} at position {result.position} "
                       f"(version {result.version}, {result.event.date.isoformat()})")
    except OSError as error:  # the event is committed: say so, or a retry would be refused as a double entry
        raise click.ClickException(one_line(
            f"{result.type} for {result.org} was recorded at position {result.position}, but printing it failed: "
            f"{error.strerror or error}")) from None
    finally:
        keep_views_up(s, result.position)


def keep_views_up(s: LedgerService, recorded: int | None) -> None:
    """Catch the projections up after recording (unless the recording kept them); the event is already
    committed, so only warn on failure."""
    problem = s.catch_up_quietly(recorded)
    if problem:
        click.echo(f"Warning: {problem}", err=True)


# ---------------------------------------------------------------- recording commands
# Each recording command is built from its model in ledger.domain.commands: one option per field,
# required, with its choices and its default as the model has them, so that the command line and the
# import format cannot drift apart. What a model does not say (help texts, metavars, arguments, the
# order of the options) is declared with each command below; the command's docstring is its help.


def field_type(annotation: Any) -> Any:
    """The type a model field holds, without ``| None`` and without its validators (``Annotated``)."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        else:
            return annotation


def choices_of(model: type[cmd.Command], field: str) -> tuple[str, ...]:
    """The values a vocabulary field (a ``Literal``) takes, in the model's order."""
    kind = field_type(model.model_fields[field].annotation)
    return get_args(kind) if get_origin(kind) is Literal else ()


@dataclass(frozen=True)
class Param:
    """How one field of a recording command's model is given on the command line."""

    field: str

    def declare(self, model: type[cmd.Command]) -> Callable[..., Any]:
        """The click decorator that adds the parameter to a command."""
        raise NotImplementedError

    def value(self, model: type[cmd.Command], given: dict[str, Any]) -> Any:
        """The field's value, from the parameters given to the command."""
        return given[self.field]


@dataclass(frozen=True)
class Opt(Param):
    """The option for one field of the model: ``--valid-until`` for ``valid_until``."""

    help: str | None = None
    metavar: str | None = None

    def declare(self, model: type[cmd.Command]) -> Callable[..., Any]:
        from pydantic_core import PydanticUndefined

        info = model.model_fields[self.field]
        kind = field_type(info.annotation)
        choices = choices_of(model, self.field)
        # A default is shown only where the model has one of its own (None and () stand for "not given").
        shown_default = {} if info.default in (None, (), PydanticUndefined) else {"default": info.default,
                                                                                 "show_default": True}
        return click.option(f"--{self.field.replace('_', '-')}", self.field, required=info.is_required(),
                            type=click.Choice(choices) if choices else None, multiple=get_origin(kind) is tuple,
                            metavar=self.metavar or ("DATE" if kind is date else None), help=self.help,
                            **shown_default)


@dataclass(frozen=True)
class Arg(Param):
    """An argument for one field of the model, named ``name`` (default: the field's name)."""

    name: str | None = None
    type: click.ParamType | None = None
    complete: Callable[..., list[Any]] | None = None

    def declare(self, model: type[cmd.Command]) -> Callable[..., Any]:
        return click.argument(self.name or self.field, type=self.type, shell_complete=self.complete)

    def value(self, model: type[cmd.Command], given: dict[str, Any]) -> Any:
        return given[self.name or self.field]


@dataclass(frozen=True)
class Flags(Param):
    """A vocabulary field given as one flag per value (``--voluntary`` or ``--imposed`` for ``mode``)."""

    helps: tuple[str, ...]  # one a value, in the model's order

    def declare(self, model: type[cmd.Command]) -> Callable[..., Any]:
        return options(*(click.option(f"--{value}", value, is_flag=True, help=help)
                         for value, help in zip(choices_of(model, self.field), self.helps, strict=True)))

    def value(self, model: type[cmd.Command], given: dict[str, Any]) -> Any:
        values = choices_of(model, self.field)
        chosen = [value for value in values if given[value]]
        if len(chosen) != 1:
            raise click.UsageError(f"give exactly one of {' or '.join(f'--{value}' for value in values)}")
        return chosen[0]


ORG = Arg("org", complete=complete_org)  # completed from the ledger's organizations
# Not completed: register names an id the ledger does not hold yet; correct and close-finding never did.
BARE_ORG = Arg("org")
DATE = Opt("date", "Effective date (YYYY-MM-DD).")
COUNTRY_HELP = "ISO 3166-1 alpha-2 code, e.g. PE."
REGION = Opt("region", "Region or province.")
AUDIT_REF = Opt("audit", "The audit this decision rests on.", "REF")


class RecordingCommand(click.Command):
    """The recording command of one model, its options built from the model the first time they are read
    (to parse, to show help or to complete): a question never loads the command models at all."""

    def __init__(self, verb: str, fields: tuple[Param, ...], help: str | None) -> None:
        self.fields = fields
        self._built: list[click.Parameter] | None = None
        super().__init__(verb, callback=self.run, help=help)

    @property
    def model(self) -> type[cmd.Command]:
        from ledger.domain.commands import COMMANDS

        return COMMANDS[self.name]

    @property  # type: ignore[override]
    def params(self) -> list[click.Parameter]:
        if self._built is None:
            stack = options(*(field.declare(self.model) for field in self.fields),
                            again_option, json_option)
            self._built = click.command(self.name)(stack(lambda **given: None)).params
        return self._built

    @params.setter
    def params(self, given: list[click.Parameter]) -> None:
        self._built = given or None  # click's constructor gives none: the model's are built when first read

    def run(self, as_json: bool, **given: Any) -> None:
        model = self.model
        record({"command": self.name, **{field.field: field.value(model, given) for field in self.fields}}, as_json)


def recording(verb: str, *fields: Param) -> Callable[[Callable[..., Any]], click.Command]:
    """Declare the recording command ``verb`` (a model of ``ledger.domain.commands``) with ``fields`` in this
    order, then ``--again`` (every command takes it, SPEC section 5: where a rule refuses the repeat anyway,
    as a second registration, the rule's message says so) and ``--json``. The decorated function only carries
    the help: the command records the model's command from the values given."""

    def declare(described: Callable[..., Any]) -> click.Command:
        command = RecordingCommand(verb, fields, described.__doc__)
        cli.add_command(command)
        return command

    return declare


@recording("register", BARE_ORG, Opt("name", "Organization name."), Opt("country", COUNTRY_HELP), REGION,
           Opt("legal_form"), Opt("deposit"), DATE)
def register() -> None:
    """Register an organization in the ledger.

    Example:

        certledger register cecomip --name "CECOMIP" --country PE --region Puno --legal-form cooperative --deposit alluvial --date 2016-01-10
    """


@recording("audit", ORG, DATE, Opt("body", "The certification body (auditing firm)."), Opt("kind"),
           Opt("reference", "The audit's reference."),
           Opt("finding", "A finding (repeatable); severity is major, minor or observation.", "SEVERITY:CATEGORY:TEXT"))
def audit() -> None:
    """Record an audit (it changes no status by itself).

    Example:

        certledger audit cecomip --date 2016-05-20 --body "IMO Swiss AG" --kind initial --finding "minor:health-safety:first aid kits incomplete"
    """


@recording("certify", ORG, DATE, Opt("standard"), Opt("certificate", "Certificate number (unique in the ledger)."),
           Opt("valid_until", "End date (default: the day before the first anniversary)."), AUDIT_REF)
def certify() -> None:
    """Grant a certificate: a first one, or a new one after a gap.

    Example:

        certledger certify cecomip --date 2016-06-15 --standard fairmined --certificate FM-PE-0001
    """


@recording("recertify", ORG, DATE, Opt("standard", "Default: the current one."),
           Opt("certificate", "A new certificate number for the new period (default: kept)."),
           Opt("valid_until", "Default: the day before the new period's first anniversary."), AUDIT_REF)
def recertify() -> None:
    """Renew the current period: the new one follows it without a gap.

    Example:

        certledger recertify cecomip --date 2017-06-01
    """


@recording("deny", ORG, DATE, Opt("reason_category"), Opt("reason"))
def deny() -> None:
    """Refuse (re)certification; a current certificate still runs to its end date.

    Example:

        certledger deny aurifera-yani --date 2019-02-20 --reason-category commercial --reason "commercial requirements not met"
    """


@recording("suspend", ORG, DATE, Opt("reason"), Opt("resolve_by", "When the issue must be resolved."))
def suspend() -> None:
    """Suspend a certificate (temporarily invalid).

    Example:

        certledger suspend cecomip --date 2018-09-01 --reason "traceability records missing" --resolve-by 2018-10-31
    """


@recording("reinstate", ORG, DATE)
def reinstate() -> None:
    """Lift a suspension.

    Example:

        certledger reinstate cecomip --date 2018-10-15
    """


@recording("extend", ORG, DATE, Opt("until", "The new end date (after the current one)."), Opt("reason"))
def extend() -> None:
    """Move the current certificate's end date later.

    Example:

        certledger extend oro-puno --date 2020-04-15 --until 2020-08-31 --reason "operations halted (COVID-19)"
    """


@recording("withdraw", ORG, DATE, Flags("mode", ("The organization chose to stop.", "The scheme withdrew it.")),
           Opt("reason"))
def withdraw() -> None:
    """Withdraw a certificate: it ends on that date.

    Example:

        certledger withdraw la-cascada --date 2019-05-02 --voluntary --reason "for internal reasons decided not to continue"
    """


class Version(click.ParamType):
    """A version as the model reads it (``version_number``): the digits 0-9 only (click's int would take ``+5`` or
    ``٥``), from 1."""

    name = "integer"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            number = version_number(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)
        if number < 1:
            self.fail(f"{number} is not a version (versions count from 1)", param, ctx)
        return number


VERSION = Version()


@recording("retract", ORG, Arg("target", "version", VERSION), DATE, Opt("reason"))
def retract() -> None:
    """Retract an earlier event (a correction); it stays in the history, marked.

    Example:

        certledger retract cecomip 4 --date 2019-08-01 --reason "recorded for the wrong organization"
    """


@recording("correct", BARE_ORG, DATE, Opt("name", "The organization's name from this date on."),
           Opt("country", COUNTRY_HELP, "CC"), REGION, Opt("legal_form"), Opt("deposit"))
def correct() -> None:
    """Correct an organization's details from a date on (at least one detail).

    A typo is fixed by dating the correction on the registration date; a renaming is
    dated on the day of the renaming.

    Example:

        certledger correct cecomip --date 2020-03-01 --name "CECOMIP Ltda." --region Puno
    """


@recording("close-finding", BARE_ORG, Arg("finding"), DATE, Opt("evidence", "How the finding was resolved."))
def close_finding() -> None:
    """Close an audit finding, named V.N (audit version, finding position).

    V is the audit's version in history, N the finding's 1-based position in it.

    Example:

        certledger close-finding cecomip 4.1 --date 2016-09-30 --evidence "first aid kits restocked and checked"
    """


# ---------------------------------------------------------------- queries

@cli.command()
@click.argument("org", required=False, shell_complete=complete_org, callback=decodable)
@time_options
@list_options
def status(org: str | None, as_of: str | None, known_at: str | None, as_json: bool, as_csv: bool) -> None:
    """Status of one organization, or of all.

    Example:

        certledger status cecomip --as-of 2019-12-31
    """
    if org:
        result = session().status(org, as_of, known_at)
        echo_answer(result, as_json, as_csv, rendering.STATUS_CSV_COLUMNS, lambda: rendering.record(result),
                    csv_rows=[result])
        return
    with replay_progress(known_at):
        rows = session().views().registry(as_of, known_at=known_at)
    render_statuses(rows, as_json, as_csv)


def echo_answer(answer: Any, as_json: bool, as_csv: bool, csv_columns: tuple[str, ...], text: Callable[[], str],
                csv_rows: list[dict[str, Any]] | None = None) -> None:
    """Print a query's answer: as JSON, as CSV under the command's fixed header (its rows: ``csv_rows``, else
    the answer itself), or as ``text`` for a person."""
    if as_json:
        click.echo(rendering.to_json(answer))
    elif as_csv:
        click.echo(rendering.to_csv(answer if csv_rows is None else csv_rows, csv_columns))
    else:
        click.echo(text())


def render_statuses(rows: list[dict[str, Any]], as_json: bool, as_csv: bool,
                    columns: tuple[str, ...] = rendering.NARROW_STATUS_COLUMNS) -> None:
    echo_answer(rows, as_json, as_csv, rendering.STATUS_CSV_COLUMNS,
                lambda: rendering.status_table(rows, columns, wide=flag("wide")))


@cli.command()
@org_argument
@known_at_option
@list_options
def history(org: str, known_at: str | None, as_json: bool, as_csv: bool) -> None:
    """Every event of an organization in position order; retracted ones marked.

    The table leaves out who recorded each event and when (--wide, --json and --csv show them).

    Example:

        certledger history cecomip
    """
    entries = session().ledger(must_exist=True).history(org, known_at)
    render_events(entries, as_json, as_csv, with_org=False)


def render_events(entries: list[dict[str, Any]], as_json: bool, as_csv: bool, *, with_org: bool) -> None:
    def text() -> str:
        rows = [{**e, "details": _details(e["fields"]), "retracted": f"by v{e['retracted_by']}" if e["retracted"]
                 else ""} for e in entries]
        wide = flag("wide")
        recorded = ("recorded_at", "recorded_by") if wide else ()
        columns = ("position", *(("org",) if with_org else ()), "version", *recorded, "type", "date", "details",
                   "retracted")
        return rendering.table(rows, columns, wide=wide, shrink=("details", "org", "type"))

    echo_answer(entries, as_json, as_csv,
                rendering.CHANGES_CSV_COLUMNS if with_org else rendering.HISTORY_CSV_COLUMNS, text)


def _details(fields: dict[str, Any]) -> str:
    return ", ".join(f"{k}={rendering.cell(v)}" for k, v in fields.items() if v not in (None, [], ()))


# ---------------------------------------------------------------- registry queries (projections)

@cli.command()
@time_options
@list_options
def streaks(as_of: str | None, known_at: str | None, as_json: bool, as_csv: bool) -> None:
    """Certified streaks, longest first (ties: certified_since, then org).

    Lists the organizations with consecutive_years > 0 on the as-of date.

    Example:

        certledger streaks --as-of 2019-12-31
    """
    with replay_progress(known_at):
        rows = session().views().streaks(as_of, known_at)
    render_statuses(rows, as_json, as_csv, rendering.NARROW_STREAK_COLUMNS)


@cli.command()
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only organizations with this status (repeatable).")
@click.option("--country", metavar="CC", help="Only organizations of this country (ISO 3166-1 alpha-2).")
@click.option("--standard", type=click.Choice(STANDARDS), help="Only certificates of this standard.")
@click.option("--region", metavar="R", help="Only organizations of this region (letter case and accents aside).")
@click.option("--q", "q", metavar="TEXT",
              help="Only organizations whose id, name or a certificate number holds TEXT (case and accents aside).")
@click.option("--expiring-within", "expiring_within", type=click.IntRange(*DAYS), metavar="DAYS",
              help="Only certified organizations whose certificate ends within DAYS, with no renewal decided.")
@time_options
@list_options
def registry(statuses: tuple[str, ...], country: str | None, standard: str | None, region: str | None,
             q: str | None, expiring_within: int | None, as_of: str | None, known_at: str | None, as_json: bool,
             as_csv: bool) -> None:
    """Every organization registered by the as-of date, with its status.

    Filters combine: --status (repeatable), --country, --standard, --region, --q and
    --expiring-within.

    Example:

        certledger registry --as-of 2019-12-31 --status certified --country PE
    """
    with replay_progress(known_at):
        rows = session().registry(as_of, statuses, country, standard, known_at, region=region, q=q,
                                  expiring_within=expiring_within)
    render_statuses(rows, as_json, as_csv)


@cli.command()
@click.argument("org", callback=decodable)
@click.option("--open", "only_open", is_flag=True, help="Only the findings not closed on the as-of date.")
@time_options
@json_option
@csv_option
def findings(org: str, only_open: bool, as_of: str | None, known_at: str | None, as_json: bool,
             as_csv: bool) -> None:
    """An organization's audit findings, with their ids and closures.

    Example:

        certledger findings cecomip --open --as-of 2019-12-31
    """
    rows = session().findings(org, only_open, as_of, known_at)
    columns = rendering.FINDINGS_CSV_COLUMNS  # the table shows every field, as the CSV does
    echo_answer(rows, as_json, as_csv, columns, lambda: rendering.table(rows, columns, max_width=60))


@cli.command()
@click.argument("number", metavar="NUMBER")
@time_options
@json_option
def certificate(number: str, as_of: str | None, known_at: str | None, as_json: bool) -> None:
    """A certificate's state on the as-of date, and the period behind it.

    The state is valid, suspended, withdrawn, superseded, expired or not-yet-valid.

    Example:

        certledger certificate FM-PE-2016-01 --as-of 2019-12-31
    """
    answer = session().certificate(number, as_of, known_at)
    click.echo(rendering.to_json(answer) if as_json else rendering.record(answer))


@cli.command()
@click.option("--year", type=click.IntRange(*YEARS), help="The calendar year (1 January to 31 December).")
@click.option("--from", "start", metavar="DATE", help="First day of the period (with --to).")
@click.option("--to", "end", metavar="DATE", help="Last day of the period (with --from).")
@known_at_option
@list_options
def report(year: int | None, start: str | None, end: str | None, known_at: str | None, as_json: bool,
           as_csv: bool) -> None:
    """What happened in a year or period, as the scheme's yearly news tells it.

    Certified at the end, grants, renewals (with their streak), denials, suspensions,
    withdrawals and expiries. --csv prints one row per listed item, its list named in the
    `section` column.

    Example:

        certledger report --year 2019
    """
    if year is not None and (start or end):
        raise click.UsageError("give either --year or --from and --to, not both")
    if year is None and not (start and end):
        raise click.UsageError(REPORT_NEEDS_A_PERIOD)
    if year is None:
        check_period_order(start, end)
    views = session().views()
    with replay_progress(known_at):
        result = views.year_report(year, known_at) if year is not None else views.report(start, end, known_at)
    echo_answer(result, as_json, as_csv, rendering.REPORT_CSV_COLUMNS, lambda: render_report(result, flag("wide")),
                csv_rows=rendering.report_csv_rows(result))


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


def render_report(result: dict[str, Any], wide: bool = False) -> str:
    certified = ", ".join(result["certified"])
    lines = [f"Report {result['from']} to {result['to']}",
             f"Certified at the end: {result['certified_at_end']}" + (f" ({certified})" if certified else "")]
    for key, title, columns in REPORT_SECTIONS:
        rows = result[key]
        lines += ["", f"{title}: {len(rows)}"]
        if rows:
            lines.append(rendering.table(rows, columns, {"consecutive_years": "years"}, wide=wide,
                                         shrink=("reason", "org")))
    return "\n".join(lines)


@cli.command()
@click.option("--since", type=click.IntRange(*POSITIONS), default=0, show_default=True, metavar="POSITION",
              help="Only events at positions after this one.")
@click.option("--limit", type=click.IntRange(*POSITIONS), default=100, show_default=True, metavar="N",
              help="At most this many events.")
@known_at_option
@list_options
def changes(since: int, limit: int, known_at: str | None, as_json: bool, as_csv: bool) -> None:
    """The event feed: every event after a position, in position order.

    Example:

        certledger changes --since 30 --limit 10
    """
    with replay_progress(known_at):
        entries = session().changes(since, limit, known_at)
    render_events(entries, as_json, as_csv, with_org=True)


@cli.command()
def rebuild() -> None:
    """Drop every projection and replay the whole log into it.

    Example:

        certledger rebuild
    """
    views = session().views()
    with progress("Rebuilding the projections") as advance:
        views.on_replay = advance
        summary = views.rebuild()
    click.echo(str(summary))


# ---------------------------------------------------------------- data in and out (import, export)

@cli.command("import")
@click.argument("source", metavar="FILE|-", type=click.Path(dir_okay=False, allow_dash=True), callback=a_path)
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="jsonl or csv (default: by the file's extension, .csv or .jsonl; else by its first line: a "
                   "CSV header naming a command column means csv).")
@click.option("--check", is_flag=True,
              help="Only check every line against the ledger; list the bad ones (the first 100); write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@json_option
def import_(source: str, fmt: str | None, check: bool, quiet: bool, as_json: bool) -> None:
    """Import a JSON Lines or CSV file of commands: all or nothing, never twice.

    A bad line rejects the whole file (nothing is written); lines already in the
    ledger are skipped, so importing a file twice records it once. --check decides
    every line without writing anything and lists every bad one (exit 1 if any).

    Example:

        certledger import examples/fairmined-history.jsonl
    """
    s = session()
    try:
        with import_progress(source, quiet) as progress:
            summary = s.import_file(source, fmt=fmt, check=check, progress=progress)
        if summary.recorded and not check:
            keep_views_up(s, summary.last_position)
    except Interrupted:
        raise Stopped("interrupted: nothing was imported (an import is all or nothing; run it again)") from None
    except KeyboardInterrupt:
        raise Stopped("interrupted while the import was being committed: it may have been recorded; run it "
                      "again to be sure (lines already recorded are skipped)") from None
    if as_json:
        click.echo(rendering.to_json(summary.as_dict()))
    if check and summary.error_count:
        if not as_json:
            for error in summary.errors:
                click.echo(f"  {one_line(error)}", err=True)
        more = f" (the first {len(summary.errors)} are listed)" if summary.error_count > len(summary.errors) else ""
        lines = "line" if summary.error_count == 1 else "lines"
        raise click.ClickException(one_line(f"{summary.source}: {summary.error_count} bad {lines}{more}; "
                                            "nothing was written"))
    if not as_json:
        click.echo(summary.describe())


@contextmanager
def import_progress(source: str, quiet: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar over the bytes read, on a terminal only; None when piped, from stdin or quiet."""
    if quiet or source == "-" or not stderr_is_terminal():
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
@click.argument("target", metavar="[FILE|-]", default="-",
                type=click.Path(dir_okay=False, allow_dash=True, readable=False), callback=a_path)
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="jsonl or csv (default: csv for a .csv file, else jsonl).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def export_(target: str, fmt: str | None, force: bool) -> None:
    """Export every event in position order, in the import format.

    Each line also carries read-only metadata (position, version, recorded_at,
    recorded_by). Importing the export into an empty ledger gives the same answer to every
    --as-of query; importing it into the ledger it came from records nothing.

    Example:

        certledger export ledger-backup.jsonl
    """
    from ledger.transfer import export

    ledger = session().ledger(must_exist=True)
    try:
        with progress("Exporting") as advance:
            count = export.export_file(ledger, target, fmt=fmt, replace=force, progress=advance)
    except BrokenPipeError:
        stop_writing_to_closed_pipe()
        raise click.exceptions.Exit(1) from None
    if target != "-":
        click.echo(f"Exported {count} events to {target}")



# ---------------------------------------------------------------- integrity (verify, head, keygen)

@cli.command()
@click.option("--head", "head_file", metavar="FILE", callback=a_path,
              help="A head written earlier: prove the ledger still extends it.")
@click.option("--public-key", metavar="FILE", callback=a_path,
              help="Check the head's Ed25519 signature with this PEM public key.")
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
    with progress_bars() as bars:
        result = session().verify(published, chain_progress=bars and bars.step("Checking the hash chain"),
                                  views_progress=bars and bars.step("Comparing the projections"))
    if not result.ok:
        for line in result.problems:
            click.echo(f"  {line}", err=True)
        raise IntegrityFailure(result.failure())
    click.echo(result.summary())


@cli.command()
@click.option("--out", metavar="FILE", callback=a_path, help="Write the head to FILE instead of standard output.")
@click.option("--force", is_flag=True, help="Replace the --out FILE if it exists.")
@click.option("--sign-key", metavar="FILE", callback=a_path,
              help="Sign the head with this Ed25519 PEM private key.")
def head(out: str | None, force: bool, sign_key: str | None) -> None:
    """Print the chain head (seq, hash, recorded_at) as JSON, optionally signed.

    The chain is verified first: a head is never written for a broken chain. Keep or publish
    the head; `verify --head` later proves the ledger still extends it.

    Example:

        certledger head --out head-2024-06-30.json --sign-key scheme-private.pem
    """
    from ledger.integrity import heads
    from ledger.transfer.files import refuse_existing, write_whole

    if force and out is None:
        raise click.UsageError("--force replaces the --out FILE: give --out FILE too")
    key = heads.load_private_key(sign_key) if sign_key else None
    s = session()
    s.ledger(must_exist=True)
    if out is not None and not force:
        refuse_existing(out)
    current = s.head()
    text = heads.head_json(current, key)
    if out is None:
        click.echo(text, nl=False)
        return
    write_whole(out, lambda handle: handle.write(text), replace=force)
    click.echo(f"Wrote head seq {current.seq} to {out}")


@cli.command()
@click.option("--out-private", required=True, metavar="FILE", callback=a_path,
              help="Where to write the private key (PEM).")
@click.option("--out-public", required=True, metavar="FILE", callback=a_path,
              help="Where to write the public key (PEM).")
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

INTERVAL_MAX = 86_400.0  # a day: longer, a follower would look asleep (and past it, a timer overflows)


def finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A range lets NaN through (no comparison with it is true): a NaN interval would poll without pause."""
    if value != value:
        raise click.BadParameter(f"{value} is not a number of seconds.", ctx, param)
    return value


@cli.command()
@click.option("--interval", type=click.FloatRange(min=0.05, max=INTERVAL_MAX), default=1.0, show_default=True,
              metavar="SECONDS", callback=finite,
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
    from ledger.application import CertificationLedger, creation
    from ledger.transfer.copying import copy_ledger

    source = session().ledger(must_exist=True)
    with progress("Copying") as advance:
        def copy_into(destination: CertificationLedger) -> Any:
            return copy_ledger(source, destination, progress=advance)

        if creation.exists(target):
            destination = CertificationLedger(target)
            try:
                report = copy_into(destination)
            finally:
                destination.close()
        else:  # an SQLite file that appears only once the copy is complete
            report, created = creation.first_write(target, copy_into, lambda report: report.events > 0)
            if created is not None:
                created.close()
    head = report.head.entry_hash.hex()[:16] if report.head else "-"
    click.echo(f"Copied {report.events} events (up to position {report.last_position}) from "
               f"{describe(source.db)} to {describe(target)}; chain head {head} matches the source")


# ---------------------------------------------------------------- accounts (who may record over HTTP)

@cli.group()
def accounts() -> None:
    """Accounts that may record over HTTP: add, list, revoke.

    Every grant and revocation is an event in the ledger's hash chain.

    Example:

        certledger accounts add imo-swiss --role body --org cecomip --org oro-puno
    """


@accounts.command("add")
@click.argument("name", callback=decodable)
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="office: every command; body: audit and close-finding for its --org; reader: nothing.")
@click.option("--org", "orgs", multiple=True, metavar="ORG", help="An organization a body audits (repeatable).")
@json_option
def accounts_add(name: str, role: str, orgs: tuple[str, ...], as_json: bool) -> None:
    """Open an account and print its token, once: it is stored only as a salted hash.

    Example:

        certledger accounts add registry-office --role office
    """
    if orgs and role != "body":
        raise click.UsageError("--org is for accounts with the body role")
    opened = session().open_account(name, role, orgs)
    if as_json:
        click.echo(rendering.to_json({k: opened[k] for k in ("name", "role", "orgs", "token")}))
    else:
        click.echo(f"Opened account {name} ({role}{': ' + ', '.join(opened['orgs']) if opened['orgs'] else ''}) "
                   f"at position {opened['position']}. Its token, shown only now:")
        click.echo(opened["token"])


@accounts.command("list")
@json_option
@csv_option
def accounts_list(as_json: bool, as_csv: bool) -> None:
    """Every account: role, organizations, who opened it and when, whether revoked.

    Example:

        certledger accounts list
    """
    rows = session().accounts()
    echo_answer(rows, as_json, as_csv, rendering.ACCOUNTS_CSV_COLUMNS,
                lambda: rendering.table(rows, rendering.ACCOUNTS_CSV_COLUMNS))


@accounts.command("revoke")
@click.argument("name")
def accounts_revoke(name: str) -> None:
    """Revoke an account: its token is refused from the next request on.

    Example:

        certledger accounts revoke imo-swiss
    """
    result = session().revoke_account(name)
    click.echo(f"Revoked account {name} at position {result.position}")



# ---------------------------------------------------------------- the public registry (serve)

def an_address(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An empty host would bind every interface without saying so."""
    if not value.strip():
        raise click.BadParameter("give an address to listen on (0.0.0.0: every interface), not an empty one")
    return value


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, callback=an_address,
              help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (each answers one question at a time).")
@click.option("--sign-key", metavar="FILE", callback=a_path,
              help="Sign the head that /api/head serves with this Ed25519 PEM key.")
@click.option("--private", is_flag=True,
              help="Every request, reads included, needs an account's token (a reader's is enough).")
def serve(host: str, port: int, workers: int, sign_key: str | None, private: bool) -> None:
    """Serve the registry: web pages, a JSON API, and recording for accounts.

    Every answer reflects every event committed before its request arrived, and names the
    ledger position it used (X-Ledger-Position). Reading is public unless --private;
    accounts record with POST /api/commands. See docs/http.md.

    Example:

        certledger serve --port 8080 --workers 4
    """
    from web.serving import serve as run

    run(session(), host=host, port=port, workers=workers, sign_key=sign_key, private=private, announce=click.echo)


def main() -> None:
    utf8_output()
    cli.main(prog_name="certledger")


def utf8_output() -> None:
    """Output is UTF-8 whatever the locale says: ``export`` and ``--json`` / ``--csv`` are read back as UTF-8
    (``import``, JSON's own rule), and a table in another encoding would stop at the first name it cannot
    write (``PYTHONIOENCODING=ascii``), leaving half a backup or half a table."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("_", "-")
        if encoding not in ("utf-8", "utf8") and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
