"""The database: SQLite in the data directory by default, or PostgreSQL."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, create_engine, select

from emulator.models import JOB_STATUSES, EmulatorState, TranscodeJobStatus

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_POOL_SIZE = 40
CLOCK_OFFSET_KEY = "clock_offset"
# Any constant shared by every process; it names the lock that serialises
# schema creation when the API and worker processes start at once.
SCHEMA_LOCK_ID = 0x7472616E73


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # As many pooled connections as the API's thread pool has threads, so
        # a busy API reuses connections instead of opening new ones.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_SIZE,
        )
        event.listen(engine, "connect", _tune_sqlite)
        return engine

    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _tune_sqlite(dbapi_connection, _record) -> None:
    # WAL lets readers run beside the one writer; the busy timeout makes a
    # writer wait for the lock instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def create_schema(engine: Engine) -> None:
    """Create missing tables and columns and the fixed job statuses."""
    with engine.begin() as connection:
        if is_postgres(engine):
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SCHEMA_LOCK_ID})
        SQLModel.metadata.create_all(connection)
        _add_missing_columns(connection)

        with Session(bind=connection) as session:
            for status_id, (name, description) in JOB_STATUSES.items():
                if session.get(TranscodeJobStatus, status_id) is None:
                    session.add(
                        TranscodeJobStatus(id=status_id, name=name, description=description)
                    )
            session.flush()


def _add_missing_columns(connection: Connection) -> None:
    # A database written by an older version lacks the nullable columns added
    # since; create_all() makes missing tables only.
    inspector = inspect(connection)
    for table in SQLModel.metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present or not column.nullable:
                continue
            kind = column.type.compile(dialect=connection.dialect)
            connection.execute(
                text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}')
            )


def drop_state(engine: Engine) -> None:
    """Empty every table but the fixed job statuses."""
    with Session(engine) as session:
        for table in reversed(SQLModel.metadata.sorted_tables):
            if table.name != TranscodeJobStatus.__tablename__:
                session.execute(table.delete())
        session.commit()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def load_clock_offset(engine: Engine) -> float:
    with Session(engine) as session:
        row = session.get(EmulatorState, CLOCK_OFFSET_KEY)
        return float(row.value) if row else 0.0


def store_clock_offset(engine: Engine, offset: float) -> None:
    with Session(engine) as session:
        row = session.get(EmulatorState, CLOCK_OFFSET_KEY)
        if row is None:
            row = EmulatorState(key=CLOCK_OFFSET_KEY, value=str(offset))
        row.value = str(offset)
        session.add(row)
        session.commit()


def all_statuses(session: Session) -> list[TranscodeJobStatus]:
    return list(session.exec(select(TranscodeJobStatus).order_by(TranscodeJobStatus.id)))
