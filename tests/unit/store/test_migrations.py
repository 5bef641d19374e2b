"""The migrations build exactly the schema the models describe, on both backends.

Alembic's autogenerate comparison between the migrated database and the
models must find nothing: a model change without its migration fails here,
before it fails in production on `custody admin init`.
"""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

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
