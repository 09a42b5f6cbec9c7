"""The live view's JSON API as an OpenAPI 3 document (served at /api/openapi.json)."""

from __future__ import annotations

from typing import Any


def _op(summary: str, ok: str, *errors: int, body: str | None = None, auth: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {ok: {"description": "OK"}}}
    for code in errors:
        op["responses"][str(code)] = {"$ref": f"#/components/responses/E{code}"}
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    if auth:
        op["security"] = [{"token": []}]
    return op


_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"},
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "vasdk live view",
        "version": "1",
        "description": "Every mutating call needs 'Authorization: Bearer TOKEN' (printed by vasdk run). "
        "On a non-loopback address every /api call needs it (or ?token= for GET).",
    },
    "components": {
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "NewChannel": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "url"],
                "properties": {
                    "id": {"type": "string"},
                    "url": {"type": "string", "description": "rtsp:// or rtsps:// only"},
                    "rules": {"type": "array", "items": {"type": "object"}},
                },
            },
            "Rules": {
                "type": "object",
                "required": ["rules"],
                "description": "As analytics.rules in the pipeline config; validated by the pipeline",
                "properties": {"rules": {"type": "array", "items": {"type": "object"}}},
            },
            "Error": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
            },
        },
        "responses": {
            f"E{c}": {
                "description": d,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
            for c, d in [
                (400, "bad input; the message names the field"),
                (401, "no token"),
                (403, "wrong token"),
                (404, "no such channel or image"),
                (503, "too many clients"),
                (504, "no picture in time"),
            ]
        },
    },
    "paths": {
        "/api/channels": {
            "get": _op(
                "channels with their state, camera URL (password hidden), rules, MJPEG path and RTSP out URL",
                "200",
            ),
            "post": _op(
                "add a camera channel (analytics as the first configured channel)",
                "201",
                400,
                401,
                403,
                body="NewChannel",
                auth=True,
            ),
        },
        "/api/channels/{id}": {
            "parameters": [_ID],
            "delete": _op(
                "remove a channel; returns its final counters", "200", 400, 401, 403, 404, auth=True
            ),
        },
        "/api/channels/{id}/rules": {
            "parameters": [_ID],
            "get": _op("the channel's rules", "200", 404),
            "put": _op(
                "replace the rules (the pipeline's live update_rules)",
                "200",
                400,
                401,
                403,
                404,
                body="Rules",
                auth=True,
            ),
        },
        "/api/channels/{id}/mjpeg": {
            "parameters": [_ID],
            "get": _op(
                "live annotated picture, multipart/x-mixed-replace JPEGs; each part "
                "has X-Frame and X-Capture-Us (wall clock, us)",
                "200",
                404,
                503,
            ),
        },
        "/api/channels/{id}/frame.jpg": {
            "parameters": [_ID],
            "get": _op("one live annotated JPEG", "200", 404, 504),
        },
        "/api/stats": {"get": _op("per channel fps, p50/p99 latency, drops, rule counts, viewers", "200")},
        "/api/events": {
            "get": _op(
                "server-sent events (event: pipeline, data: JSON): rule, best_shot, track, "
                "source and channel events; the last 200 first",
                "200",
                503,
            )
        },
        "/api/best_shots/{channel}/{name}": {
            "get": _op(
                "a best-shot JPEG of this run (name: EVENT_TS_US.jpg), only from the run's best-shot folder",
                "200",
                400,
                404,
            )
        },
    },
}
