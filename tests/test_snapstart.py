"""Lambda SnapStart: containers restored from one snapshot do not share random state or connections.

The Lambda Python runtime provides ``snapshot_restore_py``; here a stand-in with the same two
registration functions is put in sys.modules, and the test plays Lambda's part: it imports the
entry (init), runs the before-snapshot hooks, keeps the memory that matters (the random states),
and "restores" it into two containers by putting that memory back before running the after-restore
hooks in each.
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from skill import outbound, snapstart
from tests.conversation import SKILL_ID, envelope, intent_request
from tests.moto_dynamodb import dynamodb_endpoint  # noqa: F401 - a fixture: moto on loopback, as DynamoDB

ROOT = Path(__file__).resolve().parent.parent
LAMBDA = ROOT / "lambda" / "lambda_function.py"
_ids = itertools.count()

Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class LambdaRuntime:
    """Plays Lambda's part: snapshot_restore_py's registries, then the snapshot and the restores."""

    def __init__(self) -> None:
        self.before: list[Hook] = []
        self.after: list[Hook] = []
        self.module = ModuleType("snapshot_restore_py")
        self.module.register_before_snapshot = self._keeper(self.before)  # type: ignore[attr-defined]
        self.module.register_after_restore = self._keeper(self.after)  # type: ignore[attr-defined]

    @staticmethod
    def _keeper(registry: list[Hook]) -> Callable[..., Any]:
        def register(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
            registry.append((func, args, kwargs))
            return func  # usable as a decorator, as the real one is

        return register

    def take_snapshot(self) -> None:
        for func, args, kwargs in reversed(self.before):  # the reverse of registration, as Lambda runs them
            func(*args, **kwargs)

    def restore(self) -> None:
        for func, args, kwargs in self.after:  # in registration order
            func(*args, **kwargs)


@contextmanager
def cold_start(runtime: LambdaRuntime | None, **env: str) -> Iterator[ModuleType]:
    """Import lambda/lambda_function.py afresh (Lambda's init), with or without the runtime's hook module."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("BEDTIME_")]:
            patch.delenv(name)
        for name, value in {"BEDTIME_PERSISTENCE": "none", "BEDTIME_ALEXA_API": "false",
                            "BEDTIME_SKILL_ID": SKILL_ID, **env}.items():
            patch.setenv(name, value)
        if runtime is None:
            patch.setitem(sys.modules, "snapshot_restore_py", None)  # an import of it fails, as off Lambda
        else:
            patch.setitem(sys.modules, "snapshot_restore_py", runtime.module)
        spec = importlib.util.spec_from_file_location(f"lambda_function_snap_{next(_ids)}", LAMBDA)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        finally:
            root.handlers[:] = saved_handlers  # the entry logs JSON to stderr; pytest gets its capture back
            root.setLevel(saved_level)
        yield module


def launches(entry: ModuleType, times: int = 12) -> list[str]:
    """What the skill says to `times` fresh launches, one after another."""
    return [entry.lambda_handler(envelope({"type": "LaunchRequest"}), None)["response"]["outputSpeech"]["ssml"]
            for _ in range(times)]


def snapshot_memory(entry: ModuleType) -> tuple[object, object]:
    """The memory two restored containers share: the skill's wording chooser and the random module."""
    return entry._rng.getstate(), random.getstate()


def put_back(entry: ModuleType, memory: tuple[object, object]) -> None:
    rng_state, module_state = memory
    entry._rng.setstate(rng_state)
    random.setstate(module_state)  # type: ignore[arg-type]


# --- where the hooks come from ---------------------------------------------------------------


def test_off_lambda_there_is_no_hook_module_and_the_entry_starts_as_before() -> None:
    with cold_start(None) as entry:
        assert entry._container.restores == 0
        assert launches(entry, 1)[0].startswith("<speak>")
    assert snapstart.install(snapstart.PerContainer(random.Random())) is False


def test_on_lambda_the_entry_registers_one_hook_on_each_side_of_the_snapshot() -> None:
    runtime = LambdaRuntime()
    with cold_start(runtime) as entry:
        assert [func for func, _, _ in runtime.before] == [entry._container.before_snapshot]
        assert [func for func, _, _ in runtime.after] == [entry._container.after_restore]


# --- what a restore renews -------------------------------------------------------------------


def test_two_containers_restored_from_one_snapshot_do_not_say_the_same_things_in_the_same_order() -> None:
    """The problem first: the same memory makes the same choices. Then the hook: each container its own."""
    runtime = LambdaRuntime()
    with cold_start(runtime) as entry:
        runtime.take_snapshot()
        memory = snapshot_memory(entry)

        # Without the hook, two containers from one snapshot are word-for-word twins.
        put_back(entry, memory)
        first = launches(entry)
        put_back(entry, memory)
        assert launches(entry) == first
        jitter_twin = random.random()

        # With it, each container draws its own.
        put_back(entry, memory)
        runtime.restore()
        one, one_jitter = launches(entry), random.random()
        put_back(entry, memory)
        runtime.restore()
        two, two_jitter = launches(entry), random.random()

        assert one != two
        assert len({jitter_twin, one_jitter, two_jitter}) == 3  # the retry jitter's generator is reseeded too
        assert entry._container.restores == 2


def test_with_bedtime_seed_set_every_restored_container_repeats_the_seeded_answers() -> None:
    """A seed means "make the answers repeatable": restored containers start again from it."""
    runtime = LambdaRuntime()
    with cold_start(runtime, BEDTIME_SEED="7") as entry:
        runtime.take_snapshot()
        memory = snapshot_memory(entry)
        answers = []
        for _ in range(2):
            put_back(entry, memory)
            runtime.restore()
            assert entry._rng.getstate() == random.Random(7).getstate()
            answers.append(launches(entry, 4))
        assert answers[0] == answers[1]


class CountingStore:
    """A store with pooled connections, as the DynamoDB adapter has: counts how often they are dropped."""

    def __init__(self) -> None:
        self.dropped = 0

    def forget_connections(self) -> None:
        self.dropped += 1


def test_connections_are_dropped_before_the_snapshot_and_after_each_restore() -> None:
    store = CountingStore()
    runtime = LambdaRuntime()
    warmed: list[str] = []
    container = snapstart.PerContainer(random.Random(), persistence=store, prime=lambda: warmed.append("launch read"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "snapshot_restore_py", runtime.module)
        assert snapstart.install(container) is True

    outbound._tls()  # an Alexa API call was made: the process keeps a TLS context
    runtime.take_snapshot()
    assert (warmed, store.dropped, outbound._ssl_context) == (["launch read"], 1, None)

    outbound._tls()
    runtime.restore()
    assert store.dropped == 2 and outbound._ssl_context is None


def test_a_failed_warm_up_does_not_stop_the_snapshot(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("no")

    store = CountingStore()
    snapstart.PerContainer(random.Random(), persistence=store, prime=broken).before_snapshot()
    assert store.dropped == 1 and "warming up before the snapshot failed" in caplog.text


def test_the_dynamodb_store_drops_its_pooled_connections_and_keeps_working(
    dynamodb_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A night kept before the restore, another after it: the client reconnects on its own."""
    from skill.builder import build_skill
    from skill.profile.factory import make_persistence_adapter
    from skill.runtime import SkillRunner
    from skill.settings import Settings
    from tests.conversation import Conversation

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None, persistence="dynamodb", dynamodb_table=f"snap-{next(_ids)}-{os.getpid()}",
                        dynamodb_endpoint=dynamodb_endpoint, aws_region="eu-west-1", verify_signature=False,
                        alexa_api=False)
    store = make_persistence_adapter(settings)
    said: list[str] = []
    rng = random.Random()
    person = Conversation(SkillRunner(build_skill(settings, persistence=store, rng=rng, on_say=said.append)), said,
                          user_id="amzn1.ask.account.SNAP")
    pools = store.table.meta.client._endpoint.http_session._manager.pools  # type: ignore[union-attr]

    person.launch()
    person.ask("DoseTakenIntent")
    person.ask("AMAZON.YesIntent")  # keep count of my nights
    assert len(pools) == 1  # a pooled connection to DynamoDB

    snapstart.PerContainer(rng, persistence=store).after_restore()
    assert len(pools) == 0

    assert "night" in person.ask("NightsSoFarIntent").speech.lower()
    assert len(pools) == 1


# --- the warm-up, in a fresh interpreter ----------------------------------------------------------

# Argv: <lambda dir> <repo root> <request>. A stand-in hook module is put in sys.modules before the
# entry is imported; Lambda's part is played as above.
FRESH = r"""
import json, sys, types
lambda_dir, root, request = sys.argv[1:4]
sys.path[:0] = [lambda_dir, root]
hooks = {"before": [], "after": []}
stand_in = types.ModuleType("snapshot_restore_py")
stand_in.register_before_snapshot = lambda f, *a, **k: hooks["before"].append(f) or f
stand_in.register_after_restore = lambda f, *a, **k: hooks["after"].append(f) or f
sys.modules["snapshot_restore_py"] = stand_in
import lambda_function
at_init = set(sys.modules)
for hook in reversed(hooks["before"]):
    hook()
in_snapshot = set(sys.modules)
for hook in hooks["after"]:
    hook()
answer = lambda_function.lambda_handler(json.load(open(request)), None)
print(json.dumps({"warmed": sorted(in_snapshot - at_init), "first_answer_loaded": sorted(set(sys.modules) - in_snapshot),
                  "spoke": answer["response"]["outputSpeech"]["ssml"].startswith("<speak>")}))
"""


def test_what_the_first_answer_would_load_is_loaded_before_the_snapshot(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "BEDTIME_PERSISTENCE": "none", "BEDTIME_ALEXA_API": "false",
           "BEDTIME_LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-c", FRESH, str(LAMBDA.parent), str(ROOT),
                           str(ROOT / "tests" / "fixtures" / "requests" / "launch.json")],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["spoke"]
    assert "dateutil.parser" in seen["warmed"]  # the SDK's timestamp reader, in the snapshot
    assert seen["first_answer_loaded"] == []  # a restored container's first answer imports nothing


def test_a_restored_container_answers_an_intent_as_before() -> None:
    """After a restore the entry answers as it did: an intent, in the same session."""
    runtime = LambdaRuntime()
    with cold_start(runtime) as entry:
        runtime.take_snapshot()
        runtime.restore()
        answer = entry.lambda_handler(envelope(intent_request("AMAZON.HelpIntent")), None)
        assert answer["response"]["outputSpeech"]["ssml"].startswith("<speak>")
