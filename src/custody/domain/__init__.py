"""The language of the work, pure: organisations, roles, cases, transfers, their states."""
