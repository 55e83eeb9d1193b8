"""What certification reads: the manifest, its icons and the privacy policy, held to the code."""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from skill_tools.lint import ICON_SIZES, lint, stored_profile_fields

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "interaction_model"
MANIFEST = json.loads((PACKAGE / "skill.json").read_text())["manifest"]


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_manifest_declares_what_the_skill_does_with_people() -> None:
    privacy = MANIFEST["privacyAndCompliance"]
    assert privacy["usesPersonalInfo"] is True and stored_profile_fields()
    assert privacy["isChildDirected"] is False
    # Health is heard within a session only and never stored; the skill is no HIPAA-eligible skill.
    assert privacy["usesHealthInfo"] is False
    assert privacy["locales"]["en-US"]["privacyPolicyUrl"].startswith("https://")
    assert {"type": "CAN_FULFILL_INTENT_REQUEST"} in MANIFEST["apis"]["custom"]["interfaces"]
    assert {"eventName": "SKILL_DISABLED"} in MANIFEST["events"]["subscriptions"]
    assert lint(PACKAGE) == []


def test_the_description_says_what_is_kept_and_how_to_erase_it_and_informs_rather_than_diagnoses() -> None:
    description = " ".join(MANIFEST["publishingInformation"]["locales"]["en-US"]["description"].split())
    assert "forget me" in description and "disabling the skill erases it" in description
    assert "never keeps anything you say about your health" in description
    assert "not a substitute for professional medical advice, diagnosis or treatment" in description
    # It informs: no diagnosing, curing or treating, and no telling a person what they have.
    claims = re.compile(r"\b(diagnos(e|es|ing)|cures?|heals?|treats?)\b|\byou (have|are) (insomnia|deficient)")
    assert not claims.search(description.lower()), claims.search(description.lower())


@pytest.mark.parametrize(("key", "size"), sorted(ICON_SIZES.items()))
def test_the_committed_icons_are_what_the_drawing_script_draws(key: str, size: int) -> None:
    from PIL import Image, ImageChops

    draw_icons = load_script("draw_icons")
    path = PACKAGE / MANIFEST["publishingInformation"]["locales"]["en-US"][key].removeprefix("file://")
    with Image.open(path) as committed:
        assert committed.format == "PNG" and committed.size == (size, size)
        pixels = committed.convert("RGB")
    drawn = draw_icons.draw(size)
    # Equal up to the rounding another Pillow release might do; a star moved or gone differs far more.
    largest = max(high for _, high in ImageChops.difference(pixels, drawn).getextrema())
    assert largest <= 12, f"{path.name} is stale: run `make icons` and commit the result"


def test_the_icons_are_a_calm_night_sky_with_a_pale_moon() -> None:
    from PIL import Image, ImageStat

    draw_icons = load_script("draw_icons")
    icon = draw_icons.draw(108)
    red, green, blue = ImageStat.Stat(icon).mean
    assert blue > red and max(red, green, blue) < 110  # dark and blue: night, nothing glaring
    raw = icon.tobytes()
    moonlit = sum(1 for i in range(0, len(raw), 3) if min(raw[i:i + 3]) > 170)
    assert 0.04 < moonlit / (108 * 108) < 0.25  # a moon, not a floodlight
    with Image.open(PACKAGE / "assets" / "images" / "en-US_smallIcon.png") as committed:
        assert committed.mode == "RGB"  # opaque: the store shows no checkerboard behind the sky


def test_the_privacy_policy_names_everything_the_profile_keeps_and_how_to_delete_it() -> None:
    policy = (ROOT / "PRIVACY.md").read_text()
    for field in stored_profile_fields() + ["schema_version"]:
        assert f"`{field}`" in policy, f"PRIVACY.md does not say the skill keeps {field}"
    # ...and names nothing it does not keep: every field in the table is one the profile has.
    table = re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)?", policy, flags=re.MULTILINE)
    named = {name for row in table for name in row if name}
    assert named and named - {"extra"} <= set(stored_profile_fields()) | {"schema_version"}, named
    for must in ("forget me", "SKILL_DISABLED", "SHA-256", "DynamoDB", "bedtime.sqlite3", "LogRetentionInDays",
                 "never stores anything about your health"):
        assert must in policy, must
    retention = re.search(r"RetentionInDays:\n\s+Type: Number\n\s+Default: (\d+)",
                          (ROOT / "infrastructure" / "cfn-deployer" / "skill-stack.yaml").read_text())
    assert retention and f"kept for {retention.group(1)}\ndays" in policy or f"kept for {retention.group(1)} days" in policy


def test_the_privacy_url_can_be_set_before_deploying(tmp_path: Path) -> None:
    package = tmp_path / "interaction_model"
    shutil.copytree(PACKAGE, package)
    script = ROOT / "scripts" / "set_privacy_url.py"
    before = json.loads((package / "skill.json").read_text())

    done = subprocess.run([sys.executable, str(script), "https://bedtime.example.net/privacy", "--terms",
                           "https://bedtime.example.net/terms", "--package", str(package)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    after = json.loads((package / "skill.json").read_text())
    assert after["manifest"]["privacyAndCompliance"]["locales"]["en-US"] == {
        "privacyPolicyUrl": "https://bedtime.example.net/privacy", "termsOfUseUrl": "https://bedtime.example.net/terms"}
    after["manifest"]["privacyAndCompliance"]["locales"] = before["manifest"]["privacyAndCompliance"]["locales"]
    assert after == before  # nothing else changed
    assert lint(package) == []


def test_a_privacy_url_that_is_not_https_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    package = tmp_path / "interaction_model"
    shutil.copytree(PACKAGE, package)
    before = (package / "skill.json").read_bytes()
    refused = subprocess.run([sys.executable, str(ROOT / "scripts" / "set_privacy_url.py"),
                              "http://bedtime.example.net/privacy", "--package", str(package)],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("set_privacy_url: error: privacy policy URL: "
                                      "'http://bedtime.example.net/privacy' is not an https URL")
    assert (package / "skill.json").read_bytes() == before
