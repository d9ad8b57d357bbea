"""The batches' body between the bridge and the workers: each record's message arrives byte for byte."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kombu.serialization import dumps, loads

from alphapanda import task_body

EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
ACCEPT = {task_body.CONTENT_TYPE}


def through_kombu(kwargs: dict) -> tuple:
    content_type, encoding, data = dumps(((), kwargs, EMBED), serializer=task_body.NAME)
    assert content_type == task_body.CONTENT_TYPE
    return loads(data, content_type, encoding, accept=ACCEPT)


def batch(values: list[bytes], key: str | None = "k") -> dict:
    records = [task_body.record(offset, key, value) for offset, value in enumerate(values)]
    return {"broker": "paper", "topic": "paper.signals.raw", "parts": [[3, "batch-1", records]]}


# Any JSON document a message could be: text with quotes, backslashes, escapes and non-ASCII.
documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
).map(lambda doc: json.dumps(doc, ensure_ascii=False).encode())


@given(st.lists(documents, min_size=1, max_size=5))
def test_records_when_sent_then_each_message_arrives_byte_for_byte(values: list[bytes]) -> None:
    args, kwargs, embed = through_kombu(batch(values))
    assert (args, embed) == ([], EMBED)
    assert (kwargs["broker"], kwargs["topic"]) == ("paper", "paper.signals.raw")
    [(partition, batch_id, records)] = kwargs["parts"]
    assert (partition, batch_id) == (3, "batch-1")
    assert [(offset, key) for offset, key, _ in records] == [(i, "k") for i in range(len(values))]
    assert [task_body.value_bytes(value) for _, _, value in records] == values


def test_records_when_embedded_then_not_escaped_as_text() -> None:
    message = b'{"id":"e1","payload":{"symbol":"M&M \\"quoted\\""}}'
    _, _, data = dumps(((), batch([message]), EMBED), serializer=task_body.NAME)
    assert message in data, "the message is carried as JSON, not as an escaped string"


def test_record_when_key_absent_then_none() -> None:
    _, kwargs, _ = through_kombu(batch([b"{}"], key=None))
    assert kwargs["parts"][0][2][0][1] is None


def test_kwargs_when_a_later_release_adds_one_then_left_out() -> None:
    _, kwargs, _ = through_kombu({**batch([b"{}"]), "deadline": 5})
    assert set(kwargs) == {"broker", "topic", "parts"}


def test_body_when_malformed_then_decode_error() -> None:
    with pytest.raises(msgspec.DecodeError):
        task_body.decode(b'[[], {"broker": "paper"}, {}]')


@pytest.mark.parametrize(
    ("value", "expected"),
    [('{"a":"é"}', '{"a":"é"}'.encode()), (b'{"a":1}', b'{"a":1}'), (msgspec.Raw(b"[1]"), b"[1]")],
)
def test_value_bytes_when_text_bytes_or_raw_then_the_same_bytes(value, expected: bytes) -> None:
    """A batch from a bridge of the release before, or a test, carries the records as text."""
    assert task_body.value_bytes(value) == expected
