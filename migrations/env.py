"""Alembic environment: the engine comes from the Store, never from alembic.ini."""

from alembic import context

from store.schema import in_core_schema, metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=in_core_schema,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
