"""One writer process for the concurrency tests.

Usage: python race_worker.py DB START_EPOCH COMMANDS_JSON
Opens the ledger, waits for the common start instant, records each command, and prints one
JSON line per command: {"position", "version"} or {"error", "message"}.
"""

import json
import sys
import time

from ledger.application import CertificationLedger
from ledger.errors import LedgerError


def main() -> None:
    db, start, commands = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
    ledger = CertificationLedger(db)
    time.sleep(max(0.0, start - time.time()))
    for command in commands:
        try:
            recorded = ledger.record(command)
            print(json.dumps({"position": recorded.position, "version": recorded.version}), flush=True)
        except LedgerError as error:
            print(json.dumps({"error": type(error).__name__, "message": str(error)}), flush=True)
    ledger.close()


if __name__ == "__main__":
    main()
