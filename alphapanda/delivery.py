"""Did every stage do exactly what its input log asks, once each and in order?

The log is the source of truth. For one stage (risk, trading, portfolio) we compare the messages in
its input topic with the effects in its ledger table, listed in the order they were made:
- lost: a valid message with neither an effect nor a dead letter;
- duplicated: an effect made more than once for one message;
- out of order: a partition key whose effects were made in another order than its messages;
- unexpected: an effect with no message behind it (written by something other than the log).
Redelivered copies of a message in the log (same id) are counted, and are harmless by design.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One message of the input log: where it is, the id its effect is recorded under, its order key."""

    partition: int
    offset: int
    effect_id: str | None  # None: invalid, the bridge dead-letters it
    key: str | None


@dataclass(frozen=True, slots=True)
class Effect:
    """One effect row, in the order it was made (primary-key order)."""

    effect_id: str
    key: str | None


@dataclass(frozen=True, slots=True)
class StageReport:
    stage: str
    topic: str
    messages: int
    redelivered: int
    invalid: int
    effects: int
    dead_lettered: int
    lost: tuple[str, ...]
    duplicated: tuple[str, ...]
    out_of_order: tuple[str, ...]
    unexpected: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.out_of_order or self.unexpected)


def tally(value: int | tuple[str, ...]) -> int:
    """A report field as a number: counts stay, id lists count their ids."""
    return len(value) if isinstance(value, tuple) else value


def stage_report(
    *,
    stage: str,
    topic: str,
    log: Sequence[LogEntry],
    effects: Sequence[Effect],
    dead: Iterable[tuple[int, int]],
) -> StageReport:
    """Compare one stage's input log with its effects; `dead` holds the (partition, offset) dead-lettered."""
    dead_at = set(dead)
    valid = [e for e in log if e.effect_id is not None]
    copies = Counter(e.effect_id for e in valid)
    made = Counter(e.effect_id for e in effects)
    dead_ids = {e.effect_id for e in valid if (e.partition, e.offset) in dead_at}
    lost = [i for i in copies if i not in made and i not in dead_ids]
    return StageReport(
        stage=stage,
        topic=topic,
        messages=len(log),
        redelivered=sum(n - 1 for n in copies.values()),
        invalid=len(log) - len(valid),
        effects=len(effects),
        dead_lettered=len(dead_at),
        lost=tuple(lost),
        duplicated=tuple(i for i, n in made.items() if n > 1),
        out_of_order=tuple(_out_of_order(valid, effects)),
        unexpected=tuple(i for i in made if i not in copies),
    )


def _out_of_order(log: Sequence[LogEntry], effects: Sequence[Effect]) -> list[str]:
    """Keys whose effects were made in another order than their first messages in the log."""
    made = {e.effect_id for e in effects}
    expected: defaultdict[str | None, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for entry in log:
        if entry.effect_id in made and entry.effect_id not in seen:
            seen.add(entry.effect_id)
            expected[entry.key].append(entry.effect_id)
    actual: defaultdict[str | None, list[str]] = defaultdict(list)
    for effect in effects:
        if effect.effect_id in seen and effect.effect_id not in actual[effect.key]:
            actual[effect.key].append(effect.effect_id)
    return [str(k) for k, ids in expected.items() if k is not None and actual.get(k, []) != ids]
