"""How a harvest process uses Python's garbage collector (see `spare_the_collector`)."""

from __future__ import annotations

import gc

YOUNG_OBJECTS_COLLECTED = 20_000  # new objects (net) between two passes of the collector (Python's default: 700)


def spare_the_collector() -> None:
    """Leave what this process has set up so far (its modules, models, engine, backends) out of the garbage
    collector's passes: a harvest allocates objects by the million, and each full pass would walk all of those
    again (a third of a large harvest's CPU, and pauses that stall its helper processes). Young objects are
    collected less often too: a batch holds some ten thousand for a moment, which passes every 700 would walk
    again and again (memory stays bounded: cycles are still collected, every YOUNG_OBJECTS_COLLECTED). Once,
    where a process starts its work: what is alive then is never collected, so only what the setup keeps."""
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS_COLLECTED, *gc.get_threshold()[1:])
