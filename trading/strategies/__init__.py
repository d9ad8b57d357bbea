"""Trading strategies: per-instrument state machines turning ticks into target-position signals."""
