"""The CloudFormation stack `ask deploy` creates: it lints clean, agrees with the build and the CLI's
configuration, runs a published version with SnapStart behind the alias Alexa calls, and its role
allows exactly the DynamoDB calls a real conversation makes."""
from __future__ import annotations

import ast
import hashlib
import json
import random
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

cfnlint_api = pytest.importorskip("cfnlint.api")
from cfnlint.decode import decode_str  # noqa: E402 - after the skip

from skill.builder import build_skill  # noqa: E402
from skill.profile.dynamo import make_dynamodb_adapter  # noqa: E402
from skill.profile.factory import make_persistence_adapter  # noqa: E402
from skill.runtime import SkillRunner  # noqa: E402
from skill.services import Services  # noqa: E402
from skill.settings import Settings  # noqa: E402
from tests.conversation import SKILL_ID, Conversation  # noqa: E402
from tests.moto_dynamodb import dynamodb_endpoint  # noqa: E402, F401 - a fixture: moto on loopback, atomic as DynamoDB
from bench.coldstart import load_build  # noqa: E402 - scripts/build_lambda_zip.py, loaded once per process

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infrastructure" / "cfn-deployer" / "skill-stack.yaml"
# The AWS regions the ASK CLI deploys to by default for the Alexa regions (NA, EU, FE).
ASK_REGIONS = ["us-east-1", "eu-west-1", "us-west-2"]
# Parameters @ask-cli/cfn-deployer always passes (its reserved names).
CLI_PARAMETERS = {"SkillId", "LambdaRuntime", "LambdaHandler", "CodeBucket", "CodeKey", "CodeVersion"}

Template = dict[str, Any]


@pytest.fixture(scope="module")
def template() -> Template:
    decoded, errors = decode_str(TEMPLATE.read_text())
    assert not errors and decoded is not None
    return dict(decoded)


@pytest.fixture(scope="module")
def user_config() -> dict[str, Any]:
    resources = json.loads((ROOT / "ask-resources.json").read_text())
    return resources["profiles"]["default"]["skillInfrastructure"]["userConfig"]  # type: ignore[no-any-return]


def lint_problems(text: str) -> list[str]:
    """cfn-lint's errors and warnings for a template, one line each (informational notes too)."""
    return [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in cfnlint_api.lint(text, regions=ASK_REGIONS)
            if m.rule.id[0] in "EWI"]


def resource(template: Template, kind: str) -> dict[str, Any]:
    """The one resource of this type, with its properties."""
    found = [r for r in template["Resources"].values() if r["Type"] == kind]
    assert len(found) == 1, kind
    return found[0]  # type: ignore[no-any-return]


def name_of(template: Template, kind: str) -> str:
    return next(name for name, r in template["Resources"].items() if r["Type"] == kind)


# --- cfn-lint ----------------------------------------------------------------------------------


def test_cfn_lint_finds_no_error_or_warning_in_the_stack() -> None:
    assert lint_problems(TEMPLATE.read_text()) == []


def test_cfn_lint_does_find_a_broken_stack() -> None:
    """The check above can fail: the same template with a runtime Lambda retired is reported."""
    broken = TEMPLATE.read_text().replace("Runtime: !Ref LambdaRuntime", "Runtime: python2.7")
    assert broken != TEMPLATE.read_text()
    assert any("python2.7" in line for line in lint_problems(broken))


def as_deployed(runtime: str, snapstart: str = "PublishedVersions") -> str:
    """The template with the runtime and SnapStart written in, as one deploy resolves them.

    cfn-lint checks SnapStart against the runtime only for values it can see, not through a Ref.
    """
    text = TEMPLATE.read_text()
    for old, new in {"Runtime: !Ref LambdaRuntime": f"Runtime: {runtime}",
                     "ApplyOn: !Ref SnapStart": f"ApplyOn: {snapstart}"}.items():
        assert old in text
        text = text.replace(old, new)
    return text


