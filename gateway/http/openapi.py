"""Routes declared once: the same declaration registers the aiohttp route, names the role it needs, and
describes it in the OpenAPI 3.1 document served at ``GET /api/openapi.json``.

A route module declares its routes on an ``ApiRoutes``; ``create_app`` adds them to the app through the
app's ``ApiRegistry``::

    api = ApiRoutes(tag="customers")

    @api.get("/api/customers/{id}", summary="One customer", response=CustomerOut)
    async def customer(request: web.Request) -> CustomerOut: ...

    @api.post("/api/customers", summary="Create", request=CustomerIn, response=CustomerOut, status=201)
    async def create_customer(request: web.Request) -> CustomerOut:
        body = await decode_body(request, CustomerIn)
        ...

A handler returns a msgspec Struct (or a dict or list), sent as JSON with the declared status, or a
``web.Response`` of its own (for a status other than the declared one). Request and response bodies are
msgspec types; their JSON Schema comes from msgspec, shared parts under ``#/components/schemas``.
"""

from __future__ import annotations

import http
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeVar

import msgspec
from aiohttp import hdrs, web

import gateway
from gateway.http.api_keys import Role
from gateway.http.bodies import ErrorBody, json_response

#: Where msgspec's ``$ref`` point: OpenAPI keeps shared schemas under components, not JSON Schema's $defs.
REF_TEMPLATE: Final = "#/components/schemas/{name}"
OPENAPI_PATH: Final = "/api/openapi.json"
OPENAPI_VERSION: Final = "3.1.0"
#: Every error the API answers with, by status: the name of its shared response and what it means.
ERROR_RESPONSES: Final[dict[int, tuple[str, str]]] = {
    400: ("BadRequest", "a parameter or the body cannot be parsed"),
    401: ("Unauthorized", "no API key, or an unknown or revoked one"),
    403: ("Forbidden", "the API key's role is below the one this operation needs"),
    404: ("NotFound", "what the path names does not exist"),
    409: ("Conflict", "not allowed in the present state"),
    413: ("ContentTooLarge", "the body exceeds the operation's limit"),
    422: ("UnprocessableContent", "a field has a value we refuse; `field` and `value` name it"),
    503: ("ServiceUnavailable", "the database or the bus does not answer; try again later"),
}
_PATH_PARAMETER: Final = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::[^{}]*)?\}")
_WRITE_METHODS: Final = frozenset({hdrs.METH_POST, hdrs.METH_PUT, hdrs.METH_PATCH, hdrs.METH_DELETE})

RoleName = Literal["reader", "operator", "admin"]
ApiHandler = Callable[[web.Request], Awaitable[Any]]
H = TypeVar("H", bound=ApiHandler)


def default_role(method: str) -> Role:
    """The least role a method needs under ``/api``: reading is for readers, any change for operators."""
    return Role.OPERATOR if method.upper() in _WRITE_METHODS else Role.READER


@dataclass(frozen=True)
class QueryParam:
    """A query parameter; ``type`` is anything msgspec can describe (``int``, ``Annotated[int, Meta(..)]``,
    an enum or Literal)."""

    name: str
    type: Any = str
    description: str = ""
    required: bool = False
    #: What the handler takes when the parameter is absent (documented only; the handler applies it).
    default: Any = None


@dataclass(frozen=True)
class PathParam:
    """Describes a ``{name}`` of the path; path parameters not described are documented as strings."""

    name: str
    type: Any = str
    description: str = ""


@dataclass(frozen=True)
class Operation:
    """One declared route: what aiohttp serves and what the document says about it."""

    method: str
    path: str
    handler: ApiHandler
    summary: str
    tag: str
    #: None: public (no key needed).
    role: Role | None
    request: Any
    response: Any
    status: int
    query: tuple[QueryParam, ...]
    path_params: tuple[PathParam, ...]
    errors: frozenset[int]
    #: Media types of a body that is not JSON (a document's bytes): documented as binary, read by the handler.
    request_media: tuple[str, ...] = ()
    #: Media types of an answer that is not JSON (a document's bytes).
    response_media: tuple[str, ...] = ()

    @property
    def operation_id(self) -> str:
        return f"{self.tag}.{self.handler.__name__}"

    @property
    def description(self) -> str:
        text = inspect.cleandoc(self.handler.__doc__ or "")
        needs = "Public: no API key needed." if self.role is None else f"Needs the role `{self.role}`."
        return f"{text}\n\n{needs}" if text else needs


