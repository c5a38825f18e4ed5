"""A writer beside the server for the concurrency test: records commands at a steady pace.

Usage: python paced_writer.py DB INTERVAL_SECONDS COMMANDS_JSON
Prints one JSON line per command once it is committed: {"position"} or {"error", "message"}.
"""

import json
import sys
import time

from ledger.application import CertificationLedger
from ledger.errors import LedgerError


def main() -> None:
    db, interval, commands = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
    ledger = CertificationLedger(db)
    for command in commands:
        try:
            recorded = ledger.record(command, by="writer")
            print(json.dumps({"position": recorded.position}), flush=True)
        except LedgerError as error:
            print(json.dumps({"error": type(error).__name__, "message": str(error)}), flush=True)
        time.sleep(interval)
    ledger.close()


if __name__ == "__main__":
    main()
