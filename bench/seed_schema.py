"""Take secondary indexes and constraints off the loaded tables, and put them back.

Why: a btree or GIN index maintained row by row during a million-row ``COPY`` costs far more
than one sorted build afterwards, and foreign keys must be off anyway because the load
writes each big table on its own connection (a state transition arrives before its
dossier's transaction has committed) and ``COPY … FREEZE`` needs a ``TRUNCATE`` in the same
transaction, which PostgreSQL refuses on a table that any foreign key references.

Safety: the statements that recreate everything are saved in the table ``bench_seed_ddl``
in the same transaction that drops the objects. If a load dies half-way, the next run finds
that table and recreates whatever is missing before anything else, so the schema never stays
without its indexes or constraints. Primary keys are never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

DDL_TABLE = "bench_seed_ddl"


@dataclass(frozen=True)
class Saved:
    """One dropped object and the statement that recreates it."""

    kind: str  # "index", "unique" or "foreign_key"
    table: str
    name: str
    restore: str

    def exists(self, connection: psycopg.Connection) -> bool:
        if self.kind == "index":
            query = "SELECT to_regclass(format('public.%%I', %s::text)) IS NOT NULL"
            return bool(connection.execute(query, (self.name,)).fetchone()[0])
        query = """
            SELECT EXISTS (
                SELECT 1 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
                WHERE c.conname = %s AND t.relname = %s
                  AND t.relnamespace = 'public'::regnamespace
            )
        """
        return bool(connection.execute(query, (self.name, self.table)).fetchone()[0])

    def drop_statement(self) -> sql.Composed:
        if self.kind == "index":
            return sql.SQL("DROP INDEX {}").format(sql.Identifier(self.name))
        return sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            sql.Identifier(self.table), sql.Identifier(self.name)
        )


_FOREIGN_KEYS = """
    SELECT c.conname, t.relname, pg_get_constraintdef(c.oid)
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_class r ON r.oid = c.confrelid
    WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
      AND (t.relname = ANY(%(tables)s) OR r.relname = ANY(%(tables)s))
    ORDER BY t.relname, c.conname
"""
_UNIQUES = """
    SELECT c.conname, t.relname, pg_get_constraintdef(c.oid)
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
    WHERE c.contype = 'u' AND c.connamespace = 'public'::regnamespace
      AND t.relname = ANY(%(tables)s)
    ORDER BY t.relname, c.conname
"""
_INDEXES = """
    SELECT x.relname, t.relname, pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    JOIN pg_class x ON x.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    WHERE t.relnamespace = 'public'::regnamespace AND t.relname = ANY(%(tables)s)
      AND NOT EXISTS (
          SELECT 1 FROM pg_constraint c
          WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')
      )
    ORDER BY t.relname, x.relname
"""


def _add_constraint(connection: psycopg.Connection, table: str, name: str, body: str) -> str:
    head = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
        sql.Identifier(table), sql.Identifier(name)
    )
    return head.as_string(connection) + body


def foreign_keys(connection: psycopg.Connection, tables: list[str]) -> list[Saved]:
    """The foreign keys from or to ``tables``."""
    rows = connection.execute(_FOREIGN_KEYS, {"tables": tables}).fetchall()
    return [
        Saved("foreign_key", table, name, _add_constraint(connection, table, name, body))
        for name, table, body in rows
    ]


def indexes(connection: psycopg.Connection, tables: list[str]) -> list[Saved]:
    """The unique constraints and plain indexes of ``tables`` (primary keys stay)."""
    params = {"tables": tables}
    saved = [
        Saved("unique", table, name, _add_constraint(connection, table, name, body))
        for name, table, body in connection.execute(_UNIQUES, params).fetchall()
    ]
    saved += [
        Saved("index", table, name, body)
        for name, table, body in connection.execute(_INDEXES, params).fetchall()
    ]
    return saved


def drop(connection: psycopg.Connection, saved: list[Saved]) -> None:
    """Save the statements, then drop the objects, in one transaction (the connection is
    in autocommit mode)."""
    table = sql.Identifier(DDL_TABLE)
    with connection.transaction():
        connection.execute(
            sql.SQL(
                "CREATE TABLE {} (position integer PRIMARY KEY, kind text NOT NULL, "
                "tbl text NOT NULL, name text NOT NULL, restore text NOT NULL)"
            ).format(table)
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s)").format(table),
                [(i, s.kind, s.table, s.name, s.restore) for i, s in enumerate(saved)],
            )
        for item in saved:  # foreign keys come first: they lean on the unique indexes
            connection.execute(item.drop_statement())


def pending(connection: psycopg.Connection) -> list[Saved] | None:
    """The objects a previous, interrupted load left dropped; None when there was none."""
    exists = connection.execute("SELECT to_regclass(%s) IS NOT NULL", (DDL_TABLE,)).fetchone()
    if not exists[0]:
        return None
    rows = connection.execute(
        sql.SQL("SELECT kind, tbl, name, restore FROM {} ORDER BY position").format(
            sql.Identifier(DDL_TABLE)
        )
    )
    return [Saved(*row) for row in rows]


def forget(connection: psycopg.Connection) -> None:
    """Everything is back: the saved statements are no longer needed."""
    connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(DDL_TABLE)))
