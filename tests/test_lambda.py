"""The Lambda artifact: built as `make lambda-zip` and the ASK CLI's hook build it, run from its own contents.

The artifact is built once for the run, shared by the xdist workers (wheels are cached in
.venv/lambda-wheels, so only the first run on a machine downloads them), and then unzipped and run by a
bare interpreter of the runtime's Python (python3.13 -I -S: no site-packages, no user site, no PYTHON* variables) with
nothing on its path but the artifact, and, for DynamoDB, what the Lambda runtime itself provides
(boto3 and botocore). Those runs skip only where no Python 3.13 can be found (.ci/run installs one).

`make lambda-zip` builds for the stack's architecture, arm64; the runs use the same build for this
machine's architecture (`--arch`), whose extension modules this machine can load, and a test holds
the two to the same files apart from those.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import once_per_run
from tests.conversation import SKILL_ID, envelope, intent_request
from tests.moto_dynamodb import dynamodb_endpoint  # noqa: F401 - a fixture: moto on loopback, atomic as DynamoDB
from bench.coldstart import load_build  # scripts/build_lambda_zip.py, loaded once per process

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "requests"
TEMPLATE = ROOT / "infrastructure" / "cfn-deployer" / "skill-stack.yaml"


build_lambda_zip = load_build()
BuildError = build_lambda_zip.BuildError
TARGET = build_lambda_zip.target_from()  # what ask-resources.json deploys
# The runtime's own Python, to run the artifact as Lambda would (None: those tests skip).
TARGET_PYTHON = build_lambda_zip.find_python(TARGET.python_version)


# This machine's architecture by Lambda's name (None: one Lambda has not).
HOST_ARCHITECTURE = {m: a for a, m in build_lambda_zip.ARCHITECTURES.items()}.get(platform.machine())
# The zips the module reads, each built once for the run by whichever worker gets to it first: the one
# `make lambda-zip` writes (same script, same arguments) and, on a machine of another architecture, the
# same build for it, whose extension modules load here.
BUILDS: dict[str, Callable[[Path], object]] = {"lambda-make": lambda folder: build_zip(folder / "lambda.zip")}
if HOST_ARCHITECTURE is not None and HOST_ARCHITECTURE != TARGET.architecture:
    BUILDS["lambda-host"] = lambda folder: build_zip(folder / "lambda.zip", "--arch", str(HOST_ARCHITECTURE))


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The folder of each of BUILDS; two workers arriving together build one each."""
    return once_per_run(tmp_path_factory, BUILDS)


@pytest.fixture(scope="module")
def artifact(builds: dict[str, Path]) -> Path:
    """The zip `make lambda-zip` writes."""
    return builds["lambda-make"] / "lambda.zip"


@pytest.fixture(scope="module")
def runnable(artifact: Path, builds: dict[str, Path]) -> Path:
    """The same build for this machine's architecture, so its extension modules load here."""
    if HOST_ARCHITECTURE == TARGET.architecture:
        return artifact
    if HOST_ARCHITECTURE is None:
        pytest.skip(f"this machine ({platform.machine()}) has no Lambda architecture to run the artifact on")
    return builds["lambda-host"] / "lambda.zip"


def build_zip(out: Path, *args: str) -> Path:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_lambda_zip.py"), str(out), *args],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    return out


