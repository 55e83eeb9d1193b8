"""Point the skill's manifest at its published privacy policy (and, optionally, terms of use).

Certification needs an https URL where a person can read PRIVACY.md. The manifest ships with a
placeholder on example.com; run this once you have published the policy, before `ask deploy`:

    make privacy-url URL=https://your.site/bedtime-magnesium/privacy
    python scripts/set_privacy_url.py https://your.site/privacy --terms https://your.site/terms

Only those fields change; the rest of skill.json is written back as it was.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from skill_tools.lint import LOCALE, SKILL_JSON, https_problem

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "interaction_model"
PLACEHOLDER_HOST = "example.com"


def set_urls(package: Path, privacy: str, terms: str | None = None) -> Path:
    """Write the URLs into package/skill.json; raise ValueError (and write nothing) if one is not https."""
    for label, url in (("privacy policy URL", privacy), ("terms of use URL", terms)):
        if url is not None and (reason := https_problem(url)):
            raise ValueError(f"{label}: {reason}")
    path = package / SKILL_JSON
    skill = json.loads(path.read_text(encoding="utf-8"))
    privacy_block = skill["manifest"].setdefault("privacyAndCompliance", {})
    # One policy for every locale the skill is published in (en-US at least).
    published = skill["manifest"].get("publishingInformation", {}).get("locales", {})
    for locale in sorted({LOCALE, *published}):
        urls = privacy_block.setdefault("locales", {}).setdefault(locale, {})
        urls["privacyPolicyUrl"] = privacy
        if terms is not None:
            urls["termsOfUseUrl"] = terms
    path.write_text(json.dumps(skill, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("privacy_url", help="https URL of the published privacy policy")
    parser.add_argument("--terms", help="https URL of the terms of use (optional)")
    parser.add_argument("--package", default=str(PACKAGE), help="the skill package folder (default: interaction_model)")
    args = parser.parse_args(argv)
    try:
        path = set_urls(Path(args.package), args.privacy_url, args.terms)
    except (ValueError, OSError, KeyError) as exc:
        print(f"set_privacy_url: error: {exc}", file=sys.stderr)
        return 1
    print(f"{path}: privacyPolicyUrl = {args.privacy_url}" + (f", termsOfUseUrl = {args.terms}" if args.terms else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
