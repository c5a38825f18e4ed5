"""The follower: a real process that keeps the views current and stops cleanly on a signal."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from ledger.application import CertificationLedger
from projections import Views

CERTLEDGER = str(Path(sys.executable).with_name("certledger"))


def wait_for(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_follower_applies_new_events_and_stops_cleanly_on_sigterm(ledger: CertificationLedger, db_url: str) -> None:
    ledger.register("cecomip", name="CECOMIP", country="PE", date="2016-01-10")
    views = Views(ledger.log)
    follower = subprocess.Popen([CERTLEDGER, "--db", db_url, "follow", "--interval", "0.1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: views.store.tracked_position() >= 1), "the follower never caught up"
        ledger.certify("cecomip", date="2016-06-15", standard="fairmined")
        recorded = ledger.recertify("cecomip", date="2017-06-01")
        assert wait_for(lambda: views.store.tracked_position() >= recorded.position), \
            "the follower did not apply events recorded after it started"
    finally:
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    assert "Traceback" not in err
    assert f"Stopped at position {recorded.position}" in err


def test_follower_resumes_from_the_tracked_position(ledger: CertificationLedger, db_url: str) -> None:
    ledger.register("oro-puno", name="Oro Puno", country="PE", date="2017-01-10")
    assert Views(ledger.log).catch_up() == 1
    ledger.certify("oro-puno", date="2018-04-20", standard="ecological")
    views = Views(ledger.log)
    follower = subprocess.Popen([CERTLEDGER, "--db", db_url, "follow", "--interval", "0.1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: views.store.tracked_position() >= 2), "the follower never caught up"
    time.sleep(0.2)
    follower.send_signal(signal.SIGINT)
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    assert "Following" in err and "from position 1" in err
    assert "Stopped at position 2 (1 events applied)" in err
