"""Under the gevent worker, a SQLite lock held elsewhere delays only the turn that writes.

Each worker of `bedtime-skill serve` runs its requests as greenlets on one OS thread. Before,
a write waiting on a lock (another process in BEGIN IMMEDIATE) held that thread in SQLite's C
code for the whole busy timeout, and every other request of the worker waited with it. The
store now runs its calls on real threads (skill.profile.offload).

The gevent side runs in a child process, monkey-patched as gunicorn's gevent worker is, with the
adapter made by the same factory `serve` uses; this process holds the lock. What is checked is
the order things finished in, never how long they took.
"""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from skill.profile.offload import Runners, for_this_process, gevent_patched
from skill.profile.sqlite_store import run_here

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    """
    from gevent import monkey
    monkey.patch_all()

    import json, sys
    from types import SimpleNamespace
    import gevent
    from ask_sdk_core.exceptions import PersistenceException
    from skill.profile.factory import make_persistence_adapter
    from skill.settings import Settings

    store = make_persistence_adapter(Settings(persistence="sqlite", data_dir=sys.argv[1]))
    someone = SimpleNamespace(context=SimpleNamespace(system=SimpleNamespace(user=SimpleNamespace(user_id="amzn1.ask.account.A"))))
    finished = []

    def write():
        try:
            store.save_attributes(someone, {"preferred_form": "citrate"})
            finished.append("write saved")
        except PersistenceException:
            finished.append("write refused")

    def questions():
        for n in range(5):
            store.get_attributes(someone)
            finished.append(f"read {n}")
            gevent.sleep(0.01)

    gevent.joinall([gevent.spawn(write), gevent.spawn(questions)])
    print(json.dumps(finished))
    """
)


def test_reads_go_on_while_a_write_waits_for_a_lock_held_by_another_process(tmp_path: Path) -> None:
    # The person's row exists and another process holds the write lock, as a stuck writer would.
    Path(tmp_path / "bedtime.sqlite3").touch()
    setup = subprocess.run(
        [sys.executable, "-c", "import sys; from skill.profile.factory import make_persistence_adapter as m; "
         "from skill.settings import Settings; from types import SimpleNamespace as N; "
         "s = m(Settings(persistence='sqlite', data_dir=sys.argv[1])); "
         "s.save_attributes(N(context=N(system=N(user=N(user_id='amzn1.ask.account.A')))), {'preferred_form': 'glycinate'})",
         str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert setup.returncode == 0, setup.stderr
    holder = sqlite3.connect(tmp_path / "bedtime.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        child = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT, capture_output=True,
                               text=True, timeout=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert child.returncode == 0, child.stderr
    finished = json.loads(child.stdout.strip().splitlines()[-1])
    # Every question was answered while the write still waited; the write then gave up, calmly.
    assert finished == ["read 0", "read 1", "read 2", "read 3", "read 4", "write refused"]
    assert "Traceback" not in child.stderr  # a refused write is an answer, not a crash in the thread pool


def test_without_gevent_the_store_runs_on_the_callers_thread() -> None:
    # The Lambda entry, the Flask dev server and the tests are plain threads: nothing to offload.
    assert not gevent_patched()
    assert for_this_process() == Runners(reads=run_here, writes=run_here)