class ApiRoutes:
    """The routes of one module, under one OpenAPI tag."""

    def __init__(self, tag: str, description: str = "") -> None:
        self.tag = tag
        self.description = description
        self.operations: list[Operation] = []

    def get(self, path: str, *, summary: str, **options: Any) -> Callable[[H], H]:
        return self.route(hdrs.METH_GET, path, summary=summary, **options)

    def post(self, path: str, *, summary: str, **options: Any) -> Callable[[H], H]:
        return self.route(hdrs.METH_POST, path, summary=summary, **options)

    def put(self, path: str, *, summary: str, **options: Any) -> Callable[[H], H]:
        return self.route(hdrs.METH_PUT, path, summary=summary, **options)

    def patch(self, path: str, *, summary: str, **options: Any) -> Callable[[H], H]:
        return self.route(hdrs.METH_PATCH, path, summary=summary, **options)

    def delete(self, path: str, *, summary: str, **options: Any) -> Callable[[H], H]:
        return self.route(hdrs.METH_DELETE, path, summary=summary, **options)

    def route(
        self, method: str, path: str, *, summary: str, request: Any = None, response: Any = None,
        status: int = 200, role: Role | RoleName | None = None, public: bool = False,
        query: Sequence[QueryParam] = (), path_params: Sequence[PathParam] = (), errors: Iterable[int] = (),
        request_media: Sequence[str] = (), response_media: Sequence[str] = (), changes_nothing: bool = False,
    ) -> Callable[[H], H]:
        """Declare a route. ``role`` defaults to the method's (``default_role``) and may only raise it;
        ``changes_nothing`` declares a POST that only calculates (a body too rich for a query), which then
        needs only ``reader``;
        ``errors`` adds statuses to those every such route has (401/403, 400 and 422 with a body or query,
        404 with path parameters). ``request_media``/``response_media``: the body or the answer is bytes of
        these media types rather than JSON (``request``/``response`` then stay None)."""
        if (request is not None and request_media) or (response is not None and response_media):
            raise ValueError(f"{method} {path}: a body is either JSON (a type) or bytes (media types)")
        least = Role.READER if changes_nothing else default_role(method)
        needed = None if public else Role(role) if role is not None else least
        if needed is not None and not needed.covers(least):
            raise ValueError(f"{method} {path}: a {method} needs at least the role {least}, not {needed}")
        if public and role is not None:
            raise ValueError(f"{method} {path}: a public route needs no role")
        names = {match["name"] for match in _PATH_PARAMETER.finditer(path)}
        unknown = {param.name for param in path_params} - names
        if unknown:
            raise ValueError(f"{method} {path}: no path parameters {sorted(unknown)}")
        body = request if request is not None else (tuple(request_media) or None)
        statuses = _default_errors(needed, body, query, names) | set(errors)
        if not statuses <= ERROR_RESPONSES.keys():
            raise ValueError(f"{method} {path}: undocumented error statuses {sorted(statuses)}")
        described = {param.name: param for param in path_params}
        params = tuple(described.get(name, PathParam(name)) for name in _ordered_names(path))

        def declare(handler: H) -> H:
            self.operations.append(Operation(
                method=method, path=path, handler=handler, summary=summary, tag=self.tag, role=needed,
                request=request, response=response, status=status, query=tuple(query), path_params=params,
                errors=frozenset(statuses), request_media=tuple(request_media),
                response_media=tuple(response_media),
            ))
            return handler

        return declare


def _ordered_names(path: str) -> list[str]:
    return [match["name"] for match in _PATH_PARAMETER.finditer(path)]


def _default_errors(
    needed: Role | None, request: Any, query: Sequence[QueryParam], path_names: set[str]
) -> set[int]:
    # Every route behind a key may also meet a database that does not answer.
    statuses = set() if needed is None else {401, 403, 503}
    if request is not None:
        statuses |= {400, 422}
    if query:
        statuses.add(400)
    if path_names:
        statuses.add(404)
    return statuses


