"""Keep the garbage collector's full passes short in a long-running console.

Why: a console holds a large, long-lived heap (Textual, Rich, the screens, the status
document), and CPython's oldest-generation collection walks all of it. Measured in the
console benchmark (13 000 events/s, 10 consoles on 2 cores): each full pass paused a console
for 130–360 ms, three times in half a minute — the whole of the event→screen latency tail.
Once the console has painted its first live screen, the objects alive then (modules,
widgets, styles, the first document) are moved to the permanent generation with
:func:`gc.freeze`, and once more ten seconds later (the screens and caches the operator
opened first); later full passes only walk what was created since (1–28 ms measured,
against 55–135 ms with the first freeze alone). ``ccops serve`` does the same once when it
has started (its full passes were ~200 ms; 1–36 ms after). Garbage cycles are still
collected; what is frozen is what the process keeps for its lifetime anyway — at worst a
few cycles that were already garbage at that moment stay, once.
"""

from __future__ import annotations

import gc


def settle_heap() -> int:
    """Collect the young generations, then freeze everything still alive; returns how many
    objects are now frozen (for tests and diagnostics)."""
    gc.collect(1)
    gc.freeze()
    return gc.get_freeze_count()
