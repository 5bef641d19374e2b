"""Persistence: the relational database (SQLAlchemy 2 + Alembic) and blob stores."""
