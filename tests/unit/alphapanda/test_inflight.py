"""The bridge's bookkeeping: one batch in flight per partition, completion per broker, resends, revokes."""

from __future__ import annotations

import pytest

from alphapanda.inflight import Batch, InFlight, Record, spread

TICKS = "market.ticks"
RAW = "paper.signals.raw"
BOTH = {"paper", "zerodha"}


def rec(offset: int, *, live: bool = True) -> Record:
    return Record(offset, f"k{offset}", f"v{offset}".encode() if live else b"", live=live)


def fill(inflight: InFlight, topic: str, partition: int, offsets: range) -> None:
    for offset in offsets:
        inflight.add(topic, partition, rec(offset))


def start_next(
    inflight: InFlight, brokers: set[str], *, max_batch: int = 100, now: float = 0.0
) -> list[Batch]:
    """What the bridge's dispatch does: take every ready batch and start it."""
    return [
        inflight.start(topic, partition, records, brokers, now)
        for topic, partition, records in inflight.ready(max_batch)
    ]


@pytest.fixture
def inflight() -> InFlight:
    return InFlight()


# --- buffering and readiness -----------------------------------------------------------------------


def test_buffered_when_nothing_added_then_zero(inflight: InFlight) -> None:
    assert inflight.buffered(RAW, 0) == 0
    assert inflight.ready(10) == []
    assert inflight.in_flight_count() == 0


def test_add_when_records_added_then_buffered_per_partition(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(3))
    fill(inflight, RAW, 1, range(5))
    assert inflight.buffered(RAW, 0) == 3
    assert inflight.buffered(RAW, 1) == 5
    assert inflight.buffered(TICKS, 0) == 0


def test_ready_when_fewer_than_max_then_takes_all_buffered_in_order(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(10, 13))
    assert inflight.ready(100) == [(RAW, 0, [rec(10), rec(11), rec(12)])]
    assert inflight.buffered(RAW, 0) == 0


def test_ready_when_more_than_max_then_takes_max_and_leaves_rest(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(7))
    [(topic, partition, records)] = inflight.ready(3)
    assert (topic, partition) == (RAW, 0)
    assert [r.offset for r in records] == [0, 1, 2]
    assert inflight.buffered(RAW, 0) == 4


def test_ready_when_several_partitions_then_one_batch_each(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(2))
    fill(inflight, RAW, 1, range(2))
    fill(inflight, TICKS, 0, range(2))
    assert sorted((t, p) for t, p, _ in inflight.ready(100)) == [(TICKS, 0), (RAW, 0), (RAW, 1)]


def test_ready_when_partition_has_batch_in_flight_then_not_ready_again(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(3))
    [batch] = start_next(inflight, {"paper"}, max_batch=2)
    assert [r.offset for r in batch.records] == [0, 1]
    inflight.add(RAW, 0, rec(3))
    assert inflight.ready(100) == []
    assert inflight.buffered(RAW, 0) == 2


def test_ready_when_in_flight_batch_completes_then_partition_ready_again(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(3))
    [batch] = start_next(inflight, {"paper"}, max_batch=2)
    assert inflight.complete(batch.batch_id, "paper") is batch
    assert inflight.ready(100) == [(RAW, 0, [rec(2)])]


def test_ready_when_other_partition_busy_then_idle_one_still_ready(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(2))
    start_next(inflight, {"paper"})
    fill(inflight, RAW, 0, range(2, 4))
    fill(inflight, RAW, 1, range(2))
    assert [(t, p) for t, p, _ in inflight.ready(100)] == [(RAW, 1)]


# --- start and completion --------------------------------------------------------------------------


def test_start_when_called_then_batch_tracked_with_fresh_id(inflight: InFlight) -> None:
    fill(inflight, RAW, 2, range(5, 8))
    [batch] = start_next(inflight, {"paper"}, now=12.5)
    assert (batch.topic, batch.partition, batch.sent_at, batch.attempts) == (RAW, 2, 12.5, 1)
    assert batch.waiting_for == {"paper"}
    assert len(batch.batch_id) == 32
    assert inflight.in_flight_count() == 1


