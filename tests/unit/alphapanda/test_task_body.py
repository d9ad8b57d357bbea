"""The batches' body between the bridge and the workers: each record's message arrives byte for byte,
under a key of the broker's own."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphapanda import task_body


def parts(values: list[bytes], key: str | None = "k") -> list:
    return [[3, "batch-1", [task_body.record(offset, key, value) for offset, value in enumerate(values)]]]


# Any JSON document a message could be: text with quotes, backslashes, escapes and non-ASCII.
documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
).map(lambda doc: json.dumps(doc, ensure_ascii=False).encode())


@given(st.lists(documents, min_size=1, max_size=5))
def test_records_when_sent_then_each_message_arrives_byte_for_byte(values: list[bytes]) -> None:
    body = task_body.encode(parts(values))
    for data in (body, body.decode()):  # as stored, and as a client that decodes replies reads it
        [(partition, batch_id, records)] = task_body.decode(data)
        assert (partition, batch_id) == (3, "batch-1")
        assert [(offset, key) for offset, key, _ in records] == [(i, "k") for i in range(len(values))]
        assert [task_body.value_bytes(value) for _, _, value in records] == values


def test_records_when_embedded_then_not_escaped_as_text() -> None:
    message = b'{"id":"e1","payload":{"symbol":"M&M \\"quoted\\""}}'
    assert message in task_body.encode(parts([message])), "the message is carried as JSON, not as text"


def test_record_when_key_absent_then_none() -> None:
    [(_, _, [(_, key, _)])] = task_body.decode(task_body.encode(parts([b"{}"], key=None)))
    assert key is None


def test_body_when_malformed_then_decode_error() -> None:
    with pytest.raises(msgspec.DecodeError):
        task_body.decode(b'[[0, "batch-1"]]')


def test_key_when_named_then_under_its_broker_only() -> None:
    key = task_body.key("paper", "b1")
    assert key == "paper:bridge:body:b1"
    assert task_body.of_broker("paper", key)
    assert not task_body.of_broker("zerodha", key)
    assert not task_body.of_broker("paper", "paperx:bridge:body:b1")


@pytest.mark.parametrize(
    ("value", "expected"),
    [('{"a":"é"}', '{"a":"é"}'.encode()), (b'{"a":1}', b'{"a":1}'), (msgspec.Raw(b"[1]"), b"[1]")],
)
def test_value_bytes_when_text_bytes_or_raw_then_the_same_bytes(value, expected: bytes) -> None:
    """A task called directly with its `parts` may carry the records as text."""
    assert task_body.value_bytes(value) == expected
