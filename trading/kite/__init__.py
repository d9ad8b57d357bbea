"""Zerodha through Kite Connect: session, client, rate limits, order updates, ticks."""
