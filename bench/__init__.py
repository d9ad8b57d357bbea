"""`make bench`: the pipeline's throughput and latency against its ceilings, on its own infrastructure.

One run measures bare Kafka, the bare Kafka -> Celery hop (one no-op task per message) and the paper
pipeline (bridge and worker as separate processes) on the same fresh Tansu, Redis and PostgreSQL,
and writes every figure to `bench/results/<date>.json`. Nothing here is a test: nothing asserts speed.
"""
