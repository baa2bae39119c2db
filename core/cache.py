"""Each measurement of a set of model bytes is made once per process (the engine lives as long as
the window, so: once per session). Keyed by the bytes' SHA-256, the measurement's options and the
runtime's version; bounded, least recently used first out.

Results are shared: callers must not change them.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from functools import lru_cache

LIMIT = 512
_entries: OrderedDict = OrderedDict()
stats: Counter = Counter()  # "<kind> hit" / "<kind> miss": read by bench/measure_cache.py


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=None)
def runtime_version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _key(kind, data, options, runtime):
    return kind, digest(data), options, runtime_version(runtime) if runtime else ""


def peek(kind: str, data: bytes, options: tuple, runtime: str = ""):
    """The stored value, or None when this measurement was not made yet."""
    return _entries.get(_key(kind, data, options, runtime))


def once(kind: str, data: bytes, options: tuple, compute, runtime: str = ""):
    """`compute()` the first time (kind, bytes, options, runtime version) is seen; the stored value after."""
    key = _key(kind, data, options, runtime)
    if key in _entries:
        _entries.move_to_end(key)
        stats[f"{kind} hit"] += 1
        return _entries[key]
    stats[f"{kind} miss"] += 1
    value = compute()
    _entries[key] = value
    while len(_entries) > LIMIT:
        _entries.popitem(last=False)
    return value


def clear() -> None:
    _entries.clear()
    stats.clear()
