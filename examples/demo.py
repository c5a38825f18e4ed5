"""`make demo`: build a fresh embedded ledger from the 2019 example and ask it history questions.

Prints a transcript: each command after a `$`, then its real output.
"""

from __future__ import annotations

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

STEPS = [
    "import examples/fairmined-2019.jsonl",
    "status --as-of 2019-12-31",
    "streaks --as-of 2019-12-31",
    "report --year 2019",
    "history oro-puno",
    "status cecomip --as-of 2017-12-31",
    "registry --as-of 2016-12-31 --status certified",
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
        run(step)


if __name__ == "__main__":
    main()
