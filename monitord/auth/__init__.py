"""Users, passwords, JWTs and agent tokens."""
