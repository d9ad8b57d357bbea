"""Tick sources for running without a live market: a seeded random walk and recorded-CSV replay."""
