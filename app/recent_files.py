"""Recently opened models, kept in QSettings as one JSON string.

QSettings (INI format, and some native back ends) gives a one-entry list back as a plain string;
iterating it split the path into one-character entries. A JSON string round-trips exactly.
"""

from __future__ import annotations

import json

KEY = "recent_models"  # not under "recent/": removing the legacy key would remove it too
LEGACY_KEY = "recent"
LIMIT = 8


def read(settings) -> list[str]:
    """The recent paths, newest first, whatever an earlier version stored."""
    raw = settings.value(KEY)
    paths = []
    if isinstance(raw, str):
        try:
            loaded = json.loads(raw)
        except ValueError:
            loaded = []
        paths = loaded if isinstance(loaded, list) else []
    elif raw is None:
        legacy = settings.value(LEGACY_KEY)
        paths = [legacy] if isinstance(legacy, str) else list(legacy or [])
    unique = []
    for p in paths:
        if isinstance(p, str) and p.strip() and p not in unique:
            unique.append(p)
    return unique[:LIMIT]


def remember(settings, path: str) -> list[str]:
    """Put `path` first and store the list; returns it."""
    paths = [path] + [p for p in read(settings) if p != path]
    return _store(settings, paths[:LIMIT])


def forget(settings, path: str | None = None) -> list[str]:
    """Remove `path` (or every entry) and store the list; returns it."""
    return _store(settings, [] if path is None else [p for p in read(settings) if p != path])


def _store(settings, paths: list[str]) -> list[str]:
    settings.setValue(KEY, json.dumps(paths))
    settings.remove(LEGACY_KEY)
    settings.sync()
    return paths
