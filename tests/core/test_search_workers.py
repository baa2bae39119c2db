"""Two search workers on one PostgreSQL study (Optuna's own distributed mode) finish the total
together: no trial lost, none run twice, and each worker's trials are written by that worker only.

The server is started by tests/setup_postgres.sh (`make test` runs it; CI as root installs it). On
a machine without it the test is skipped, except in CI (TINYOPT_REQUIRE_POSTGRES=1).
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
TOTAL = 6


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
            pytest.fail("No PostgreSQL server for the two-worker test: tests/setup_postgres.sh did not start one.")
        pytest.skip("no PostgreSQL server (run tests/setup_postgres.sh as root)")
    return url


def test_two_workers_share_one_study_without_losing_or_repeating_a_trial(server, reference_h5, tmp_path):
    import optuna

    study = f"test-workers-{uuid.uuid4().hex[:8]}"
    outs = [tmp_path / f"worker{i}" for i in range(2)]
    cmds = [[sys.executable, "-m", "tinyopt", "search", "--model", str(reference_h5), "--trials", str(TOTAL),
             "--storage", server, "--study", study, "--out", str(out), "--seed", "3"] for out in outs]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds]
    try:
        results = [p.communicate(timeout=1200) for p in procs]
        for p, (_, err) in zip(procs, results):
            assert p.returncode == 0, err[-3000:]
        loaded = optuna.load_study(study_name=study, storage=server)
        counted = [t for t in loaded.trials if t.state.name in ("COMPLETE", "PRUNED")
                   and "surplus" not in t.user_attrs]
        assert len(counted) == TOTAL  # none lost, none beyond the total
        complete = {t.number: t for t in counted if t.state.name == "COMPLETE"}
        assert complete
        # Every finished trial was run by one worker, which wrote it into its own folder only.
        written = [{int(p.name) for p in (out / "trials").iterdir()} if (out / "trials").exists() else set()
                   for out in outs]
        assert not written[0] & written[1]
        assert written[0] | written[1] == set(complete)
        workers = {t.user_attrs["worker"] for t in complete.values()}
        assert len(workers) == 2, f"one worker ran every trial: {workers}"
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
        try:
            optuna.delete_study(study_name=study, storage=server)
        except KeyError:
            pass