def unzip(artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("task")  # as Lambda unpacks it into /var/task
    with zipfile.ZipFile(artifact) as zf:
        zf.extractall(target)
    return target


@pytest.fixture(scope="module")
def unpacked(artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unzip(artifact, tmp_path_factory)


@pytest.fixture(scope="module")
def unpacked_here(runnable: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unzip(runnable, tmp_path_factory)


# Run inside the bare interpreter. Time zones come only from the artifact (tzdata), as on a runtime
# image without /usr/share/zoneinfo.
PROBE = """
import json, sys, zoneinfo
zoneinfo.reset_tzpath(to=[])
sys.path[:0] = [p for p in sys.argv[1].split("|") if p]
import lambda_function
for path in sys.argv[2:]:
    print(json.dumps(lambda_function.lambda_handler(json.load(open(path)), None)))
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def run_bare(paths: list[Path], requests: list[dict[str, Any]], env: dict[str, str],
             tmp_path: Path) -> tuple[list[dict[str, Any]], set[str]]:
    """Invoke lambda_handler on each request in a bare interpreter; return the answers and the modules loaded."""
    files = []
    for index, request in enumerate(requests):
        path = tmp_path / f"request-{index}.json"
        path.write_text(json.dumps(request))
        files.append(str(path))
    if TARGET_PYTHON is None:
        pytest.skip(f"no Python {TARGET.python_version} on this machine to run the artifact with")
    out = subprocess.run([TARGET_PYTHON, "-I", "-S", "-c", PROBE, "|".join(map(str, paths)), *files],
                         capture_output=True, text=True, env={"PATH": os.environ.get("PATH", ""), **env},
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    *answers, modules = (json.loads(line) for line in out.stdout.splitlines())
    return answers, set(modules)


def speech(answer: dict[str, Any]) -> str:
    return answer["response"].get("outputSpeech", {}).get("ssml", "")


# --- it runs from its own contents -----------------------------------------------------------


def test_the_artifact_answers_a_launch_request_from_a_bare_interpreter(unpacked_here: Path, tmp_path: Path) -> None:
    names = ("launch.json", "dose_intent_kidney.json", "dose_taken_intent.json", "amazon_yes.json")
    requests = [json.loads((FIXTURES / name).read_text()) for name in names]
    # The "yes" answers "keep count of your nights?" (the session attribute the skill set) and needs a time zone.
    requests[3]["session"]["attributes"] = {"waiting": "count_offer"}
    env = {"BEDTIME_PERSISTENCE": "none", "BEDTIME_ALEXA_API": "false"}
    (launch, kidney, asked, taken), modules = run_bare([unpacked_here], requests, env, tmp_path)

    assert speech(launch).startswith("<speak>") and launch["response"].get("reprompt")
    assert "kidney" in speech(kidney).lower() and "doctor" in speech(kidney)
    # The Lambda path loads neither boto3 (no DynamoDB chosen) nor the web stack nor tooling.
    assert modules.isdisjoint({"boto3", "botocore", "flask", "werkzeug", "gunicorn", "skill_tools", "pytest",
                               "pydantic", "pydantic_core", "pydantic_settings"})
    assert asked["sessionAttributes"]["waiting"] == "count_offer" and "count" in speech(asked)
    assert "night one" in speech(taken).lower()
    assert "tzdata" in modules  # time zones came from the artifact itself


def runtime_provided(tmp_path: Path) -> Path:
    """What the Lambda Python runtime puts on the path after /var/task: boto3 and botocore."""
    import boto3
    import botocore
    import jmespath
    import s3transfer

    folder = tmp_path / "var-runtime"
    folder.mkdir()
    for module in (boto3, botocore, jmespath, s3transfer):
        source = Path(module.__file__).parent  # type: ignore[arg-type]
        (folder / source.name).symlink_to(source, target_is_directory=True)
    return folder


def test_the_artifact_keeps_a_dose_night_in_dynamodb_with_the_stacks_environment(
    unpacked_here: Path, dynamodb_endpoint: str, tmp_path: Path
) -> None:
    """The environment the template gives the function, the table as the template makes it."""
    import boto3
    from cfnlint.decode import decode_str

    template, errors = decode_str(TEMPLATE.read_text())
    assert not errors
    table_name, region = f"stack-profiles-{uuid.uuid4().hex[:8]}", "eu-west-1"
    table = template["Resources"]["ProfileTable"]["Properties"]
    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    client = boto3.client("dynamodb", region_name=region, endpoint_url=dynamodb_endpoint,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_table(TableName=table_name, BillingMode=table["BillingMode"],
                        AttributeDefinitions=table["AttributeDefinitions"], KeySchema=table["KeySchema"])

    refs = {"SkillId": SKILL_ID, "ProfileTable": table_name, "AWS::Region": region, "LogLevel": "INFO"}
    variables = template["Resources"]["SkillFunction"]["Properties"]["Environment"]["Variables"]
    env = {name: refs[value["Ref"]] if isinstance(value, dict) else str(value) for name, value in variables.items()}
    # Only the endpoint differs from AWS: moto on loopback.
    env |= aws | {"BEDTIME_DYNAMODB_ENDPOINT": dynamodb_endpoint, "BEDTIME_ALEXA_API": "false"}

    user = "amzn1.ask.account.ARTIFACT"
    # U: I took my magnesium   A: ... Would you like me to keep count of your nights?   U: yes
    # (the "yes" carries back the session attributes the skill set, as Alexa does)
    asked = {"waiting": "count_offer"}
    requests = [envelope({"type": "LaunchRequest"}, user_id=user),
                envelope(intent_request("DoseTakenIntent"), user_id=user),
                envelope(intent_request("AMAZON.YesIntent"), user_id=user, attributes=asked, new=False)]
    (launch, taken, yes), modules = run_bare([unpacked_here, runtime_provided(tmp_path)], requests, env, tmp_path)

    assert speech(launch).startswith("<speak>") and speech(taken).startswith("<speak>")
    assert taken["sessionAttributes"]["waiting"] == "count_offer" and "count" in speech(yes)
    assert {"boto3", "ask_sdk_dynamodb"} <= modules
    items = client.scan(TableName=table_name)["Items"]
    assert [item["id"]["S"] for item in items] == [hashlib.sha256(user.encode()).hexdigest()]
    kept = items[0]["attributes"]["M"]
    assert (kept["count_nights"], kept["nights_counted"]) == ({"BOOL": True}, {"N": "1"}), "the night was kept"


# --- what is in it, and what is not -----------------------------------------------------------


def test_the_artifact_holds_the_handler_the_skill_and_lambda_wheels_only(artifact: Path, unpacked: Path) -> None:
    with zipfile.ZipFile(artifact) as zf:
        names = zf.namelist()
    tops = {name.split("/")[0] for name in names}
    assert "lambda_function.py" in tops and "skill/content/en-US/dose.toml" in names
    assert not any(name.startswith("skill/web/") for name in names), "the web stack is not on the Lambda path"
    forbidden = {"flask", "werkzeug", "gunicorn", "pytest", "_pytest", "skill_tools", "boto3", "botocore", "bin"}
    assert not {t.split("-")[0].lower() for t in tops} & forbidden

    # Every distribution is a wheel for Lambda: pure Python, or the runtime's CPython on manylinux for its machine.
    abi, machine = TARGET.abi, TARGET.machine
    fits = re.compile(rf"^(py3|py2\.py3|{abi})-(none|{abi}|abi3)-(any|manylinux(1|2010|2014|_2_\d+)_{machine})$")
    for wheel in unpacked.glob("*.dist-info/WHEEL"):
        tags = [line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")]
        assert any(fits.match(tag) for tag in tags), (wheel.parent.name, tags)
    for extension in unpacked.rglob("*.so"):
        assert extension.name.endswith((f".{TARGET.cache_tag}-{machine}-linux-gnu.so", ".abi3.so")), extension

    # Bytecode for the target exactly when an interpreter of its version was found to compile it.
    assert (f"skill/__pycache__/builder.{TARGET.cache_tag}.pyc" in names) is (TARGET_PYTHON is not None)
    assert all(f".{TARGET.cache_tag}.pyc" in n for n in names if n.endswith(".pyc"))


def test_the_build_for_this_machine_differs_only_in_its_extension_modules(artifact: Path, runnable: Path) -> None:
    """What the runs above ran is what deploys, but for the wheels' compiled parts."""
    def files(zip_path: Path) -> dict[str, int]:
        with zipfile.ZipFile(zip_path) as zf:
            return {i.filename: i.CRC for i in zf.infolist()
                    if not i.filename.endswith((".so", ".dist-info/WHEEL", ".dist-info/RECORD"))}

    assert files(runnable) == files(artifact)


def test_the_ask_cli_hook_builds_the_same_artifact_byte_for_byte(artifact: Path, tmp_path: Path) -> None:
    """`ask deploy` runs hooks/build.sh <out> <debug> from its copy of lambda/ (.ask/lambda)."""
    ask_copy = tmp_path / ".ask" / "lambda"
    shutil.copytree(ROOT / "lambda", ask_copy)
    out = ask_copy / "build.zip"
    result = subprocess.run(["bash", str(ROOT / "hooks" / "build.sh"), str(out), "false"], cwd=ask_copy,
                            capture_output=True, text=True, timeout=900,
                            env={**os.environ, "BEDTIME_BUILD_PYTHON": sys.executable})
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == artifact.read_bytes()  # the same inputs, the same zip: the CLI's hash is stable


# --- the build fails loudly on a mismatch ----------------------------------------------------


def make_wheel(folder: Path, name: str, tag: str) -> Path:
    """A minimal, valid wheel of one empty module, for one platform tag only."""
    dist = f"{name}-1.0"
    path = folder / f"{dist}-{tag}.whl"
    files = {f"{name}/__init__.py": b"",
             f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
             f"{dist}.dist-info/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: {tag}\n".encode()}
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, data in files.items():
            zf.writestr(arcname, data)
        zf.writestr(f"{dist}.dist-info/RECORD", "".join(f"{n},,\n" for n in [*files, f"{dist}.dist-info/RECORD"]))
    return path


def test_a_requirement_without_a_wheel_for_lambda_stops_the_build_with_one_line(tmp_path: Path) -> None:
    wheelhouse = tmp_path / "wheels"
    make_wheel(wheelhouse, "nightlight", f"{TARGET.abi}-{TARGET.abi}-win_amd64")  # built for Windows only
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("nightlight==1.0\n")
    out = tmp_path / "lambda.zip"

    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_lambda_zip.py"), str(out), "--offline",
                             "--wheelhouse", str(wheelhouse), "--requirements", str(requirements)],
                            capture_output=True, text=True, timeout=300)

    assert result.returncode != 0 and not out.exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"build_lambda_zip: error: no wheel for {TARGET.platform} / CPython "
                               f"{TARGET.python_version} of nightlight")


