"""Several daemons on one PostgreSQL (issue 19): live samples and admin changes shared through
LISTEN/NOTIFY (see storage/replication.py), the start-up reload after any gap, and the one
replica that runs history maintenance."""
