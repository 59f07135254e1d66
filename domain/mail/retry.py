"""When a failed mail is tried again, how long a claim lasts and when a mail is given up."""

from __future__ import annotations

from dataclasses import dataclass

DAY_S = 24 * 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    """The sender's timing. Defaults: retries after 30 s, doubling to at most 1 h (30 s, 1, 2, 4, 8, 16, 32 min,
    then hourly, each ±10 %), given up 24 h after the mail was written; a claim lasts 5 min, one send at
    most 30 s. Tests shorten them through ``settings.extra`` (``delete_api/mail.py``)."""

    first_retry_s: float = 30.0
    max_retry_s: float = 3600.0
    give_up_s: float = DAY_S
    lease_s: float = 300.0
    send_timeout_s: float = 30.0
    poll_s: float = 1.0
    batch: int = 20
    keep_s: float = 30 * DAY_S
    prune_every_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.lease_s <= self.send_timeout_s:
            raise ValueError("a claim's lease must outlast one send (lease_s > send_timeout_s)")
        if self.batch < 1 or self.poll_s <= 0 or self.first_retry_s <= 0:
            raise ValueError("batch, poll_s and first_retry_s must be positive")

    @property
    def send_window_s(self) -> float:
        """Lease time that must be left to start a send: the send's timeout, plus room to record the outcome
        (half the rest of the lease, at most 30 s) before any other node may take the row."""
        return self.send_timeout_s + min(30.0, (self.lease_s - self.send_timeout_s) / 2)

    def retry_in_s(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones (1, 2, …), before jitter."""
        return min(self.first_retry_s * 2.0 ** min(attempts - 1, 32), self.max_retry_s)
