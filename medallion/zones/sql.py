"""Small SQL helpers shared by every writer: identifiers and literals quoted safely, and the
one transaction every write of a table goes through."""

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import duckdb


def quote(name: str) -> str:
    """A DuckDB identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A DuckDB string literal, single-quoted."""
    return "'" + value.replace("'", "''") + "'"


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN, then COMMIT when the body returns or ROLLBACK when it raises (even on
    KeyboardInterrupt): a failed or killed write leaves the last good version in place."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        # a failed COMMIT (a lake write conflict) has ended the transaction already; raise
        # the error that matters, e.g. the conflict the lake's step retry looks for
        with suppress(duckdb.TransactionException):
            con.execute("ROLLBACK")
        raise
