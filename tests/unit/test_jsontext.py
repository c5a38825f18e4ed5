"""The views' JSON text is exactly what the standard library writes, whatever the values hold.

Rows written before the faster codec and rows written after must read and compare alike (``verify``
compares stored rows with a replay's, text for text), so the text must not change by one byte.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.jsontext import from_json, to_json

STANDARD = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# Any text a JSON document can carry as UTF-8 (lone surrogates cannot be stored as text at all).
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(values)
def test_the_text_is_the_standard_librarys_and_reads_back(value: object) -> None:
    written = to_json(value)
    assert written == STANDARD.encode(value)
    assert from_json(written) == value


def test_a_value_the_fast_codec_refuses_is_written_by_the_standard_library() -> None:
    value = {"n": 2**70, "name": "Cooperativa Aurífera"}
    assert to_json(value) == '{"n":1180591620717411303424,"name":"Cooperativa Aurífera"}'
