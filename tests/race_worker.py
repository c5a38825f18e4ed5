"""One writer process for the concurrency tests.

Usage: python race_worker.py DB START_EPOCH COMMANDS_JSON [service]
Opens the ledger, waits for the common start instant, records each command, and prints one
JSON line per command: {"position", "version"} or {"error", "message"}. With ``service``, records
as the command line and the web do (``LedgerService.record``: the views kept in each recording's
transaction); otherwise through the Python API, which leaves the views behind.
"""

import json
import sys
import time

from ledger.application import CertificationLedger
from ledger.errors import LedgerError
from service import LedgerService


def main() -> None:
    db, start, commands = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
    through_service = sys.argv[4:] == ["service"]
    ledger = CertificationLedger(db)
    service = LedgerService(db, by="racer") if through_service else None
    if service is not None:
        service.views().catch_up()  # opened before the start, like the ledger
    time.sleep(max(0.0, start - time.time()))
    for command in commands:
        try:
            recorded = service.record(command) if service is not None else ledger.record(command)
            print(json.dumps({"position": recorded.position, "version": recorded.version}), flush=True)
        except LedgerError as error:
            print(json.dumps({"error": type(error).__name__, "message": str(error)}), flush=True)
    ledger.close()
    if service is not None:
        service.close()


if __name__ == "__main__":
    main()