def test_the_same_wheel_built_for_lambda_installs(tmp_path: Path) -> None:
    """The check above refuses the platform, not the package: a manylinux build of it for the target passes."""
    wheelhouse = tmp_path / "wheels"
    make_wheel(wheelhouse, "nightlight", f"{TARGET.abi}-{TARGET.abi}-{TARGET.platform}")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("nightlight==1.0\n")
    build_lambda_zip.install_requirements(requirements, tmp_path / "stage", wheelhouse, TARGET, allow_index=False)
    assert (tmp_path / "stage" / "nightlight" / "__init__.py").exists()


def test_pip_chooses_wheels_for_the_lambda_platform_never_for_this_machine() -> None:
    args = build_lambda_zip._platform_args(build_lambda_zip.Target("python3.13", "arm64"))
    assert args == ["--only-binary=:all:", "--platform", "manylinux2014_aarch64", "--python-version", "3.13",
                    "--implementation", "cp", "--abi", "cp313"]


def with_user_config(tmp_path: Path, runtime: str | None = None, **parameters: str) -> Path:
    """A copy of ask-resources.json with another runtime or more stack parameters."""
    resources = json.loads((ROOT / "ask-resources.json").read_text())
    config = resources["profiles"]["default"]["skillInfrastructure"]["userConfig"]
    config["runtime"] = runtime or config["runtime"]
    config["cfn"]["parameters"].update(parameters)
    path = tmp_path / "ask-resources.json"
    path.write_text(json.dumps(resources))
    return path