def _endpoint(operation: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler: the declared one, its result sent as JSON with the declared status."""
    declared = operation.response

    async def endpoint(request: web.Request) -> web.StreamResponse:
        result = await operation.handler(request)
        if isinstance(result, web.StreamResponse):
            return result
        if isinstance(declared, type) and issubclass(declared, msgspec.Struct):
            assert isinstance(result, declared), f"{operation.operation_id} returned {type(result)}"
        return json_response(result, operation.status)

    endpoint.__name__ = operation.handler.__name__
    return endpoint


class ApiRegistry:
    """Every route declared on one app, by method and path, and the document describing them."""

    def __init__(
        self, title: str = "proud", version: str = gateway.__version__, description: str = ""
    ) -> None:
        self.title = title
        self.version = version
        self.description = description
        self._operations: dict[tuple[str, str], Operation] = {}
        self._tags: dict[str, str] = {}
        self._document: dict[str, Any] | None = None

    def add(self, app: web.Application, routes: ApiRoutes) -> None:
        """Register ``routes`` with aiohttp and in this registry; call before the app starts."""
        self._tags.setdefault(routes.tag, routes.description)
        for operation in routes.operations:
            if operation.method == hdrs.METH_GET:  # aiohttp answers HEAD from the same handler
                route = app.router.add_get(operation.path, _endpoint(operation))
            else:
                route = app.router.add_route(operation.method, operation.path, _endpoint(operation))
            canonical = route.resource.canonical if route.resource is not None else operation.path
            key = (operation.method, canonical)
            assert key not in self._operations, f"{key} declared twice"
            taken = {op.operation_id for op in self._operations.values()}
            assert operation.operation_id not in taken, f"two {operation.operation_id} handlers"
            self._operations[key] = operation
        self._document = None

    def operation(self, method: str, canonical: str) -> Operation | None:
        """The declaration behind a matched route (HEAD is served by the GET)."""
        method = hdrs.METH_GET if method == hdrs.METH_HEAD else method
        return self._operations.get((method, canonical))

    @property
    def operations(self) -> list[Operation]:
        return list(self._operations.values())

    def document(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document; built once, since routes are fixed once the app runs."""
        if self._document is None:
            self._document = build_document(
                self._operations.values(), title=self.title, version=self.version,
                description=self.description, tags=self._tags,
            )
        return self._document


#: The app's registry, for the auth middleware (roles) and the document handler.
API_REGISTRY = web.AppKey("api_registry", ApiRegistry)


def build_document(
    operations: Iterable[Operation], *, title: str, version: str, description: str = "",
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    operations = sorted(operations, key=lambda op: (op.path, op.method))
    types: list[Any] = [ErrorBody]
    for op in operations:
        parameters = [p.type for p in op.path_params] + [q.type for q in op.query]
        for kind in (op.request, op.response, *parameters):
            if kind is not None and kind not in types:
                types.append(kind)
    schemas, components = msgspec.json.schema_components(types, ref_template=REF_TEMPLATE)

    def schema_of(kind: Any) -> dict[str, Any]:
        return schemas[types.index(kind)] if kind is not None else {"type": "object"}

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        path = _PATH_PARAMETER.sub(r"{\g<name>}", op.path)
        paths.setdefault(path, {})[op.method.lower()] = _operation_doc(op, schema_of)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version, "description": description},
        "tags": [{"name": name, "description": text} for name, text in sorted((tags or {}).items())],
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": _error_responses(schemas[0]),
            "securitySchemes": SECURITY_SCHEMES,
        },
        "security": [{name: []} for name in SECURITY_SCHEMES],
    }


SECURITY_SCHEMES: Final = {
    "bearer": {
        "type": "http", "scheme": "bearer",
        "description": "`Authorization: Bearer proud_...`: an API key from `proud keys create`",
    },
    "apiKeyHeader": {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": "the same key in `X-API-Key`, for clients that cannot set Authorization",
    },
}


def _error_responses(error_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {"description": meaning, "content": {"application/json": {"schema": error_schema}}}
        for name, meaning in ERROR_RESPONSES.values()
    }


#: The schema of a body of raw bytes (OpenAPI 3.1: a string without an encoding).
_BINARY: Final = {"type": "string", "format": "binary"}


def _operation_doc(op: Operation, schema_of: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": http.HTTPStatus(op.status).phrase}
    if op.response_media:
        success["content"] = {media: {"schema": _BINARY} for media in op.response_media}
    elif op.status != http.HTTPStatus.NO_CONTENT:
        success["content"] = {"application/json": {"schema": schema_of(op.response)}}
    responses: dict[str, Any] = {str(op.status): success}
    for status in sorted(op.errors):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    parameters = [
        {"name": p.name, "in": "path", "required": True, "description": p.description,
         "schema": schema_of(p.type)}
        for p in op.path_params
    ] + [
        {"name": q.name, "in": "query", "required": q.required, "description": q.description,
         "schema": schema_of(q.type) if q.default is None else {**schema_of(q.type), "default": q.default}}
        for q in op.query
    ]
    doc: dict[str, Any] = {
        "operationId": op.operation_id, "summary": op.summary, "description": op.description,
        "tags": [op.tag], "parameters": parameters, "responses": responses,
        "x-proud-role": None if op.role is None else op.role.value,
    }
    if op.request is not None:
        body = {"application/json": {"schema": schema_of(op.request)}}
        doc["requestBody"] = {"required": True, "content": body}
    elif op.request_media:
        content = {media: {"schema": _BINARY} for media in op.request_media}
        doc["requestBody"] = {"required": True, "content": content}
    if op.role is None:
        doc["security"] = []  # public: overrides the document-wide requirement
    return doc


meta = ApiRoutes(tag="meta", description="The API describing itself.")


@meta.get(OPENAPI_PATH, summary="This document: every /api route, its parameters, bodies, role", public=True)
async def openapi_document(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of the API, generated from the same declarations as the routes."""
    return web.json_response(request.app[API_REGISTRY].document())
