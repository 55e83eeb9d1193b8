"""xml_safe drops exactly what XML 1.0 forbids, as the regular expression it skips for printable text would."""
from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from skill.speech import _XML_INVALID, xml_safe

FORBIDDEN = re.compile(_XML_INVALID)


# Every code point, surrogates included (hypothesis leaves them out unless told), and the edges often.
ANY_CHARACTER = st.one_of(
    st.characters(exclude_categories=()), st.sampled_from("\x00\x08\t\x0b\x0c\r\x1f\ud800\udfff\ufffe\uffff\xa0 a")
)


@given(st.text(alphabet=ANY_CHARACTER, max_size=30))
def test_it_agrees_with_the_pattern_on_any_text(text: str) -> None:
    assert xml_safe(text) == FORBIDDEN.sub("", text)


def test_a_slot_value_with_forbidden_characters_is_cleaned_and_the_allowed_ones_kept() -> None:
    assert xml_safe("three\x00hundred\ud800\ufffe") == "threehundred"
    assert xml_safe("tab\tnew\nline\r") == "tab\tnew\nline\r"  # allowed in XML, though not printable
    assert xml_safe("glycinate") == "glycinate"
