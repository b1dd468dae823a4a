"""The daemon of the kill test, as ``proud run`` starts it, with ``.<suffix>`` on its consumer groups.

    python -m tests.billing.runs.run_daemon GROUP_SUFFIX

Settings come from the PROUD_* environment. Kafka is shared with other tests and sessions: groups of the
test's own (started at the topics' ends by the test) see exactly the test's messages.
"""

from __future__ import annotations

import asyncio
import sys

from gateway.config import load_settings
from gateway.subscriptions import builtin_subscriptions
from tests.isolated_daemon import IsolatedDaemon


async def main(suffix: str) -> None:
    settings = load_settings()
    daemon = IsolatedDaemon(settings, subscriptions=builtin_subscriptions(settings), group_suffix=suffix)
    try:
        await daemon.run_until_signalled()
    except Exception:
        await daemon.stop()
        raise


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
