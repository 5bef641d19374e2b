"""The migrations build exactly the schema the models describe, on both backends.

Alembic's autogenerate comparison between the migrated database and the
models must find nothing: a model change without its migration fails here,
before it fails in production on `custody admin init`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import BigInteger, create_engine, inspect
from sqlalchemy.orm import Session

from custody.store import ledger_models, models, models_delivery, models_security
from custody.store.db import Base
from custody.store.migrate import alembic_config, upgrade

MODEL_MODULES = (models, models_security, models_delivery, ledger_models)


def test_migrations_match_the_models(db_url: str) -> None:
    assert all(m.Base is Base for m in MODEL_MODULES)
    engine = create_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": False}
            )
            diff = compare_metadata(context, Base.metadata)
        assert diff == []
        assert "units" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_every_migration_downgrades_and_upgrades_again(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        upgrade(engine)
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0004")
        assert "webauthn_credentials" not in inspect(engine).get_table_names()
        upgrade(engine)
        assert "webauthn_credentials" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_ledger_indexes_kept_outside_the_log_hold_64_bits(db_url: str) -> None:
    """Every column that points into the log counts as far as the log does (PostgreSQL's
    INTEGER would stop at 2^31 - 1): a record of an access at index 2^40 is kept as it is."""
    engine = create_engine(db_url)
    far = 2**40 + 7
    try:
        upgrade(engine)
        with Session(engine) as session, session.begin():
            session.add(models.AccessRecord(id="a" * 36, ledger_index=far,
                                            at=datetime(2026, 11, 30, tzinfo=UTC)))
        with Session(engine) as session:
            kept = session.get_one(models.AccessRecord, "a" * 36)
            assert kept.ledger_index == far
        pointers = {("user_keys", "ledger_index"), ("access_records", "ledger_index"),
                    ("alerts", "ledger_index"), ("organisations", "recovery_key_index"),
                    ("transfers", "sender_key_index")}
        found = inspect(engine)
        for table, column in pointers:
            (declared,) = [c["type"] for c in found.get_columns(table) if c["name"] == column]
            assert isinstance(declared, BigInteger), (table, column, declared)
    finally:
        engine.dispose()
