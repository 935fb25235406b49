"""The OpenAPI 3.1 document of the API, built from the operation table and pydantic schemas.

Each view registers an ``Operation`` (method, path, models, status codes) when it is
declared, so an endpoint cannot exist without being described. Schemas come from the
pydantic models that validate requests and shape responses; OpenAPI 3.1 uses JSON Schema
2020-12, which is what pydantic writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from transit.web.api import schemas
from transit.web.api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_TYPES, problem_type_uri

API_TITLE = "Transit API"
API_VERSION = "1.0.0"
PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"

_ERROR_TEXT = {
    400: "The request could not be read (malformed JSON, a query parameter of the wrong type).",
    401: "No valid bearer token.",
    403: "The token's user is not an administrator.",
    404: "No such resource.",
    409: (
        "The change conflicts with the data (duplicate, still in use), or with another change "
        "saved at the same moment; nothing was changed."
    ),
    411: "The upload did not say its length (Content-Length).",
    413: "The body or upload is too large.",
    415: "The body is not JSON (or not multipart for uploads).",
    412: "The resource changed since you read it: `If-Match` is not its current ETag.",
    422: "The input is invalid; `errors` names each field.",
}


@dataclass(frozen=True)
class Operation:
    """One endpoint as the OpenAPI document describes it."""

    method: str
    path: str  # OpenAPI template under PREFIX, e.g. "/cities/{city_id}"
    operation_id: str
    summary: str
    description: str
    tag: str
    status: int = 200
    response: type[BaseModel] | None = None
    response_text: str = ""
    media_type: str = "application/json"
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    upload: type[BaseModel] | None = None
    auth: bool = False
    conditional: bool = False
    if_match: bool = False  # a write that honours If-Match (412 when stale)
    # A write answering with the resource it wrote: its ETag (and, with 201, its Location).
    writes_resource: bool = False
    errors: tuple[int, ...] = ()
    path_params: dict[str, str] = field(default_factory=dict)

    def error_codes(self) -> list[int]:
        codes = set(self.errors)
        if self.query is not None or self.body is not None or self.upload is not None:
            codes |= {400}
        if self.body is not None or self.upload is not None:
            # JSON bodies past MAX_JSON_BYTES are refused as uploads past their limit are.
            codes |= {413, 415, 422}
        # A token sent with any request is checked (401 when bad); writes need an admin's.
        codes |= {401}
        if self.auth:
            # Any write can meet a constraint another write saved at the same moment (409,
            # nothing changed: transit.editing._flush, support.commit).
            codes |= {403, 409}
        if self.path_params:
            codes |= {404}
        if self.if_match:
            codes |= {412}
        return sorted(codes)


OPERATIONS: list[Operation] = []

TAGS = [
    {"name": "routes", "description": "Route consultation: itineraries between two cities."},
    {"name": "cities", "description": "Cities, stations and airports."},
    {"name": "services", "description": "Services with their timetable variants and fares."},
    {"name": "calendars", "description": "Days of operation shared by timetable variants."},
    {"name": "forecasts", "description": "Forecast travel times and arrivals of each run."},
    {"name": "imports", "description": "Load a timetable file in any supported format."},
    {"name": "documentation", "description": "This document and its page."},
]


def register(operation: Operation) -> None:
    """Add an operation to the table (once per method and path)."""
    for existing in OPERATIONS:
        if (existing.method, existing.path) == (operation.method, operation.path):
            raise ValueError(f"{operation.method} {operation.path} declared twice")
    OPERATIONS.append(operation)


def _problem_response(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _ERROR_TEXT.get(code, "Error."),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}},
    }
    if code == 401:
        response["headers"] = {
            "WWW-Authenticate": {
                "description": "Bearer challenge",
                "schema": {"type": "string"},
            }
        }
    return response


def _parameters(op: Operation, components: dict[str, Any]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": text,
            "schema": {"type": "integer", "minimum": 1, "maximum": schemas.MAX_ID},
        }
        for name, text in op.path_params.items()
    ]
    if op.query is not None:
        schema = components[op.query.__name__]
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            prop = {k: v for k, v in prop.items() if k not in ("title", "description")}
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
            }
            description = schema["properties"][name].get("description")
            if description:
                param["description"] = description
            params.append(param)
    return params


_CONDITIONAL_HEADERS = {
    "ETag": {"description": "changes whenever the timetable changes", "schema": {"type": "string"}},
    "Last-Modified": {
        "description": "when the timetable last changed",
        "schema": {"type": "string"},
    },
}

_WRITTEN_ETAG = {
    "description": (
        "the ETag a GET of the resource answers now: send it as If-Match with your next PUT, "
        "PATCH or DELETE of it without reading it again"
    ),
    "schema": {"type": "string"},
}
_LINK = {
    "description": (
        'the pages as in `links`: rel="first", and rel="next" and rel="prev" where there '
        "are such pages (RFC 8288)"
    ),
    "schema": {"type": "string"},
}
_LOCATION = {"description": "the path of the new resource", "schema": {"type": "string"}}


def build_document() -> dict[str, Any]:
    """The complete OpenAPI 3.1 document (a plain dict, ready for JSON)."""
    inputs: list[type[BaseModel]] = []
    outputs: list[type[BaseModel]] = [schemas.Problem]
    for op in OPERATIONS:
        for model in (op.query, op.body, op.upload):
            if model is not None and model not in inputs:
                inputs.append(model)
        if op.response is not None and op.response not in outputs:
            outputs.append(op.response)
    _, top = models_json_schema(
        [(m, "validation") for m in inputs] + [(m, "serialization") for m in outputs],
        ref_template=REF,
    )
    components: dict[str, Any] = dict(sorted(top.get("$defs", {}).items()))

    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "description": op.description,
            "tags": [op.tag],
        }
        params = _parameters(op, components)
        if op.conditional:
            params += [
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "description": "an ETag from an earlier answer: 304 when still current",
                    "schema": {"type": "string"},
                },
                {
                    "name": "If-Modified-Since",
                    "in": "header",
                    "required": False,
                    "description": "an HTTP date: 304 when the timetable has not changed since",
                    "schema": {"type": "string"},
                },
            ]
        if op.if_match:
            params.append(
                {
                    "name": "If-Match",
                    "in": "header",
                    "required": False,
                    "description": (
                        "the ETag of your last read of this resource (its GET or, for a fare, "
                        "the service's fares; or the answer of your last write of it): 412 and "
                        "nothing changed if it is no longer current. "
                        "Send it, so that you do not overwrite a change you have not seen."
                    ),
                    "schema": {"type": "string"},
                }
            )
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}
                },
            }
        if op.upload is not None:
            form = components[op.upload.__name__]
            properties = {
                "file": {
                    "type": "string",
                    "contentMediaType": "application/octet-stream",
                    "description": "the timetable: a GTFS zip, a zip of a classic or CSV folder",
                }
            }
            properties.update(form.get("properties", {}))
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {"type": "object", "required": ["file"], "properties": properties}
                    }
                },
            }
        success: dict[str, Any] = {"description": op.response_text or op.summary}
        if op.response is not None:
            success["content"] = {
                op.media_type: {"schema": {"$ref": REF.format(model=op.response.__name__)}}
            }
        elif op.media_type != "none":
            success["content"] = {op.media_type: {"schema": _free_schema(op.media_type)}}
        if op.conditional:
            success["headers"] = dict(_CONDITIONAL_HEADERS)
            if op.response is not None and "links" in op.response.model_fields and (
                "items" in op.response.model_fields
            ):
                success["headers"]["Link"] = _LINK
        if op.writes_resource:
            success["headers"] = {"ETag": _WRITTEN_ETAG}
            if op.status == 201:
                success["headers"]["Location"] = _LOCATION
        responses: dict[str, Any] = {str(op.status): success}
        if op.conditional:
            responses["304"] = {
                "description": "Not modified: the copy you hold is current.",
                "headers": {"ETag": _CONDITIONAL_HEADERS["ETag"]},
            }
        for code in op.error_codes():
            responses[str(code)] = _problem_response(code)
        entry["responses"] = responses
        if op.auth:
            entry["security"] = [{"bearerAuth": []}]
        paths.setdefault(PREFIX + op.path, {})[op.method.lower()] = entry

    return {
        "openapi": "3.1.0",
        "info": {
            "title": API_TITLE,
            "version": API_VERSION,
            "summary": "Train and flight timetables and route consultation.",
            "description": (
                "Reads are public and carry `ETag`/`Last-Modified`; send them back in "
                "`If-None-Match`/`If-Modified-Since` to get `304 Not Modified` while the timetable "
                "is unchanged. Writes need an administrator's bearer token "
                "(`flask --app app users token NAME`); send the `ETag` of your last read as `If-Match` "
                "with PUT, PATCH and DELETE (412 and nothing changed when the data changed since); "
                "a write's answer carries the resource's new `ETag`, for the next write. "
                "Every error is `application/problem+json` "
                "(RFC 9457) with `errors` naming each field at fault. Scripts on any site may "
                "call the API (CORS: every origin, no cookies; `ETag`, `Link` and `Location` "
                "are exposed).\n\n"
                "Lists come a page at a time: `limit` (1 to 500, default 50) items from "
                "`offset`, with `total` and `links` (`self`, `first`, `next`, `prev`: `null` "
                "where there is no such page; past the end `prev` is the last page) in the body "
                "and the same links in a `Link` header.\n\n"
                "Stop times are `HH:MM` (or `HH:MM:SS`) in the local time of the stop's city, with "
                "`+1` for the next day, or seconds after the service day's midnight. Fares in "
                "writes are integer cents."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": TAGS,
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a token from `flask --app app users token NAME`",
                }
            },
        },
    }


def _free_schema(media_type: str) -> dict[str, Any]:
    if media_type == "text/html":
        return {"type": "string"}
    return {"type": "object"}


def problem_type_list() -> list[dict[str, str]]:
    """Each problem type with its anchor, for the documentation page."""
    return [
        {"slug": slug, "uri": problem_type_uri(slug), "title": title, "text": inline_code(text)}
        for slug, (title, text) in PROBLEM_TYPES.items()
    ]


# --- the documentation page -------------------------------------------------------------------


def inline_code(text: str) -> Markup:
    """Escape ``text`` and show its `backticked` parts as code (the descriptions' Markdown)."""
    parts = str(escape(text)).split("`")
    return Markup("".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts)))


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def schema_type(schema: dict[str, Any]) -> Markup:
    """A short readable type ("array of CityOut", "integer >= 0 or null") with schema links."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return Markup('<a href="#schema-{0}">{0}</a>').format(name)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts = [schema_type(part) for part in schema[key]]
            return Markup(" or ").join(parts)
    if "enum" in schema:
        return Markup("one of ") + Markup(", ").join(
            Markup("<code>{}</code>").format(value) for value in schema["enum"]
        )
    if "const" in schema:
        return Markup("<code>{}</code>").format(schema["const"])
    kind = schema.get("type", "any")
    if kind == "array":
        return Markup("array of ") + schema_type(schema.get("items", {}))
    text = escape(str(kind))
    if "format" in schema:
        text += Markup(" ({})").format(schema["format"])
    limits = []
    for key, symbol in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    ):
        if key in schema:
            limits.append(f"{symbol} {schema[key]}")
    if "maxLength" in schema:
        limits.append(f"{schema.get('minLength', 0)} to {schema['maxLength']} characters")
    if "pattern" in schema:
        limits.append(f"matching {schema['pattern']}")
    if limits:
        text += Markup(", ") + escape(", ".join(limits))
    return Markup(text)


def _properties(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        default = prop.get("default")
        rows.append(
            {
                "name": name,
                "type": schema_type(prop),
                "required": name in required,
                "description": inline_code(prop.get("description", "")),
                "default": None if default is None else json.dumps(default),
            }
        )
    return rows


def docs_context(document: dict[str, Any]) -> dict[str, Any]:
    """What ``templates/api_docs.html`` shows: operations by tag, schemas, problem types."""
    by_tag: dict[str, list[dict[str, Any]]] = {tag["name"]: [] for tag in document["tags"]}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {})
            bodies = []
            for media, content in body.items():
                schema = content["schema"]
                bodies.append(
                    {
                        "media": media,
                        "type": schema_type(schema),
                        "fields": _properties(schema) if "properties" in schema else [],
                    }
                )
            responses = []
            for code, response in op["responses"].items():
                content = response.get("content", {})
                responses.append(
                    {
                        "code": code,
                        "description": inline_code(response["description"]),
                        "media": ", ".join(content),
                        "type": Markup(" ").join(
                            schema_type(c["schema"]) for c in content.values()
                        ),
                        "headers": list(response.get("headers", {})),
                    }
                )
            by_tag[op["tags"][0]].append(
                {
                    "id": op["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "summary": op["summary"],
                    "description": inline_code(op["description"]),
                    "auth": "security" in op,
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": schema_type(p["schema"]),
                            "description": inline_code(p.get("description", "")),
                            "default": None
                            if p["schema"].get("default") is None
                            else json.dumps(p["schema"]["default"]),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "bodies": bodies,
                    "responses": responses,
                }
            )
    schemas = [
        {
            "name": name,
            "description": inline_code(schema.get("description", "")),
            "type": None if "properties" in schema else schema_type(schema),
            "fields": _properties(schema),
        }
        for name, schema in document["components"]["schemas"].items()
    ]
    return {
        "info": document["info"],
        "overview": [inline_code(p) for p in document["info"]["description"].split("\n\n")],
        "openapi_version": document["openapi"],
        "tags": [dict(tag, operations=by_tag[tag["name"]]) for tag in document["tags"]],
        "schemas": schemas,
        "problem_types": problem_type_list(),
    }
