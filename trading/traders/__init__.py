"""Traders: how a validated signal becomes orders and fills on one broker."""
