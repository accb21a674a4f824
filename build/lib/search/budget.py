"""The clock and the exception of search time budgets.

Every deadline of a search (ranking in the whoosh engine's ranking.topk
and ranking.scorer, phrase matching in ranking.phrases) is read on this
one clock.
"""

from __future__ import annotations

import time

# The searching thread's CPU time, so that a search waiting for the
# processor (a busy server, other threads holding the GIL) does not count
# as an expensive one.
clock = time.thread_time


class TimeUp(Exception):
    """The search ran past its deadline."""