def test_a_runtime_the_build_cannot_target_is_a_python_version_mismatch(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"Python version mismatch: .*'python3\.11'.*'python3\.13' or 'python3\.12'"):
        build_lambda_zip.target_from(with_user_config(tmp_path, "python3.11"))
    assert build_lambda_zip.target_from(with_user_config(tmp_path, "python3.12")).python_version == "3.12"
    assert build_lambda_zip.target_from().runtime == "python3.13"  # the project's own file


def test_the_architecture_comes_from_the_stack_parameter_the_ask_cli_passes(tmp_path: Path) -> None:
    assert build_lambda_zip.target_from(with_user_config(tmp_path, LambdaArchitecture="arm64")).platform == \
        "manylinux2014_aarch64"
    assert build_lambda_zip.target_from(with_user_config(tmp_path, LambdaArchitecture="x86_64"), "arm64").machine == \
        "aarch64"  # --arch overrides it
    with pytest.raises(BuildError, match="'sparc' is not a Lambda architecture"):
        build_lambda_zip.target_from(with_user_config(tmp_path, LambdaArchitecture="sparc"))


def staged(tmp_path: Path) -> Path:
    """A clean stage: the handler and the skill package as the build copies them."""
    stage = tmp_path / "stage"
    stage.mkdir()
    build_lambda_zip.copy_runtime_package(stage)
    build_lambda_zip.check_contents(stage, TARGET)  # clean before anything is planted
    return stage