def test_start_when_brokers_set_passed_then_batch_keeps_its_own_copy(inflight: InFlight) -> None:
    brokers = {"paper", "zerodha"}
    fill(inflight, TICKS, 0, range(1))
    [batch] = start_next(inflight, brokers)
    inflight.complete(batch.batch_id, "paper")
    assert brokers == {"paper", "zerodha"}


def test_start_when_two_batches_then_distinct_ids(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(1))
    fill(inflight, RAW, 1, range(1))
    first, second = start_next(inflight, {"paper"})
    assert first.batch_id != second.batch_id


def test_complete_when_single_broker_done_then_batch_returned_and_forgotten(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(2))
    [batch] = start_next(inflight, {"paper"})
    assert inflight.complete(batch.batch_id, "paper") is batch
    assert inflight.in_flight_count() == 0
    assert inflight.complete(batch.batch_id, "paper") is None


def test_complete_when_market_ticks_batch_then_waits_for_every_broker(inflight: InFlight) -> None:
    fill(inflight, TICKS, 0, range(3))
    [batch] = start_next(inflight, BOTH)
    assert inflight.complete(batch.batch_id, "zerodha") is None
    assert batch.waiting_for == {"paper"}
    fill(inflight, TICKS, 0, range(3, 4))
    assert inflight.ready(100) == []
    assert inflight.complete(batch.batch_id, "paper") is batch
    assert inflight.in_flight_count() == 0
    assert inflight.ready(100) == [(TICKS, 0, [rec(3)])]


def test_complete_when_same_broker_reports_twice_then_still_waits_for_the_other(inflight: InFlight) -> None:
    fill(inflight, TICKS, 0, range(1))
    [batch] = start_next(inflight, BOTH)
    assert inflight.complete(batch.batch_id, "paper") is None
    assert inflight.complete(batch.batch_id, "paper") is None
    assert inflight.in_flight_count() == 1


def test_complete_when_broker_not_awaited_then_ignored(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(1))
    [batch] = start_next(inflight, {"paper"})
    assert inflight.complete(batch.batch_id, "zerodha") is None
    assert batch.waiting_for == {"paper"}


def test_complete_when_unknown_batch_id_then_none_and_nothing_changes(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(1))
    start_next(inflight, {"paper"})
    assert inflight.complete("not-a-batch", "paper") is None
    assert inflight.in_flight_count() == 1


# --- expiry and resend -----------------------------------------------------------------------------


def expired(inflight: InFlight, now: float, run: float = 30.0, queue: float = 300.0) -> list:
    return [
        (batch, overdue) for batch, overdue in inflight.expired(now, run_timeout=run, queue_timeout=queue)
    ]


def test_expired_when_never_started_then_only_after_the_queue_timeout(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(1))
    [old] = start_next(inflight, {"paper"}, now=100.0)
    fill(inflight, RAW, 1, range(1))
    [new] = start_next(inflight, {"paper"}, now=120.0)
    assert expired(inflight, now=399.9) == [], "waiting in the queue behind other work is not lost"
    assert expired(inflight, now=400.0) == [(old, {"paper"})]
    assert expired(inflight, now=420.0) == [(old, {"paper"}), (new, {"paper"})]


def test_expired_when_started_then_after_the_run_timeout_from_its_start(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(1))
    [batch] = start_next(inflight, {"paper"}, now=0.0)
    inflight.begin(batch.batch_id, "paper", 250.0)
    assert expired(inflight, now=279.9) == []
    assert expired(inflight, now=280.0) == [(batch, {"paper"})], "its worker died mid-task"


def test_expired_when_one_broker_started_then_each_broker_timed_on_its_own(inflight: InFlight) -> None:
    fill(inflight, TICKS, 0, range(1))
    [batch] = start_next(inflight, BOTH, now=0.0)
    inflight.begin(batch.batch_id, "paper", 10.0)
    assert expired(inflight, now=40.0) == [(batch, {"paper"})]
    assert expired(inflight, now=300.0) == [(batch, {"paper", "zerodha"})]


