"""Retry policy: capped exponential backoff with full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass

from gateway import limits


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts_max: int = 5
    delay_s_initial: float = 0.2
    delay_s_max: float = 10.0

    def __post_init__(self) -> None:
        assert 1 <= self.attempts_max <= limits.RETRY_ATTEMPTS_MAX
        assert 0 < self.delay_s_initial <= self.delay_s_max <= limits.RETRY_DELAY_S_MAX

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before attempt ``attempt + 1`` (attempts count from 1).

        Jitter (a uniform draw between half the exponential cap and the cap) spreads the retries of many
        consumers that failed together, e.g. when a partner came back up, instead of sending them back in
        lock step.
        """
        assert attempt >= 1
        ceiling = min(self.delay_s_max, self.delay_s_initial * (2 ** (attempt - 1)))
        draw: float = (rng or random).uniform(0.5, 1.0)
        return float(ceiling * draw)
