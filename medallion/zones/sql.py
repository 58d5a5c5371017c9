"""Small SQL text helpers shared by the zones: identifiers and literals quoted safely."""


def quote(name: str) -> str:
    """A DuckDB identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A DuckDB string literal, single-quoted."""
    return "'" + value.replace("'", "''") + "'"
