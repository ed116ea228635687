"""One dispatcher from `Service::method` to the emulated services.

Both protocol adapters turn a request into an `ApiCall` and give it here;
authentication, parameter checks, object masks, object filters and result
limits all happen in this one place.
"""

from __future__ import annotations

import functools
import hmac
import inspect
import logging
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import func, select as sa_select
from sqlalchemy.sql import Select
from sqlmodel import Session, select

from emulator.backend import Backend
from emulator.errors import (
    SoftLayer_Exception_ObjectNotFound,
    SoftLayer_Exception_Public,
    SoftLayerError,
    invalid_credentials,
    invalid_parameters,
    unknown_method,
    unknown_service,
)
from emulator.models import User
from emulator.objectfilter import matches, parse_filter, sort_items, to_sql
from emulator.objectmask import parse_mask
from emulator.types import TYPES, check_mask, serialize

log = logging.getLogger("emulator.api")

MIN_ID, MAX_ID = -(2**63), 2**63 - 1
MAX_RESULT_LIMIT = 10_000
MAX_OFFSET = 10_000_000


@dataclass
class ApiCall:
    service: str
    method: str
    parameters: list = field(default_factory=list)
    init_id: Any = None
    mask: Any = None
    filter: Any = None
    limit: Any = None
    offset: Any = 0
    username: str | None = None
    api_key: str | None = None


@dataclass
class ApiResult:
    value: Any
    # For lists: how many items matched before the result limit.
    total: int | None = None


@dataclass(frozen=True)
class MethodSpec:
    name: str
    returns: str | None  # SoftLayer type of the result, None for plain values
    many: bool
    # The relational property a list method returns, as filters may key it.
    list_property: str | None


def softlayer_method(
    name: str,
    returns: str | None = None,
    many: bool = False,
    list_property: str | None = None,
) -> Callable:
    def mark(function: Callable) -> Callable:
        function.softlayer = MethodSpec(name, returns, many, list_property)
        return function

    return mark


class Service:
    """Base of an emulated SoftLayer service: plain methods over the backend."""

    name = ""

    def __init__(self, backend: Backend, session: Session, user: User, init_id: Any) -> None:
        self.backend = backend
        self.session = session
        self.user = user
        self.init_id = init_id

    def required_id(self) -> int:
        """The init id a method needs, or the error SoftLayer gives without one."""
        if self.init_id is None or self.init_id == "":
            raise SoftLayer_Exception_ObjectNotFound(
                f"Object does not exist to execute method on. ({self.name}::{self._method})"
            )
        try:
            object_id = int(self.init_id)
        except (TypeError, ValueError):
            object_id = None
        # No stored id reaches past 64 bits; larger ones would overflow the query.
        if object_id is None or not MIN_ID <= object_id <= MAX_ID:
            raise SoftLayer_Exception_ObjectNotFound(
                f"Unable to find object with id of '{str(self.init_id)[:40]}'."
            ) from None
        return object_id

    _method = ""


