"""`python -m skill.content [OUT_DIR]`: validate the content and write the compiled catalogs.

Without OUT_DIR it refreshes the checked-in `skill/content/compiled/`; the Lambda build passes its
own staging folder.
"""
from __future__ import annotations

import sys

from skill.content import COMPILED_DIR, ContentError, compile_catalogs


def main(argv: list[str]) -> int:
    out_dir = argv[0] if argv else COMPILED_DIR
    try:
        written = compile_catalogs(out_dir)
    except ContentError as exc:
        print(f"skill.content: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
