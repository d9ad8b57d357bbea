"""The live per-broker table `make run` shows: figures from the read model, process states."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from portfolio.selectors import BrokerSummary, portfolio_summary, strategy_pnl_list
from trading.selectors import recent_fills

COLUMNS = (
    ("equity", "Equity ₹"),
    ("realized", "Realized ₹"),
    ("unrealized", "Unrealized ₹"),
    ("charges", "Charges ₹"),
    ("pnl", "Net P&L ₹"),
    ("open_positions", "Open pos"),
    ("signals", "Signals"),
    ("orders", "Orders"),
    ("fills", "Fills"),
    ("rejections", "Rejected"),
)


def _money(value) -> str:
    return f"{value:,.2f}" if not isinstance(value, int) else f"{value:,}"


def _signed(value) -> str:
    """Green for a gain, red for a loss."""
    return f"[{'green' if value > 0 else 'red'}]{_money(value)}[/]" if value else _money(value)


def _table(summaries: Sequence[BrokerSummary], labels: dict, children: Sequence, elapsed: float) -> Group:
    table = Table(title=f"Alpha Panda, {elapsed:,.0f}s", title_justify="left")
    table.add_column("Broker", style="bold")
    for _, header in COLUMNS:
        table.add_column(header, justify="right")
    for s in summaries:
        label = labels.get(s.broker, s.broker)
        cells = []
        for field, _ in COLUMNS:
            value = getattr(s, field)
            cells.append(_signed(value) if field in ("pnl", "realized", "unrealized") else _money(value))
        table.add_row(label, *cells)
    by_strategy = Table(title="By strategy", title_justify="left", box=None, padding=(0, 2))
    for header in ("Broker", "Strategy", "Realized ₹", "Unrealized ₹", "Charges ₹", "Net P&L ₹", "Open pos"):
        by_strategy.add_column(header, justify="left" if header in ("Broker", "Strategy") else "right")
    for s in summaries:
        for p in strategy_pnl_list(broker=s.broker):
            by_strategy.add_row(
                s.broker, p.strategy, _money(p.realized), _money(p.unrealized), _money(p.charges),
                _signed(p.pnl), str(p.open_positions),
            )  # fmt: skip
    fills = Table(title="Latest fills", title_justify="left", box=None, padding=(0, 2))
    for header in ("Broker", "Strategy", "Symbol", "Side", "Qty", "Price ₹", "Charges ₹"):
        fills.add_column(header, justify="right" if header in ("Qty", "Price ₹", "Charges ₹") else "left")
    for s in summaries:
        for f in recent_fills(broker=s.broker):
            colour = "green" if f.side == "BUY" else "red"
            fills.add_row(
                s.broker, f.strategy, f.symbol, f"[{colour}]{f.side}[/]", str(f.quantity), f"{f.price:,.2f}",
                f"{f.charges:,.2f}",
            )  # fmt: skip
    procs = Table(show_header=False, box=None, padding=(0, 2))
    for child in children:
        state = child.state
        procs.add_row(child.name, str(child.proc.pid), state if state == "running" else f"[red]{state}[/]")
    return Group(table, by_strategy, fills, procs)


def _plain(summaries: Sequence[BrokerSummary], elapsed: float) -> str:
    parts = []
    for s in summaries:
        parts.append(
            f"[{elapsed:5.0f}s] {s.broker}: equity {s.equity:,.2f} realized {s.realized:,.2f} "
            f"unrealized {s.unrealized:,.2f} charges {s.charges:,.2f} pnl {s.pnl:,.2f} "
            f"open {s.open_positions} signals {s.signals} orders {s.orders} fills {s.fills} "
            f"rejected {s.rejections}"
        )
    return "\n".join(parts)


def show(out: Console, *, brokers: Sequence[str], labels: dict, children: Sequence, duration: float) -> None:
    """Refresh until Ctrl-C or `duration`; without a terminal, print a plain line every 5 s."""
    started = time.monotonic()

    def done() -> bool:
        return bool(duration) and time.monotonic() - started >= duration

    if not out.is_terminal:
        next_print = 0.0
        while not done():
            elapsed = time.monotonic() - started
            if elapsed >= next_print:
                out.print(_plain([portfolio_summary(broker=b) for b in brokers], elapsed), highlight=False)
                next_print += 5
            time.sleep(0.5)
        out.print(_plain([portfolio_summary(broker=b) for b in brokers], time.monotonic() - started))
        return
    with Live(console=out, refresh_per_second=2) as live:
        while not done():
            elapsed = time.monotonic() - started
            live.update(_table([portfolio_summary(broker=b) for b in brokers], labels, children, elapsed))
            time.sleep(0.5)