class Dispatcher:
    def __init__(self, backend: Backend, services: list[type[Service]]) -> None:
        self.backend = backend
        self.services = {s.name.lower(): s for s in services}
        self.methods: dict[str, dict[str, Callable]] = {}
        for service in services:
            self.methods[service.name.lower()] = {
                member.softlayer.name.lower(): member
                for _, member in inspect.getmembers(service, inspect.isfunction)
                if hasattr(member, "softlayer")
            }

    def has_service(self, name: str) -> bool:
        return name.lower() in self.services

    def call(self, call: ApiCall) -> ApiResult:
        service_class = self.services.get(call.service.lower())
        if service_class is None:
            raise unknown_service()
        method = self.methods[call.service.lower()].get(str(call.method).lower())
        if method is None:
            raise unknown_method(call.method)
        spec: MethodSpec = method.softlayer

        with Session(self.backend.engine, expire_on_commit=False) as session:
            user = self.authenticate(session, call.username, call.api_key)
            mask = parse_mask(call.mask)
            if spec.returns:
                check_mask(mask, spec.returns)
            limit, offset = _checked_limit(call.limit, call.offset)
            arguments = _checked_arguments(method, call.parameters, spec.name)
            parsed_filter = (
                parse_filter(call.filter, spec.returns, spec.list_property)
                if spec.returns and spec.many
                else None
            )

            service = service_class(self.backend, session, user, call.init_id)
            service._method = spec.name
            raw = method(service, *arguments)
            result = self._shape(session, raw, spec, mask, parsed_filter, limit, offset)
            session.commit()
        return result

    def authenticate(self, session: Session, username: str | None, api_key: str | None) -> User:
        if not username or not api_key:
            raise invalid_credentials()
        if username == "apikey":
            # An API key alone, the way IBM Cloud keys authenticate.
            user = session.exec(select(User).where(User.api_key == api_key)).first()
        else:
            user = session.exec(select(User).where(User.username == username)).first()
        expected = user.api_key if user else "\0" * len(api_key)
        if not hmac.compare_digest(expected.encode(), str(api_key).encode()) or user is None:
            raise invalid_credentials()
        return user

    def _shape(self, session, raw, spec: MethodSpec, mask, parsed_filter, limit, offset) -> ApiResult:
        if spec.returns is None:
            return ApiResult(raw)
        if not spec.many:
            return ApiResult(serialize(raw, spec.returns, mask))

        if isinstance(raw, Select):
            items, total = self._run_query(session, raw, spec.returns, parsed_filter, limit, offset)
        else:
            items = list(raw)
            if parsed_filter:
                items = [i for i in items if matches(i, parsed_filter, spec.returns)]
                items = sort_items(items, parsed_filter, spec.returns)
            total = len(items)
            items = items[offset : offset + limit] if limit else items[offset:]
        return ApiResult(serialize(items, spec.returns, mask), total)

    def _run_query(self, session, statement: Select, type_name: str, parsed_filter, limit, offset):
        model = TYPES[type_name].model
        order = []
        if parsed_filter:
            where, order = to_sql(parsed_filter, type_name, self.backend.engine.dialect.name)
            statement = statement.where(*where)

        # Count and page in the database: the cost follows the page, not the table.
        total = session.exec(
            sa_select(func.count()).select_from(statement.order_by(None).subquery())
        ).one()[0]
        statement = statement.order_by(*order, model.id)
        if offset:
            statement = statement.offset(offset)
        if limit:
            statement = statement.limit(limit)
        return list(session.exec(statement)), total


def _checked_limit(limit: Any, offset: Any) -> tuple[int, int]:
    try:
        limit = int(limit or 0)
        offset = int(offset or 0)
    except (TypeError, ValueError):
        raise SoftLayer_Exception_Public(
            "Result limit and offset must be whole numbers."
        ) from None
    if limit < 0 or offset < 0:
        raise SoftLayer_Exception_Public(
            "Result limit and offset may not be negative."
        )
    if limit > MAX_RESULT_LIMIT or offset > MAX_OFFSET:
        raise SoftLayer_Exception_Public(
            f"Result limit may not exceed {MAX_RESULT_LIMIT} items."
        )
    return limit, offset


@functools.cache
def _declared_parameters(method: Callable) -> tuple[dict, list[inspect.Parameter]]:
    """A method's type hints and parameters after `self`, read once instead of per call."""
    return typing.get_type_hints(method), list(inspect.signature(method).parameters.values())[1:]


def _checked_arguments(method: Callable, parameters: Any, method_name: str) -> list:
    if parameters is None:
        parameters = []
    if not isinstance(parameters, list):
        raise invalid_parameters("Parameters must be a list.")

    hints, declared = _declared_parameters(method)
    required = [p for p in declared if p.default is inspect.Parameter.empty]
    if not len(required) <= len(parameters) <= len(declared):
        expected = (
            str(len(declared))
            if len(required) == len(declared)
            else f"{len(required)} to {len(declared)}"
        )
        raise invalid_parameters(
            f"{method_name} expects {expected} parameter(s), {len(parameters)} given."
        )
    return [
        _coerce(value, hints.get(p.name, Any), p.name, method_name)
        for value, p in zip(parameters, declared)
    ]


def _coerce(value: Any, hint: Any, name: str, method_name: str) -> Any:
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None and type(None) in allowed:
        return None
    for kind in allowed:
        if kind is Any:
            return value
        if kind is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if kind is int and isinstance(value, bool):
            continue
        if isinstance(kind, type) and isinstance(value, kind):
            return value
    wanted = " or ".join(getattr(k, "__name__", str(k)) for k in allowed if k is not type(None))
    raise invalid_parameters(
        f"Parameter '{name}' of {method_name} must be {wanted}, "
        f"got {type(value).__name__}."
    )


__all__ = ["ApiCall", "ApiResult", "Dispatcher", "Service", "softlayer_method", "SoftLayerError"]
