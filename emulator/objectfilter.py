"""Object filters: parsed once, then run as SQL or, for containers, in Python.

A filter is nested JSON keyed by property names whose leaves carry an
`operation`. Parsing turns it into flat conditions and orderings along
property paths; `to_sql` builds SQLAlchemy clauses for a table-backed type
so the database does the filtering, `matches` and `sort_key` do the same
for the few types that are not stored in the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, func, inspect, not_, or_, select
from sqlalchemy.orm import RelationshipDirection
from sqlalchemy.sql import ColumnElement
from sqlalchemy.types import TypeDecorator

from emulator.errors import SoftLayer_Exception_Public
from emulator.types import SERVICE_TIMEZONE, TYPES, SoftLayerType

MAX_FILTER_DEPTH = 8
MAX_FILTER_CONDITIONS = 100
MAX_IN_VALUES = 1000
_OPERATOR = re.compile(r"^(!\*=|!\^=|!\$=|!_=|!=|!~|_=|\*=|\^=|\$=|>=|<=|~|>|<)\s*(.*)$", re.S)
# Something that starts like an operator but is none the service knows.
_UNKNOWN_OPERATOR = re.compile(r"^[!=<>~*^$_|&%]{1,3}\s")
SORT_OPTIONS = {"sort", "sortOrder"}
NULL_OPERATIONS = {
    "isNull": "isNull",
    "is null": "isNull",
    "isNotNull": "isNotNull",
    "not null": "isNotNull",
}


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]
    operator: str  # "=", "_=", "*=", ..., "in", "betweenDate", "isNull", "isNotNull"
    value: Any = None


@dataclass(frozen=True)
class Ordering:
    path: tuple[str, ...]
    descending: bool
    priority: int


@dataclass
class ParsedFilter:
    conditions: list[Condition]
    orderings: list[Ordering]


def parse_filter(
    raw: Any, item_type: str, wrapper_property: str | None = None
) -> ParsedFilter | None:
    """Parse a filter for a list of `item_type`.

    `wrapper_property` is the relational property a method returns (for
    getTranscodeJobs, `transcodeJobs`); SoftLayer keys the filter by it, and
    the inner form without that key is accepted as well.
    """
    if raw is None or raw == {} or raw == []:
        return None
    if not isinstance(raw, dict):
        raise SoftLayer_Exception_Public("Object filter must be an object.")

    softlayer_type = TYPES[item_type]
    if (
        wrapper_property
        and set(raw) == {wrapper_property}
        and wrapper_property not in softlayer_type.properties
    ):
        raw = raw[wrapper_property]
        if not isinstance(raw, dict):
            raise SoftLayer_Exception_Public(
                f"Filter of '{wrapper_property}' must be an object."
            )

    parsed = ParsedFilter([], [])
    _walk(raw, softlayer_type, (), parsed)
    return parsed


def _walk(node: dict, softlayer_type: SoftLayerType, path: tuple[str, ...], out: ParsedFilter) -> None:
    if len(path) >= MAX_FILTER_DEPTH:
        raise SoftLayer_Exception_Public(
            f"Object filter is nested deeper than {MAX_FILTER_DEPTH} levels."
        )
    for name, value in node.items():
        prop = softlayer_type.properties.get(name)
        if prop is None:
            raise SoftLayer_Exception_Public(
                f"Property '{name}' not valid for '{softlayer_type.name}' in object filter."
            )
        if not isinstance(value, dict):
            raise SoftLayer_Exception_Public(
                f"Filter of '{name}' must be an object with an 'operation'."
            )

        if "operation" in value or "options" in value:
            _leaf(path + (name,), value, out)
        elif prop.type_name is not None and value:
            _walk(value, TYPES[prop.type_name], path + (name,), out)
        else:
            raise SoftLayer_Exception_Public(
                f"Filter of '{name}' has no operation."
            )

        if len(out.conditions) + len(out.orderings) > MAX_FILTER_CONDITIONS:
            raise SoftLayer_Exception_Public(
                f"Object filter has more than {MAX_FILTER_CONDITIONS} conditions."
            )


def _leaf(path: tuple[str, ...], leaf: dict, out: ParsedFilter) -> None:
    unknown_keys = set(leaf) - {"operation", "options"}
    if unknown_keys:
        raise SoftLayer_Exception_Public(
            f"Unknown key '{sorted(unknown_keys)[0]}' in filter of '{path[-1]}'."
        )
    operation = leaf.get("operation")
    if isinstance(operation, (dict, list)):
        raise _bad(path, "operation must be a string or a number")
    options = _options(leaf.get("options"), path)

    if operation == "orderBy" or (operation is None and "sort" in options):
        _ordering(path, options, out)
        return
    if "sort" in options:
        _ordering(path, options, out)

    if operation == "in":
        values = options.get("data")
        if not isinstance(values, list):
            raise _bad(path, "'in' needs options [{name: 'data', value: [...]}]")
        if len(values) > MAX_IN_VALUES:
            raise _bad(path, f"'in' takes at most {MAX_IN_VALUES} values")
        out.conditions.append(Condition(path, "in", values))
    elif operation == "betweenDate":
        start, end = options.get("startDate"), options.get("endDate")
        if not start or not end:
            raise _bad(path, "'betweenDate' needs startDate and endDate options")
        out.conditions.append(
            Condition(path, "betweenDate", (parse_date(_first(start)), parse_date(_first(end))))
        )
    elif operation in NULL_OPERATIONS:
        out.conditions.append(Condition(path, NULL_OPERATIONS[operation]))
    elif isinstance(operation, bool) or operation is None:
        raise _bad(path, "operation must be a string or a number")
    elif isinstance(operation, (int, float)):
        out.conditions.append(Condition(path, "=", operation))
    elif isinstance(operation, str) and set(options) - SORT_OPTIONS:
        # Options belong to the word operations above; anything else is unknown.
        raise _bad(path, f"unknown operation '{operation[:40]}'")
    elif isinstance(operation, str):
        out.conditions.append(_text_condition(path, operation))
    else:
        raise _bad(path, "operation must be a string or a number")


def _text_condition(path: tuple[str, ...], operation: str) -> Condition:
    match = _OPERATOR.match(operation)
    if match:
        return Condition(path, match.group(1), match.group(2))
    if _UNKNOWN_OPERATOR.match(operation):
        raise _bad(path, f"unknown operation '{operation.split()[0]}'")
    return Condition(path, "=", operation)


def _options(raw: Any, path: tuple[str, ...]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise _bad(path, "options must be a list of {name, value}")
    options = {}
    for option in raw:
        if not isinstance(option, dict) or "name" not in option:
            raise _bad(path, "options must be a list of {name, value}")
        options[option["name"]] = option.get("value")
    return options


def _ordering(path: tuple[str, ...], options: dict[str, Any], out: ParsedFilter) -> None:
    direction = str(_first(options.get("sort", "ASC"))).upper()
    if direction not in ("ASC", "DESC"):
        raise _bad(path, "sort must be ASC or DESC")
    priority = options.get("sortOrder", len(out.orderings))
    try:
        priority = int(_first(priority))
    except (TypeError, ValueError):
        raise _bad(path, "sortOrder must be a number") from None
    out.orderings.append(Ordering(path, direction == "DESC", priority))


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def parse_date(text: Any) -> datetime:
    """A filter date (`MM/DD/YYYY H:M:S` in service time, or ISO 8601), in UTC."""
    if isinstance(text, datetime):
        moment = text
    else:
        text = str(text).strip()
        moment = None
        for pattern in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y"):
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        if moment is None:
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise SoftLayer_Exception_Public(
                    f"Unable to parse date '{text[:40]}'."
                ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SERVICE_TIMEZONE)
    return moment.astimezone(timezone.utc)


def _bad(path: tuple[str, ...], why: str) -> SoftLayer_Exception_Public:
    return SoftLayer_Exception_Public(
        f"Invalid object filter on '{'.'.join(path)}': {why}."
    )


# --- SQL ---------------------------------------------------------------------


def to_sql(parsed: ParsedFilter, item_type: str, dialect: str) -> tuple[list, list]:
    """WHERE clauses and ORDER BY expressions for a table-backed type."""
    softlayer_type = TYPES[item_type]
    where = [_sql_condition(c, softlayer_type, dialect) for c in parsed.conditions]
    order = [
        _sql_order(o, softlayer_type)
        for o in sorted(parsed.orderings, key=lambda o: o.priority)
    ]
    return where, order


def _expand(path: tuple[str, ...], softlayer_type: SoftLayerType) -> tuple[str, ...]:
    """Replace properties that stand for a deeper path (transcodeStatusName)."""
    prop = softlayer_type.property(path[0])
    if prop.filter_path:
        return tuple(prop.filter_path.split(".")) + path[1:]
    return path


def _sql_condition(condition: Condition, softlayer_type: SoftLayerType, dialect: str):
    path = _expand(condition.path, softlayer_type)
    prop = softlayer_type.property(path[0])
    model = softlayer_type.model

    if len(path) == 1:
        if prop.relational:
            raise _bad(condition.path, "a relational property cannot be compared")
        column = getattr(model, prop.source or prop.name)
        return _compare(column, condition, dialect)

    target = TYPES[prop.type_name]
    inner = _sql_condition(
        Condition(path[1:], condition.operator, condition.value), target, dialect
    )
    relationship = inspect(model).relationships[prop.source or prop.name]
    if relationship.direction is RelationshipDirection.MANYTOONE:
        # An uncorrelated IN keeps the outer query on its own indexes.
        (foreign_key,) = relationship.local_columns
        return foreign_key.in_(select(target.model.id).where(inner))
    (remote_key,) = [right for _, right in relationship.local_remote_pairs]
    return model.id.in_(select(remote_key).where(inner))


def _sql_order(ordering: Ordering, softlayer_type: SoftLayerType):
    path = _expand(ordering.path, softlayer_type)
    prop = softlayer_type.property(path[0])
    model = softlayer_type.model
    if len(path) == 1:
        expression = getattr(model, prop.source or prop.name)
    else:
        relationship = inspect(model).relationships[prop.source or prop.name]
        if relationship.direction is not RelationshipDirection.MANYTOONE or len(path) > 2:
            raise _bad(ordering.path, "orderBy follows only single relational properties")
        target = TYPES[prop.type_name]
        target_prop = target.property(path[1])
        (foreign_key,) = relationship.local_columns
        column = getattr(target.model, target_prop.source or target_prop.name)
        expression = (
            select(column).where(target.model.id == foreign_key).scalar_subquery()
        )
    return expression.desc() if ordering.descending else expression.asc()


def _compare(column, condition: Condition, dialect: str) -> ColumnElement:
    op, value = condition.operator, condition.value
    python_type = _column_type(column)

    if op == "isNull":
        return column.is_(None)
    if op == "isNotNull":
        return column.is_not(None)
    if op == "in":
        return column.in_([_convert(v, python_type, condition) for v in value])
    if op == "betweenDate":
        return and_(column >= value[0], column <= value[1])

    if op in ("=", "!=", ">", "<", ">=", "<="):
        converted = _convert(value, python_type, condition)
        return {
            "=": lambda: column == converted,
            "!=": lambda: or_(column != converted, column.is_(None)),
            ">": lambda: column > converted,
            "<": lambda: column < converted,
            ">=": lambda: column >= converted,
            "<=": lambda: column <= converted,
        }[op]()

    text = str(value)
    if op in ("~", "!~"):
        found = (
            func.strpos(column, text) > 0
            if dialect == "postgresql"
            else func.instr(column, text) > 0
        )
        return found if op == "~" else or_(not_(found), column.is_(None))

    lowered = func.lower(column)
    needle = _escape_like(text.lower())
    clause = {
        "_=": lambda: lowered == text.lower(),
        "*=": lambda: lowered.like(f"%{needle}%", escape="\\"),
        "^=": lambda: lowered.like(f"{needle}%", escape="\\"),
        "$=": lambda: lowered.like(f"%{needle}", escape="\\"),
    }[op.removeprefix("!")]()
    return not_(clause) if op.startswith("!") else clause


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _column_type(column) -> type:
    column_type = column.type
    # SQLModel wraps datetimes and strings in decorators that name no type.
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    try:
        return column_type.python_type
    except NotImplementedError:
        return str


def _convert(value: Any, python_type: type, condition: Condition) -> Any:
    try:
        if python_type is datetime:
            return parse_date(value)
        if python_type is bool:
            return str(value).lower() in ("1", "true", "yes")
        if python_type is int:
            number = int(value) if isinstance(value, int) else int(float(value))
            if not -(2**63) <= number < 2**63:
                raise ValueError("out of range")
            return number
        if python_type is float:
            return float(value)
        return str(value)
    except (TypeError, ValueError, OverflowError):
        raise _bad(
            condition.path, f"'{str(value)[:40]}' is not a valid {python_type.__name__}"
        ) from None


# --- Python, for types that are not stored in the database --------------------


def matches(item: Any, parsed: ParsedFilter, item_type: str) -> bool:
    softlayer_type = TYPES[item_type]
    return all(_matches(item, c, softlayer_type) for c in parsed.conditions)


def _matches(item: Any, condition: Condition, softlayer_type: SoftLayerType) -> bool:
    prop = softlayer_type.property(condition.path[0])
    if len(condition.path) > 1:
        raise _bad(condition.path, "nested paths are not supported on this type")
    actual = prop.read(item)
    op, value = condition.operator, condition.value

    if op == "isNull":
        return actual is None
    if op == "isNotNull":
        return actual is not None
    if op == "in":
        return any(_equal(actual, v) for v in value)
    if op == "betweenDate":
        return False
    if op == "=":
        return _equal(actual, value)
    if op == "!=":
        return not _equal(actual, value)
    if op in (">", "<", ">=", "<="):
        return _ordered(actual, value, op)

    text, needle = "" if actual is None else str(actual), str(value)
    if op == "~":
        return needle in text
    if op == "!~":
        return needle not in text
    lowered, needle = text.lower(), needle.lower()
    result = {
        "_=": lowered == needle,
        "*=": needle in lowered,
        "^=": lowered.startswith(needle),
        "$=": lowered.endswith(needle),
    }[op.removeprefix("!")]
    return not result if op.startswith("!") else result


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        try:
            return float(actual) == float(expected)
        except (TypeError, ValueError):
            return False
    return str(actual) == str(expected) if actual is not None else False


def _ordered(actual: Any, expected: Any, op: str) -> bool:
    if actual is None:
        return False
    try:
        left, right = float(actual), float(expected)
    except (TypeError, ValueError):
        left, right = str(actual), str(expected)
    return {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[op]


def sort_items(items: list, parsed: ParsedFilter, item_type: str) -> list:
    softlayer_type = TYPES[item_type]
    for ordering in sorted(parsed.orderings, key=lambda o: o.priority, reverse=True):
        prop = softlayer_type.property(ordering.path[0])
        items = sorted(
            items,
            key=lambda item: (prop.read(item) is None, str(prop.read(item) or "")),
            reverse=ordering.descending,
        )
    return items
