"""Alembic environment: the engine comes from the caller (migrations.upgrade), never from
alembic.ini. No target metadata: each revision keeps its own DDL, and the application's
tables (store.schema) are compared with what the revisions build by the tests alone."""

from alembic import context

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch migrations recreate a table and drop the old one; with foreign keys on, that
        # drop would cascade and delete every row that references it (all memberships).
        # The pragma only takes effect outside a transaction, hence before begin().
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            render_as_batch=sqlite,
            on_version_apply=context.config.attributes.get("on_version_apply"),
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
