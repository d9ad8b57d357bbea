"""Delivery reports as plain text, for a terminal or a CI log."""

from __future__ import annotations

from collections.abc import Sequence

from alphapanda.delivery import tally
from alphapanda.delivery_report import DeliveryReport
from alphapanda.money import from_paise

_COLUMNS = (
    ("messages", "messages"),
    ("redelivered", "redelivered"),
    ("invalid", "invalid"),
    ("effects", "effects"),
    ("dead_lettered", "DLQ'd"),
    ("lost", "lost"),
    ("duplicated", "duplicated"),
    ("out_of_order", "out of order"),
    ("unexpected", "unexpected"),
)


def render(reports: Sequence[DeliveryReport]) -> str:
    head = f"{'broker':<8} {'stage':<10}" + "".join(f"{title:>13}" for _, title in _COLUMNS)
    lines = [head, "-" * len(head)]
    for report in reports:
        for stage in report.stages:
            counts = "".join(f"{tally(getattr(stage, name)):>13}" for name, _ in _COLUMNS)
            lines.append(f"{report.broker:<8} {stage.stage:<10}{counts}")
            for name in ("lost", "duplicated", "out_of_order", "unexpected"):
                ids = getattr(stage, name)
                if ids:
                    lines.append(f"{'':<19}{name}: {', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''}")
        p = report.portfolio
        verdict = "matches the fills log" if p.ok else "DIFFERS from the fills log"
        lines.append(
            f"{report.broker:<8} portfolio  {p.fills} fills; cash expected {from_paise(p.expected_cash)}, "
            f"ledger {from_paise(p.ledger_cash)}, Redis {from_paise(p.read_model_cash)}: {verdict}"
        )
        for label, keys in (("ledger", p.ledger_mismatches), ("Redis", p.read_model_mismatches)):
            if keys:
                shown = ", ".join(f"{s}:{t}" for s, t in keys[:5])
                lines.append(f"{'':<19}{label} positions differ: {shown}{' ...' if len(keys) > 5 else ''}")
        for reason, n in sorted(report.dead_letter_reasons.items(), key=lambda kv: -kv[1]):
            lines.append(f"{report.broker:<8} DLQ {n:>6} x {reason}")
    return "\n".join(lines)
