"""Metric history: the maintenance task that keeps it rolled up and within retention, and the
rules that turn a requested range into a tier and a step (the SQL is in monitord/storage)."""
