"""The one markdown table builder behind Dagster metadata previews and model cards."""

from collections.abc import Callable, Iterable, Sequence


def _text(value: object) -> str:
    return "" if value is None else str(value)


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    cell: Callable[[object], str] = _text,
) -> str:
    """A markdown table; `cell` turns a value into text, then pipes are escaped and line
    breaks folded so that no value can break the table."""

    def line(values: Iterable[str]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|").replace("\n", " ") for v in values) + " |"

    lines = [line(header), "|" + "---|" * len(header)]
    return "\n".join(lines + [line(cell(v) for v in row) for row in rows])
