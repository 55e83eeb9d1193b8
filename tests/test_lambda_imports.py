"""Everything the Lambda request path imports, listed: a cold start pays for each module it loads.

A fresh interpreter (no site hooks, so nothing is preloaded) imports lambda/lambda_function.py and
answers a LaunchRequest; every top-level module it loaded must be on the lists below. pydantic, the
web stack, the AWS SDK and the developer tools must never be among them, not even after every
sample request has been answered.
"""
from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "requests"

# Packages besides the standard library: the ASK SDK (and what it needs), the skill, the entry.
PACKAGES = {"ask_sdk_core", "ask_sdk_model", "ask_sdk_runtime", "dateutil", "six", "skill", "lambda_function"}

# Standard-library modules a launch may load (top-level names; another Python may need fewer). Some
# are loaded at start-up by any interpreter and are listed so that the list holds on other versions.
STDLIB = {
    # the interpreter's own machinery and data types
    "__future__", "_ast", "_bisect", "_collections_abc", "_datetime", "_decimal", "_json", "_locale", "_opcode",
    "_random", "_string", "_struct", "_typing", "_weakrefset", "abc", "ast", "bisect", "calendar", "collections",
    "contextlib", "copy", "copyreg", "dataclasses", "datetime", "decimal", "dis", "enum", "fnmatch", "functools",
    "inspect", "ipaddress", "keyword", "linecache", "locale", "math", "numbers", "opcode", "operator", "pprint",
    "re", "reprlib", "struct", "textwrap", "token", "tokenize", "types", "typing", "urllib", "weakref", "warnings",
    # the operating system, files, text, JSON: the content and the envelope
    "_stat", "errno", "genericpath", "importlib", "json", "ntpath", "os", "pathlib", "posixpath", "pwd", "stat",
    "string",
    # the one JSON log line per request
    "atexit", "logging", "threading", "traceback",
    # the store: SQLite, and the SHA-256 of user ids (CPython's own, not OpenSSL's: see skill/digest.py)
    "_sha256", "_sha2", "_sqlite3", "sqlite3",
    # choosing a wording
    "_sha512", "random",
}
# Not on a launch: hashlib (OpenSSL, 3.8 MiB) and zoneinfo (imported when a routine needs a zone).

# ask-sdk-model packages that only some requests need (an elicited slot, a permission request or
# answer, resolved slot values): the handlers import them where they are used: 29 modules a launch skips.
ON_DEMAND = ("ask_sdk_model.dialog", "ask_sdk_model.interfaces.connections", "ask_sdk_model.slu")

FORBIDDEN = {
    "pydantic", "pydantic_core", "pydantic_settings", "annotated_types", "flask", "werkzeug", "gunicorn",
    "boto3", "botocore", "cryptography", "skill_tools", "tomllib", "skill.web", "skill.content.source",
}

# Runs with -S (no site hooks): argv is <site-packages> <lambda dir> <repo root> <fixture>...
CHILD = r"""
import json, sys
before = set(sys.modules)
site_packages, lambda_dir, root, *fixtures = sys.argv[1:]
sys.path[:0] = [lambda_dir, root, site_packages]
import lambda_function
launch = lambda_function.lambda_handler(json.load(open(fixtures[0])), None)
after_launch = sorted(set(sys.modules) - before)
for path in fixtures[1:]:
    lambda_function.lambda_handler(json.load(open(path)), None)
print(json.dumps({
    "speech": launch["response"]["outputSpeech"]["ssml"],
    "after_launch": after_launch,
    "after_all": sorted(set(sys.modules) - before),
}))
"""


def run_lambda(tmp_path: Path, fixtures: list[Path]) -> dict[str, object]:
    env = {"PATH": "/usr/bin:/bin", "BEDTIME_PERSISTENCE": "sqlite", "BEDTIME_DATA_DIR": str(tmp_path),
           "BEDTIME_ALEXA_API": "false", "BEDTIME_LOG_LEVEL": "WARNING"}
    argv = [sys.executable, "-S", "-c", CHILD, sysconfig.get_paths()["purelib"], str(ROOT / "lambda"), str(ROOT),
            *map(str, fixtures)]
    done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def top_level(modules: object) -> set[str]:
    assert isinstance(modules, list)
    # sysconfig's build-data module is named after the platform (_sysconfigdata__linux_x86_64-linux-gnu).
    return {"sysconfig" if m.startswith("_sysconfigdata") else m.split(".")[0] for m in modules}


def test_a_cold_start_loads_only_what_answers_requests(tmp_path: Path) -> None:
    seen = run_lambda(tmp_path, [FIXTURES / "launch.json"])
    loaded = top_level(seen["after_launch"])

    assert str(seen["speech"]).startswith("<speak>")
    assert loaded - set(sys.stdlib_module_names) == PACKAGES
    assert sorted(loaded & set(sys.stdlib_module_names) - STDLIB) == []  # a new import? list it, or avoid it
    modules = seen["after_launch"]
    assert isinstance(modules, list)
    assert [m for m in modules if any(m == p or m.startswith(p + ".") for p in ON_DEMAND)] == []


def test_no_request_ever_pulls_in_pydantic_the_web_stack_or_the_tools(tmp_path: Path) -> None:
    launch = FIXTURES / "launch.json"
    seen = run_lambda(tmp_path, [launch, *sorted(p for p in FIXTURES.glob("*.json") if p != launch)])
    modules = set(seen["after_all"])  # type: ignore[arg-type]

    assert len(list(FIXTURES.glob("*.json"))) > 50
    assert sorted(m for m in modules if m in FORBIDDEN or m.split(".")[0] in FORBIDDEN) == []


def test_the_sha256_without_openssl_is_the_same_sha256() -> None:
    # User keys written before the switch must still be found: the digest is byte for byte hashlib's.
    import hashlib

    from skill.digest import sha256_hex

    for data in (b"", b"amzn1.ask.account.AEXAMPLE", "näme".encode(), bytes(range(256)) * 40):
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
