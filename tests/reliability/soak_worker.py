"""One soak writer: a seeded stream of legal and illegal recording commands against one ledger.

    python soak_worker.py DB SEED COUNT ORGS LOG

Runs each command through the real command line (click's runner, in this process) and appends
one JSON line per command to LOG: the arguments, the exit code, stdout and stderr. An exit 0
with ``--json`` output is an acknowledgement: the event, its position and its version.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, timedelta

from click.testing import CliRunner

from cli import cli

FIRST_DAY = date(2015, 1, 1)
SPAN_DAYS = 365 * 10


def some_day(rng: random.Random) -> str:
    return (FIRST_DAY + timedelta(days=rng.randrange(SPAN_DAYS))).isoformat()


def org_name(rng: random.Random, orgs: int) -> str:
    return f"org-{rng.randrange(orgs):02d}"


def illegal_value(rng: random.Random) -> list[str]:
    """A command that is refused whatever the ledger holds."""
    org = f"org-{rng.randrange(5):02d}"
    return rng.choice([
        ["audit", org, "--date", "2023-02-29", "--body", "B", "--kind", "initial"],
        ["audit", org, "--date", "2999-01-01", "--body", "B", "--kind", "initial"],
        ["deny", "Bad Org", "--date", "2019-01-01", "--reason-category", "other", "--reason", "r"],
        ["suspend", org, "--date", "2019-01-01", "--reason", "   "],
        ["suspend", "ghost-org", "--date", "2019-01-01", "--reason", "r"],
        ["register", org, "--name", "x" * 501, "--country", "PE", "--date", "2015-01-01"],
        ["register", "org-new", "--name", "New", "--country", "pe", "--date", "2015-01-01"],
        ["certify", org, "--date", "2019-01-01", "--standard", "platinum"],
        ["retract", org, "1", "--date", "2019-01-01", "--reason", "the registration cannot be retracted"],
    ])


def random_command(rng: random.Random, orgs: int) -> list[str]:
    org = org_name(rng, orgs)
    day = some_day(rng)
    kind = rng.choices(
        ["register", "audit", "certify", "recertify", "deny", "suspend", "reinstate", "extend", "withdraw",
         "retract", "illegal"],
        weights=[6, 6, 14, 14, 5, 8, 8, 6, 5, 4, 10])[0]
    if kind == "register":
        start = FIRST_DAY + timedelta(days=rng.randrange(90))
        return ["register", org, "--name", f"Cooperativa {org}", "--country", rng.choice(["PE", "BO", "CO"]),
                "--date", start.isoformat()]
    if kind == "audit":
        return ["audit", org, "--date", day, "--body", "IMO Swiss AG", "--kind", "surveillance"]
    if kind == "certify":
        args = ["certify", org, "--date", day, "--standard", rng.choice(["fairmined", "ecological"])]
        if rng.random() < 0.5:
            args += ["--certificate", f"FM-{rng.randrange(400):04d}"]
        return args
    if kind == "recertify":
        return ["recertify", org, "--date", day]
    if kind == "deny":
        return ["deny", org, "--date", day, "--reason-category", "commercial", "--reason", "requirements not met"]
    if kind == "suspend":
        return ["suspend", org, "--date", day, "--reason", "traceability records missing"]
    if kind == "reinstate":
        return ["reinstate", org, "--date", day]
    if kind == "extend":
        until = (date.fromisoformat(day) + timedelta(days=rng.randrange(60, 500))).isoformat()
        return ["extend", org, "--date", day, "--until", until, "--reason", "operations halted"]
    if kind == "withdraw":
        return ["withdraw", org, "--date", day, rng.choice(["--voluntary", "--imposed"]), "--reason", "internal"]
    if kind == "retract":
        return ["retract", org, str(rng.randrange(2, 9)), "--date", day, "--reason", "recorded in error"]
    return illegal_value(rng)


def main(db: str, seed: int, count: int, orgs: int, log_path: str) -> None:
    rng = random.Random(seed)
    runner = CliRunner()
    with open(log_path, "w", encoding="utf-8") as log:
        for _ in range(count):
            args = random_command(rng, orgs)
            result = runner.invoke(cli, ["--db", db, "--by", f"writer-{seed}", *args, "--json"])
            log.write(json.dumps({"args": args, "exit": result.exit_code, "stdout": result.stdout,
                                  "stderr": result.stderr,
                                  "exception": None if result.exception is None or isinstance(result.exception, SystemExit)
                                  else repr(result.exception)}) + "\n")
            log.flush()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
