"""The writer's decision `details` documents: the batch form is the per-order JSON encoding, byte for byte."""

from __future__ import annotations

import pytest

from hft.live.engine import _details, _details_many


@pytest.mark.parametrize("ids", [
    ["a", "b-1", "x" * 64],
    ["é", "x\u2028", "a/b<>&", "a\x7fb"],  # not escaped by the encoder
    ['a"b', "c"], ["a\\b"], ["x\x1fy", "z"], ["tab\there"],  # escaped: the encoder's own form
    ["", "a"],  # an empty id: "{}"
])
def test_details_of_many_ids_are_each_ids_json_document(ids):
    assert _details_many(ids) == [_details(c) for c in ids]
