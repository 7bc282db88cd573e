"""Moodle's messaging as delivery sees it, recording every delivery (in memory or in a file).

`FakeMoodle` behaves like core_message_send_instant_messages + the read-back calls: it delivers
every send (it never deduplicates `clientmsgid`, as Moodle does not), refuses recipients whose
preferences forbid messages with `msgid: -1`, and can fail transiently on demand — before
delivering (a refused connection) or after (a timeout while Moodle had already stored it).
`FileMoodle` keeps its deliveries in a JSON-lines file, so a killed process's sends survive.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime
from pathlib import Path

from middleware.mentoring.delivery import DeliveryError, Sent, reference_pattern

BLOCKED = ("You can't message {name} due to their message preferences. "
           "Try adding them as a contact.")


class FakeMoodle:
    def __init__(self) -> None:
        self.deliveries: list[dict] = []
        self.blocked: set[int] = set()
        self.failures: list[str] = []  # "before" | "after" | "error", consumed one per send
        self.read_failures = 0
        self.sends = 0
        self.reads = 0

    # --- what tests inspect ----------------------------------------------------------------

    def _load(self) -> list[dict]:
        return self.deliveries

    def _store(self, delivery: dict) -> None:
        self.deliveries.append(delivery)

    def delivered(self) -> list[dict]:
        return self._load()

    def count_by_reference(self) -> Counter[str]:
        return Counter(d["clientmsgid"] for d in self.delivered())

    # --- Messaging -------------------------------------------------------------------------

    def send(self, touserid: int, text: str, clientmsgid: str) -> Sent:
        self.sends += 1
        failure = self.failures.pop(0) if self.failures else None
        if failure == "before":
            raise DeliveryError("connection failed", code="unavailable")
        if failure == "error":
            raise DeliveryError("invalidtoken", code="invalidtoken", definite=True)
        if touserid in self.blocked:
            return Sent(-1, BLOCKED.format(name=f"user {touserid}"))
        if len(text.encode()) > 4096:
            return Sent(-1, "The message is too long.")
        msgid = len(self.delivered()) + 1
        self._store({"msgid": msgid, "touserid": touserid, "text": text,
                     "clientmsgid": clientmsgid})
        if failure == "after":
            raise DeliveryError("timed out (after 1 attempts)", code="unavailable")
        return Sent(msgid, "", 100 + touserid)

    def find(self, touserid: int, reference: str, since: datetime) -> int | None:
        self.reads += 1
        if self.read_failures:
            self.read_failures -= 1
            raise DeliveryError("read-back failed: timed out", code="unavailable")
        pattern = reference_pattern(reference)
        for delivery in reversed(self.delivered()):
            if delivery["touserid"] == touserid and pattern.search(delivery["text"]):
                return delivery["msgid"]
        return None


class FileMoodle(FakeMoodle):
    """Deliveries written to disk (fsync'ed) before the send returns, as a real server would."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)

    def _load(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def _store(self, delivery: dict) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(delivery) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