def test_expired_when_completed_then_not_listed(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(1))
    [batch] = start_next(inflight, {"paper"}, now=0.0)
    inflight.complete(batch.batch_id, "paper")
    assert expired(inflight, now=1000.0) == []


def test_resent_when_expired_then_new_id_new_time_and_attempt_counted(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(2))
    [batch] = start_next(inflight, {"paper"}, now=0.0)
    old_id = batch.batch_id
    resent = inflight.resent(batch, now=31.0)
    assert resent is batch
    assert resent.batch_id != old_id
    assert (resent.sent_at, resent.attempts, resent.started) == (31.0, 2, {})
    assert inflight.in_flight_count() == 1
    assert expired(inflight, now=40.0) == []


def test_complete_when_old_id_after_resend_then_ignored_and_new_id_completes(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(2))
    [batch] = start_next(inflight, {"paper"})
    old_id = batch.batch_id
    inflight.resent(batch, now=31.0)
    assert inflight.complete(old_id, "paper") is None
    assert inflight.in_flight_count() == 1
    assert inflight.ready(100) == []
    assert inflight.complete(batch.batch_id, "paper") is batch
    assert inflight.in_flight_count() == 0


def test_resent_when_one_broker_already_done_then_waits_only_for_the_rest(inflight: InFlight) -> None:
    fill(inflight, TICKS, 0, range(1))
    [batch] = start_next(inflight, BOTH)
    inflight.complete(batch.batch_id, "paper")
    inflight.resent(batch, now=31.0)
    assert batch.waiting_for == {"zerodha"}
    assert inflight.complete(batch.batch_id, "zerodha") is batch


def test_resent_when_resent_twice_then_attempts_three(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(1))
    [batch] = start_next(inflight, {"paper"})
    first_id = inflight.resent(batch, now=31.0).batch_id
    inflight.resent(batch, now=62.0)
    assert batch.attempts == 3
    assert inflight.complete(first_id, "paper") is None


# --- revoke ----------------------------------------------------------------------------------------


def test_revoke_when_partition_revoked_then_buffer_and_in_flight_batch_dropped(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(3))
    [batch] = start_next(inflight, {"paper"}, max_batch=1)
    inflight.revoke([(RAW, 0)])
    assert inflight.buffered(RAW, 0) == 0
    assert inflight.in_flight_count() == 0
    assert inflight.ready(100) == []
    assert inflight.complete(batch.batch_id, "paper") is None
    assert expired(inflight, now=1e9, run=1, queue=1) == []


def test_revoke_when_other_partitions_then_they_are_untouched(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(2))
    fill(inflight, RAW, 1, range(2))
    _, kept = start_next(inflight, {"paper"}, max_batch=1)
    inflight.revoke([(RAW, 0)])
    assert inflight.in_flight_count() == 1
    assert inflight.buffered(RAW, 1) == 1
    assert inflight.complete(kept.batch_id, "paper") is kept


def test_revoke_when_partition_unknown_then_no_error(inflight: InFlight) -> None:
    inflight.revoke([("nowhere", 9)])
    assert inflight.in_flight_count() == 0


def test_revoke_when_partition_reassigned_then_starts_clean(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(2))
    [old] = start_next(inflight, {"paper"})
    inflight.revoke([(RAW, 0)])
    fill(inflight, RAW, 0, range(2))
    [new] = start_next(inflight, {"paper"})
    assert inflight.complete(old.batch_id, "paper") is None
    assert inflight.complete(new.batch_id, "paper") is new


# --- dead-letter-only batches ----------------------------------------------------------------------


def test_complete_all_when_every_record_dead_lettered_then_completed_for_all_brokers(
    inflight: InFlight,
) -> None:
    inflight.add(TICKS, 0, rec(0, live=False))
    inflight.add(TICKS, 0, rec(1, live=False))
    [batch] = start_next(inflight, BOTH)
    assert batch.live == []
    assert inflight.complete_all(batch.batch_id) is batch
    assert batch.waiting_for == set()
    assert inflight.in_flight_count() == 0
    inflight.add(TICKS, 0, rec(2))
    assert [t for t, _, _ in inflight.ready(100)] == [TICKS]


