"""`make bench`: the pipeline's throughput, latency, lag, memory and CPU against its ceilings, on its own
infrastructure.

One run measures the ceilings (bare Kafka; the bare Kafka -> Celery hop to a no-op task, one task per
message and one per partition batch) and then the full pipeline as real processes (feed -> strategies
-> bridge -> risk -> trade -> portfolio) at rising offered load until it saturates, with paper and with
paper,zerodha (against the local Kite sandbox), on a fresh Tansu, Redis and PostgreSQL; then, on paper,
ticks into strategies at rising tick rates. It writes every
figure to `bench/results/<date>.json` and plots beside it. Nothing here is a test: nothing asserts speed.

Modules: `stack` (infrastructure, children), `load` (loads, readers), `runs` (the ceilings),
`universe` (the bench's strategies and instruments), `pipeline` (the load steps), `latency` (joins the
topics by causation), `lag`, `memory` (samplers), `stats` (pure figures), `plots`.
"""