@pytest.mark.parametrize("planted", ["flask/__init__.py", "werkzeug/__init__.py", "gunicorn/__init__.py",
                                     "pytest/__init__.py", "_pytest/__init__.py", "skill_tools/__init__.py",
                                     "skill/web/app.py", "Flask-3.1.0.dist-info/METADATA"])
def test_a_forbidden_package_in_the_artifact_stops_the_build(tmp_path: Path, planted: str) -> None:
    stage = staged(tmp_path)
    path = stage / planted
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("Name: Flask\n" if planted.endswith("METADATA") else "")
    with pytest.raises(BuildError, match="forbidden package in the Lambda artifact"):
        build_lambda_zip.check_contents(stage, TARGET)


OTHER_MACHINE = next(m for m in build_lambda_zip.ARCHITECTURES.values() if m != TARGET.machine)


@pytest.mark.parametrize("extension", [f"_core.{TARGET.cache_tag}-{OTHER_MACHINE}-linux-gnu.so",
                                       f"_core.cpython-311-{TARGET.machine}-linux-gnu.so",
                                       f"_core.{TARGET.cache_tag}-darwin.so"])
def test_an_extension_module_for_another_platform_or_python_stops_the_build(tmp_path: Path, extension: str) -> None:
    stage = staged(tmp_path)
    (stage / "nightlight").mkdir()
    (stage / "nightlight" / extension).write_bytes(b"\x7fELF")
    with pytest.raises(BuildError, match="extension module built for another platform or Python"):
        build_lambda_zip.check_contents(stage, TARGET)


def test_boto3_left_in_the_artifact_would_shadow_the_runtimes_and_stops_the_build(tmp_path: Path) -> None:
    stage = staged(tmp_path)
    (stage / "botocore").mkdir()
    (stage / "botocore" / "__init__.py").write_text("")
    with pytest.raises(BuildError, match="botocore would shadow the Lambda runtime"):
        build_lambda_zip.check_contents(stage, TARGET)


def test_the_lambda_pins_sit_inside_the_projects_own_ranges() -> None:
    """lambda/requirements.txt is the one list for the artifact; it must not drift from pyproject.toml."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ranges = {Requirement(r).name.lower(): Requirement(r).specifier
              for r in [*project["dependencies"], *project["optional-dependencies"]["dynamodb"]]}
    pins = [Requirement(line) for line in (ROOT / "lambda" / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    assert pins and all(str(p.specifier).startswith("==") for p in pins), "pinned, so every build is the same"
    checked = 0
    for pin in pins:
        if pin.name.lower() in ranges:
            version = str(pin.specifier).removeprefix("==")
            assert ranges[pin.name.lower()].contains(version), (pin, ranges[pin.name.lower()])
            checked += 1
    assert checked >= 2  # ask-sdk-core and the DynamoDB adapter at least
    assert not {p.name.lower() for p in pins} & {"boto3", "botocore", "flask", "gunicorn", "werkzeug"}