def test_every_runtime_the_stack_allows_has_snapstart_in_the_regions_the_ask_cli_deploys_to(template: Template) -> None:
    for runtime in template["Parameters"]["LambdaRuntime"]["AllowedValues"]:
        for snapstart in template["Parameters"]["SnapStart"]["AllowedValues"]:
            assert lint_problems(as_deployed(runtime, snapstart)) == [], (runtime, snapstart)
    # And the check can fail: Python 3.11 has no SnapStart.
    assert any("'python3.11' is not supported for 'SnapStart'" in line for line in lint_problems(as_deployed("python3.11")))


# --- the stack, the build and the ASK CLI agree ------------------------------------------------


def test_the_stack_takes_the_parameters_the_ask_cli_passes(template: Template, user_config: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert CLI_PARAMETERS <= set(parameters)
    # Ours come from ask-resources.json's cfn.parameters, and must be values the stack allows.
    for name, value in user_config["cfn"]["parameters"].items():
        assert isinstance(value, str), f"{name}: CloudFormation parameter values are strings"
        allowed = parameters[name].get("AllowedValues")
        assert allowed is None or value in [str(v) for v in allowed], name
    assert (ROOT / user_config["templatePath"]).resolve() == TEMPLATE
    # cfn-deployer reads the output named SkillEndpoint (helper.js) and writes it into skill.json.
    assert template["Outputs"]["SkillEndpoint"]["Value"] == {"Ref": name_of(template, "AWS::Lambda::Alias")}


def test_runtime_architecture_and_handler_are_the_builds(template: Template, user_config: dict[str, Any]) -> None:
    build = load_build()
    function = resource(template, "AWS::Lambda::Function")["Properties"]
    runtime = template["Parameters"]["LambdaRuntime"]
    # The stack allows the runtimes the build can target, Python 3.13 first and by default; the CLI passes 3.13.
    assert runtime["AllowedValues"] == list(build.RUNTIMES) and runtime["Default"] == "python3.13" == user_config["runtime"]
    assert function["Runtime"] == {"Ref": "LambdaRuntime"}
    # arm64 by default, as the build's default and as ask-resources.json passes it (the build reads it there).
    architecture = template["Parameters"]["LambdaArchitecture"]
    assert function["Architectures"] == [{"Ref": "LambdaArchitecture"}]
    assert set(architecture["AllowedValues"]) == set(build.ARCHITECTURES)
    assert architecture["Default"] == build.DEFAULT_ARCHITECTURE == "arm64" == user_config["cfn"]["parameters"]["LambdaArchitecture"]
    assert build.target_from().architecture == "arm64"
    assert template["Parameters"]["LambdaHandler"]["AllowedValues"] == [user_config["handler"]]
    module, function_name = user_config["handler"].split(".")
    source = (ROOT / "lambda" / f"{module}.py").read_text()
    assert function_name in {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}


def test_the_ask_cli_subscribes_the_function_to_skill_disabled(user_config: dict[str, Any]) -> None:
    """The CLI writes the stack's endpoint into skill.json's events for these subscriptions."""
    assert "SKILL_DISABLED" in user_config["skillEvents"]["subscriptions"]


# --- what the function is given ---------------------------------------------------------------


def test_the_environment_is_what_the_skills_settings_read(template: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    variables = resource(template, "AWS::Lambda::Function")["Properties"]["Environment"]["Variables"]
    table = name_of(template, "AWS::DynamoDB::Table")
    assert variables["BEDTIME_PERSISTENCE"] == "dynamodb"
    assert variables["BEDTIME_SKILL_ID"] == {"Ref": "SkillId"}
    assert variables["BEDTIME_DYNAMODB_TABLE"] == {"Ref": table}
    assert variables["BEDTIME_AWS_REGION"] == {"Ref": "AWS::Region"}

    refs = {"SkillId": SKILL_ID, table: "stack-profiles", "AWS::Region": "eu-west-1", "LogLevel": "WARNING"}
    for name, value in variables.items():
        monkeypatch.setenv(name, refs[value["Ref"]] if isinstance(value, dict) else str(value))
    settings = Settings.from_env()  # as the Lambda entry reads them
    assert (settings.persistence, settings.skill_id, settings.dynamodb_table, settings.aws_region, settings.log_level) == (
        "dynamodb", SKILL_ID, "stack-profiles", "eu-west-1", "WARNING")


def test_only_this_skill_may_invoke_the_function_and_only_through_the_alias(template: Template) -> None:
    permission = resource(template, "AWS::Lambda::Permission")["Properties"]
    assert permission["Principal"] == "alexa-appkit.amazon.com"
    assert permission["EventSourceToken"] == {"Ref": "SkillId"}
    assert permission["Action"] == "lambda:InvokeFunction"
    # The alias's ARN, as the endpoint: Alexa calls published versions, never $LATEST (no snapshot there).
    assert permission["FunctionName"] == {"Ref": name_of(template, "AWS::Lambda::Alias")}
    assert template["Outputs"]["SkillEndpoint"]["Value"] == permission["FunctionName"]


# --- SnapStart: on by default, on a published version behind the alias ------------------------


def test_snapstart_is_on_by_default_and_a_parameter(template: Template, user_config: dict[str, Any]) -> None:
    parameter = template["Parameters"]["SnapStart"]
    assert parameter["Default"] == "PublishedVersions" and parameter["AllowedValues"] == ["PublishedVersions", "None"]
    assert "SnapStart" not in user_config["cfn"]["parameters"]  # the default is what ask deploy gets
    function = resource(template, "AWS::Lambda::Function")["Properties"]
    assert function["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}
    assert template["Parameters"]["LambdaRuntime"]["Default"] == "python3.13"


def test_the_alias_points_at_a_version_published_from_the_function(template: Template) -> None:
    function, version = name_of(template, "AWS::Lambda::Function"), name_of(template, "AWS::Lambda::Version")
    assert resource(template, "AWS::Lambda::Version")["Properties"]["FunctionName"] == {"Ref": function}
    alias = resource(template, "AWS::Lambda::Alias")["Properties"]
    assert alias["FunctionName"] == {"Ref": function}
    assert alias["FunctionVersion"] == {"Fn::GetAtt": [version, "Version"]}


def parameters_read_by(node: Any) -> set[str]:
    """Every name a Ref or Fn::Sub in ``node`` reads (parameters and resources alike)."""
    if isinstance(node, dict):
        names = {node["Ref"]} if isinstance(node.get("Ref"), str) else set()
        sub = node.get("Fn::Sub")
        if isinstance(sub, str):
            names |= set(re.findall(r"\$\{([A-Za-z0-9:]+)\}", sub))
        return names.union(*(parameters_read_by(v) for k, v in node.items() if k not in ("Ref", "Fn::Sub")))
    if isinstance(node, list):
        return set().union(*(parameters_read_by(v) for v in node))
    return set()


def test_any_change_to_the_code_or_the_functions_parameters_publishes_a_new_version(template: Template) -> None:
    """CloudFormation publishes only when the Version's own properties change: its description names them all."""
    read = parameters_read_by(resource(template, "AWS::Lambda::Function")["Properties"]) & set(template["Parameters"])
    described = parameters_read_by(resource(template, "AWS::Lambda::Version")["Properties"]["Description"])
    # A new bucket or key comes with a new upload, and so a new object version.
    assert read - {"CodeBucket", "CodeKey"} <= described, read - described
    assert "CodeVersion" in described
    # Lambda takes at most 256 characters, with the longest values a deploy can pass.
    longest = {"CodeVersion": "v" * 32, "LambdaRuntime": "python3.13", "LambdaHandler": "lambda_function.lambda_handler",
               "SnapStart": "PublishedVersions", "LogLevel": "WARNING", "LambdaArchitecture": "x86_64",
               "SkillId": "amzn1.ask.skill." + "0" * 36}
    text = resource(template, "AWS::Lambda::Version")["Properties"]["Description"]["Fn::Sub"]
    assert len(re.sub(r"\$\{(\w+)\}", lambda m: longest[m.group(1)], text)) <= 256


def test_logs_go_to_the_stacks_log_group_and_expire(template: Template) -> None:
    group = name_of(template, "AWS::Logs::LogGroup")
    function = resource(template, "AWS::Lambda::Function")["Properties"]
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": group}
    assert template["Resources"][group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_the_table_is_on_demand_and_keyed_as_the_adapter_reads_it(template: Template, monkeypatch: pytest.MonkeyPatch) -> None:
    table = resource(template, "AWS::DynamoDB::Table")
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST" and "ProvisionedThroughput" not in properties
    # On AWS (no endpoint override) the adapter does not try to create the table: the stack does.
    import skill.profile.dynamo as dynamo

    tried: list[str] = []
    monkeypatch.setattr(dynamo, "_create_table_if_missing", lambda resource, name: tried.append(name))
    adapter = make_dynamodb_adapter(Settings(persistence="dynamodb", aws_region="eu-west-1"))
    assert tried == [] and adapter.inner.create_table is False
    make_dynamodb_adapter(Settings(persistence="dynamodb", aws_region="eu-west-1", dynamodb_endpoint="http://127.0.0.1:1"))
    assert tried == ["bedtime-skill"]  # a local stand-in gets its table made
    assert properties["KeySchema"] == [{"AttributeName": adapter.inner.partition_key_name, "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [{"AttributeName": adapter.inner.partition_key_name, "AttributeType": "S"}]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"  # a stack mistake loses nobody's data


# --- the role: exactly what the skill does, on exactly its table ------------------------------


def role_statements(template: Template) -> list[dict[str, Any]]:
    role = resource(template, "AWS::IAM::Role")["Properties"]
    assert "ManagedPolicyArns" not in role, "no managed policy: every grant is written here"
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def allowed_dynamodb_actions(template: Template) -> set[str]:
    return {a.split(":", 1)[1] for s in role_statements(template) for a in actions(s) if a.startswith("dynamodb:")}


def test_the_role_grants_nothing_broad(template: Template) -> None:
    table = name_of(template, "AWS::DynamoDB::Table")
    group = name_of(template, "AWS::Logs::LogGroup")
    for statement in role_statements(template):
        assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
        assert not any("*" in a for a in actions(statement)), statement
        services = {a.split(":")[0] for a in actions(statement)}
        owner = {"dynamodb": table, "logs": group}
        assert len(services) == 1 and services <= set(owner), statement
        assert statement["Resource"] == {"Fn::GetAtt": [owner[services.pop()], "Arn"]}, statement


def test_the_role_allows_exactly_the_calls_a_real_conversation_makes(
    template: Template, dynamodb_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Keep a night, then "forget me": every DynamoDB call is recorded and held to the role."""
    import boto3

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    table_name = f"stack-profiles-{uuid.uuid4().hex[:8]}"
    spec = resource(template, "AWS::DynamoDB::Table")["Properties"]
    client = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url=dynamodb_endpoint)
    client.create_table(TableName=table_name, BillingMode=spec["BillingMode"],
                        AttributeDefinitions=spec["AttributeDefinitions"], KeySchema=spec["KeySchema"])

    settings = Settings(_env_file=None, persistence="dynamodb", dynamodb_table=table_name,
                        dynamodb_endpoint=dynamodb_endpoint, aws_region="eu-west-1", verify_signature=False,
                        alexa_api=False)
    adapter = make_persistence_adapter(settings)
    calls: list[str] = []
    adapter.inner.dynamodb.meta.client.meta.events.register(  # type: ignore[union-attr]
        "before-call.dynamodb", lambda model, **_: calls.append(model.name))
    said: list[str] = []
    skill = build_skill(settings, persistence=adapter, rng=random.Random(5), on_say=said.append,
                        services=Services(alexa_api=False))
    person = Conversation(SkillRunner(skill), said, user_id="amzn1.ask.account.ROLE")
    key = {"id": {"S": hashlib.sha256(b"amzn1.ask.account.ROLE").hexdigest()}}

    person.launch()
    person.ask("DoseTakenIntent")
    person.ask("AMAZON.YesIntent")  # keep count of my nights
    assert "Item" in client.get_item(TableName=table_name, Key=key), "the night was kept"
    person.ask("ForgetMeIntent")
    person.ask("AMAZON.YesIntent")
    assert "Item" not in client.get_item(TableName=table_name, Key=key), "forgotten"

    assert set(calls) == allowed_dynamodb_actions(template), calls
