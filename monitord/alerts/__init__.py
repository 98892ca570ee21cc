"""Alerting (issue 15): rules evaluated against the live cache, per (rule, server) state,
silences, grouping and deliveries through a database outbox to webhook and Apprise channels."""
