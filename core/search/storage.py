"""The search's Optuna storage: opened once per worker, created once however many start together.

Optuna creates its tables (and its version row) on first use. Workers a scheduler starts at the
same moment on a new database all do so at once, and PostgreSQL refuses all but one ("duplicate key
value violates unique constraint pg_type_typname_nsp_index"; optuna/optuna#2993). So whatever
creates something in the storage (its schema, the study, the study's first enqueued trials) runs
under one PostgreSQL advisory lock on that database: the first worker creates, the others wait
for it and then find everything there. Other databases get retries with backoff on exactly those
"already exists" errors.
"""

from __future__ import annotations

import contextlib
import random
import time
import warnings

from core.errors import SearchError

LOCK_KEY = 0x71E0_5EA7  # pg_advisory_lock key: one per database, shared by every TinyOpt worker
RETRIES = 8
RACE_WORDS = ("already exists", "duplicate key", "unique constraint")


def shown(url: str) -> str:
    """A storage URL fit for messages and logs: its password replaced by ***."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy parses: say nothing of what it holds after the scheme
        return url.split("://", 1)[0] + "://…" if "://" in url else url


@contextlib.contextmanager
def creation_lock(url: str):
    """Hold the database's TinyOpt advisory lock (PostgreSQL); elsewhere a no-op."""
    if not url.startswith(("postgresql", "postgres")):
        yield
        return
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    engine = sqlalchemy.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": LOCK_KEY})
            try:
                yield
            finally:  # closing the connection would release it too; say so explicitly
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
    finally:
        engine.dispose()


def with_retries(fn, what: str):
    """Call `fn()`, again after a short random wait when a concurrent creator won the race."""
    for attempt in range(RETRIES):
        try:
            return fn()
        except Exception as exc:
            if attempt == RETRIES - 1 or not any(w in str(exc).lower() for w in RACE_WORDS):
                raise
            time.sleep(random.uniform(0.05, 0.2) * 2 ** attempt)
    raise AssertionError(what)  # unreachable: the last attempt raises


def open_storage(url: str, *, heartbeat: bool = True):
    """An Optuna RDBStorage on `url`, its schema created if new (under the creation lock). Errors
    of SQLAlchemy (no server, wrong password, no driver, bad URL) become one message naming the URL."""
    import optuna

    def make():
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            kw = {"heartbeat_interval": 30, "grace_period": 90} if heartbeat else {}
            return optuna.storages.RDBStorage(url, **kw)

    try:
        with creation_lock(url):
            return with_retries(make, "open the storage")
    except Exception as exc:
        first = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
        raise SearchError(f"Cannot open the search storage {shown(url)}: {first}. Check the URL "
                                 "(postgresql://user:password@host:port/database, or sqlite:///file.db) "
                                 "and the server.") from None


def create_or_join(storage, url: str, study_name: str, *, sampler, directions: list, on_create=None):
    """The study named `study_name`: created by exactly one of the workers that start together
    (`on_create(study)` runs once, by it, before any other worker sees the study), joined by the
    others. Returns (study, created)."""
    import optuna

    def make():
        try:
            study = optuna.create_study(storage=storage, study_name=study_name, sampler=sampler,
                                        directions=directions)
        except optuna.exceptions.DuplicatedStudyError:
            return optuna.load_study(storage=storage, study_name=study_name, sampler=sampler), False
        if on_create is not None:
            on_create(study)
        return study, True

    with creation_lock(url):
        return with_retries(make, "create the study")
