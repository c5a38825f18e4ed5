"""`make demo`: load the public history into a fresh embedded ledger and tell the 2019 article's story.

The 2019 news of the Peruvian recertifications (Oro Puno, CECOMIP) counted "a total of 8 mining
organizations with Fairmined Certification"; examples/README.md explains the day taken for it.
Prints a transcript: each command after a `$`, then its real output.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "demo"
DB = DEMO_DIR / "certledger.db"
CERTLEDGER = str(Path(sys.executable).with_name("certledger"))

ARTICLE_DATE = "2019-07-01"  # the 2019 article's day, as picked in examples/README.md

STEPS = [
    "import examples/fairmined-history.jsonl",
    "# The 2019 news: with the recertification of Oro Puno and CECOMIP there is",
    '# "a total of 8 mining organizations with Fairmined Certification".',
    f"registry --as-of {ARTICLE_DATE} --status certified",
    '# Oro Puno: Ecological Gold "for the second consecutive year".',
    f"status oro-puno --as-of {ARTICLE_DATE}",
    '# CECOMIP: certified in 2016; in 2019 "recertification for the third consecutive year".',
    f"status cecomip --as-of {ARTICLE_DATE}",
    "# Not recertified in 2019: Aurífera Yani (commercial requirements), XAMODX (health and",
    "# safety); La Cascada decided not to continue. San Luis was told in November.",
    "report --year 2019",
    "# San Luis: the certificate expired on 31 March 2020.",
    "status san-luis --as-of 2020-03-31",
    "status san-luis --as-of 2020-04-01",
    '# CECOMIP in February 2022: certified "six years in a row", Ecological Gold since August 2021.',
    "status cecomip --as-of 2022-02-28",
    "# COODMILLA: one page says 2016, the scheme's news 16 January 2017. The 2016 reading was",
    "# recorded, then retracted, then the 2017 grant recorded: the history keeps both.",
    "history coodmilla",
    "# What the ledger said about mid-2016 before the retraction, and what it says now.",
    "status coodmilla --as-of 2016-06-30 --known-at {before_retraction}",
    "status coodmilla --as-of 2016-06-30",
    "verify",
]


def run(step: str) -> None:
    args = shlex.split(step)
    print(f"$ certledger {step}", flush=True)
    completed = subprocess.run([CERTLEDGER, "--db", str(DB), *args], cwd=ROOT, text=True,
                               capture_output=True, env={**os.environ, "CERTLEDGER_USER": "registry-office"})
    output = (completed.stdout + completed.stderr).rstrip()
    if output:
        print(output)
    print(flush=True)
    if completed.returncode != 0:
        raise SystemExit(f"demo step failed (exit {completed.returncode}): certledger {step}")


def main() -> None:
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir()
    print(f"# A fresh ledger in {DB.relative_to(ROOT)}\n")
    for step in STEPS:
        if step.startswith("#"):
            print(step)
            continue
        if "{before_retraction}" in step:
            step = step.format(before_retraction=position_before_retraction("coodmilla"))
        run(step)


def position_before_retraction(org: str) -> int:
    """The last ledger position before ``org``'s first retraction, as the ledger's history gives it."""
    completed = subprocess.run([CERTLEDGER, "--db", str(DB), "history", org, "--json"], cwd=ROOT, text=True,
                               capture_output=True, check=True)
    retraction = next(e for e in json.loads(completed.stdout) if e["type"] == "EntryRetracted")
    return retraction["position"] - 1


if __name__ == "__main__":
    main()
