"""Search workers on one PostgreSQL study (Optuna's own distributed mode) finish the total together:
no trial lost, none run twice, each worker's trials written by that worker only, and workers that a
scheduler starts at the same instant on a new database all start (one creates the schema and the
study, the others wait and join).

The server is started by tests/setup_postgres.sh (`make test` runs it; CI as root installs it).
Each test makes its own database, so it is new on every run. On a machine without the server the
tests are skipped, except in CI (TINYOPT_REQUIRE_POSTGRES=1).
"""

import json
import multiprocessing
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
TOTAL = 8
WORKERS = 4


def _server_url() -> str | None:
    url = os.environ.get("TINYOPT_TEST_POSTGRES")
    path = Path(os.environ.get("TINYOPT_POSTGRES_URL_FILE", "/tmp/tinyopt-postgres-url"))
    if url is None and path.exists():
        url = path.read_text().strip()
    if url is None:
        return None
    try:
        import sqlalchemy

        with sqlalchemy.create_engine(url).connect():
            return url
    except Exception:  # no server there: skipped below, or failed in CI
        return None


@pytest.fixture(scope="module")
def server():
    url = _server_url()
    if url is None:
        if os.environ.get("TINYOPT_REQUIRE_POSTGRES"):
            pytest.fail("No PostgreSQL server for the search-worker tests: tests/setup_postgres.sh did not start one.")
        pytest.skip("no PostgreSQL server (run tests/setup_postgres.sh as root)")
    return url


@pytest.fixture
def fresh_db(server):
    """A database made for this test alone (no Optuna tables yet), dropped afterwards."""
    import sqlalchemy
    from sqlalchemy.engine import make_url

    name = f"tinyopt_t_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _open_at_once(url, barrier, results):
    """One worker's start: open the storage and create or join the study, released together."""
    import optuna

    from core.search.storage import create_or_join, open_storage

    barrier.wait()
    try:
        storage = open_storage(url)
        study, created = create_or_join(storage, url, "together", sampler=optuna.samplers.RandomSampler(),
                                        directions=["minimize"],
                                        on_create=lambda s: [s.enqueue_trial({"x": i}) for i in range(3)])
        results.put((created, None))
    except Exception as exc:
        results.put((None, f"{type(exc).__name__}: {exc}"))


def test_workers_opening_a_new_database_at_the_same_instant_create_it_once(fresh_db):
    import optuna

    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(WORKERS), spawn.Queue()
    procs = [spawn.Process(target=_open_at_once, args=(fresh_db, barrier, results)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert [err for _, err in outcomes if err] == []
    assert sorted(created for created, _ in outcomes) == [False] * (WORKERS - 1) + [True]
    study = optuna.load_study(study_name="together", storage=fresh_db)
    assert [t.state.name for t in study.trials] == ["WAITING"] * 3  # the creator's enqueued trials, once


def test_four_workers_started_together_on_a_new_database_share_one_study(fresh_db, reference_h5, tmp_path):
    import optuna

    study = "workers"
    outs = [tmp_path / f"worker{i}" for i in range(WORKERS)]
    cmds = [[sys.executable, "-m", "tinyopt", "search", "--model", str(reference_h5), "--trials", str(TOTAL),
             "--storage", fresh_db, "--study", study, "--out", str(out), "--seed", "3"] for out in outs]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds]
    try:
        results = [p.communicate(timeout=1500) for p in procs]
        for p, (_, err) in zip(procs, results):
            assert p.returncode == 0, err[-3000:]
        loaded = optuna.load_study(study_name=study, storage=fresh_db)
        counted = [t for t in loaded.trials if t.state.name in ("COMPLETE", "PRUNED")
                   and "surplus" not in t.user_attrs]
        assert len(counted) == TOTAL  # none lost, none beyond the total
        complete = {t.number: t for t in counted if t.state.name == "COMPLETE"}
        assert complete
        # Every finished trial was run by one worker, which wrote it into its own folder only.
        written = [{int(p.name) for p in (out / "trials").iterdir()} if (out / "trials").exists() else set()
                   for out in outs]
        assert sum(map(len, written)) == len(set().union(*written))  # disjoint: none run twice
        assert set().union(*written) == set(complete)
        workers = {t.user_attrs["worker"] for t in complete.values()}
        assert len(workers) >= 2, f"one worker ran every trial: {workers}"
        seen = []
        for out, numbers in zip(outs, written):
            for n in numbers:
                recipe = json.loads((out / "trials" / f"{n:04d}" / "recipe.json").read_text())
                assert recipe["steps"] == complete[n].user_attrs["recipe"]["steps"]
            seen.append({t["number"] for t in json.loads((out / "front.json").read_text())["trials"]})
        # A worker's front covers the study's trials finished when it stopped: the last one's, all.
        assert all(s <= set(complete) for s in seen) and set(complete) in seen
    finally:
        for p in procs:
            p.kill() if p.poll() is None else None