def test_complete_all_when_unknown_id_then_none(inflight: InFlight) -> None:
    assert inflight.complete_all("gone") is None


# --- batch properties ------------------------------------------------------------------------------


def test_next_offset_when_batch_then_one_past_last_record(inflight: InFlight) -> None:
    fill(inflight, RAW, 0, range(40, 45))
    [batch] = start_next(inflight, {"paper"})
    assert batch.next_offset == 45


def test_next_offset_when_last_record_dead_lettered_then_still_past_it(inflight: InFlight) -> None:
    inflight.add(RAW, 0, rec(7))
    inflight.add(RAW, 0, rec(8, live=False))
    [batch] = start_next(inflight, {"paper"})
    assert batch.next_offset == 9


def test_live_when_some_dead_lettered_then_only_live_records_in_order(inflight: InFlight) -> None:
    for offset, live in [(1, True), (2, False), (3, True), (4, False)]:
        inflight.add(RAW, 0, rec(offset, live=live))
    [batch] = start_next(inflight, {"paper"})
    assert [r.offset for r in batch.live] == [1, 3]
    assert len(batch.records) == 4


def test_record_when_defaults_then_live() -> None:
    assert Record(1, None, b"{}").live is True


def test_resend_all_when_task_queue_lost_then_every_unfinished_batch_returns_with_owing_brokers(
    inflight: InFlight,
) -> None:
    fill(inflight, TICKS, 0, range(3))
    fill(inflight, RAW, 1, range(2))
    ticks, raw = start_next(inflight, BOTH)
    inflight.complete(ticks.batch_id, "paper")
    old_ids = {ticks.batch_id, raw.batch_id}

    again = inflight.resend_all(now=9.0)

    assert {(b.topic, frozenset(owing)) for b, owing in again} == {
        (TICKS, frozenset({"zerodha"})),
        (RAW, frozenset(BOTH)),
    }
    assert not {b.batch_id for b, _ in again} & old_ids, "a late completion of the lost sends is ignored"
    assert inflight.complete(min(old_ids), "zerodha") is None
    assert inflight.complete(max(old_ids), "zerodha") is None
    assert all(b.attempts == 2 and b.sent_at == 9.0 for b, _ in again)


def test_expired_when_never_started_and_its_queue_idle_then_after_the_run_timeout(inflight: InFlight) -> None:
    """A worker that died holding the task before starting it: the queue is empty, nothing will run it."""
    fill(inflight, RAW, 0, range(2))
    (batch,) = start_next(inflight, {"paper"}, now=100.0)
    assert inflight.unstarted(129.9, older_than=30.0) == set()
    assert inflight.unstarted(130.0, older_than=30.0) == {"paper"}
    assert inflight.expired(130.0, run_timeout=30.0, queue_timeout=300.0) == [], "a busy queue: just waiting"
    assert inflight.expired(130.0, run_timeout=30.0, queue_timeout=300.0, idle=frozenset({"paper"})) == [
        (batch, {"paper"})
    ]
    inflight.begin(batch.batch_id, "paper", 131.0)
    assert inflight.unstarted(200.0, older_than=30.0) == set()


def test_spread_when_one_task_then_every_batch_in_it_in_order(inflight: InFlight) -> None:
    for partition in range(4):
        fill(inflight, RAW, partition, range(2))
    batches = start_next(inflight, {"paper"})
    assert len(batches) == 4
    assert spread(batches, 1) == [batches]


def test_spread_when_several_tasks_then_dealt_round_robin_none_empty(inflight: InFlight) -> None:
    for partition in range(3):
        fill(inflight, RAW, partition, range(2))
    batches = start_next(inflight, {"paper"})
    assert spread(batches, 2) == [[batches[0], batches[2]], [batches[1]]]
    assert spread(batches, 5) == [[b] for b in batches]
