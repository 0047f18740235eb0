"""Checks solod's HTTP answers against its OpenAPI 3.1 document, docs/openapi.json.

The e2e harness (solod_harness.py) hands every response it receives here:
`Solod.request()` (and so get/post/login/...), `Solod.raw_exchange()` and the
handshake of `Solod.ws_connect()`. An answer the document does not describe
raises `OpenApiMismatch` (an AssertionError), which fails the test that made
the request. Described means:

1. The path: a concrete entry of `paths`, else a template (`{name}` matches
   one non-empty segment), else the root extension `x-solod-other-paths`
   (longest matching prefix; a target that does not start with `/` counts
   as `/`).
2. The method: the path item's operation, else the path item's
   `x-solod-other-methods` (answers to any other method).
3. The status: `"404"`, else `"4XX"`, else `"default"` among those
   responses; and the root's `x-solod-any-request` (what the HTTP layer may
   answer to any request before routing: 400, 413, 431) is tried too.
4. The headers the response documents: a `required` one must be present,
   and every documented one present must match its schema.
5. The content type (its media type without parameters) must be a key of
   the response's `content`; a response without `content` must have no body.
6. The body: JSON (`application/json`) parsed and validated, text (`text/*`)
   validated as a string, against the media type's schema with
   `jsonschema.Draft202012Validator`; `$ref`s into `#/components/...` resolve
   against the document. Other types (images) are not looked into.
   Bodies of HEAD requests are empty and not checked.

Validators are compiled once per schema and process. jsonschema is imported
on first use: Debian's python3-jsonschema (4.10, Debian 12) or any later
version (the `referencing`-based 4.18+ alike: no RefResolver is used; each
schema is compiled with the document's `components` beside it in its root).
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any, Iterable
from urllib.parse import unquote

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
OTHER_METHODS = "x-solod-other-methods"
OTHER_PATHS = "x-solod-other-paths"
ANY_REQUEST = "x-solod-any-request"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

Headers = Iterable[tuple[str, str]]


class OpenApiMismatch(AssertionError):
    """A response that docs/openapi.json does not describe."""


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def resolve_pointer(document: Any, ref: str) -> Any:
    """The value `ref` ("#/a/b~1c") points at in `document`; KeyError/IndexError if none."""
    if not ref.startswith("#"):
        raise KeyError(f"only local references are used: {ref}")
    value = document
    tokens = unquote(ref[1:]).split("/")[1:] if len(ref) > 1 else []
    for token in tokens:
        token = _unescape(token)
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


def media_essence(content_type: str | None) -> str | None:
    """`text/plain; charset=utf-8` -> `text/plain`."""
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(essence: str) -> bool:
    return essence == "application/json" or essence.endswith("+json")


class OpenApiDocument:
    """docs/openapi.json, ready to check responses against."""

    def __init__(self, document: dict, name: str = "docs/openapi.json"):
        self.doc = document
        self.name = name
        self._validators: dict[int, Any] = {}
        self._lock = threading.Lock()
        paths = document.get("paths", {})
        self._concrete = {p: item for p, item in paths.items() if "{" not in p}
        templates = []
        for template, item in paths.items():
            if "{" not in template:
                continue
            pattern = "".join(
                "[^/]+" if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{[^}/]+\})", template) if part)
            literal = len(re.sub(r"\{[^}/]+\}", "", template))
            templates.append((literal, template, re.compile(pattern + r"\Z"), item))
        # More literal text first: /a/{x}/b before /a/{x}/{y}.
        templates.sort(key=lambda t: -t[0])
        self._templates = [(t, rx, item) for _, t, rx, item in templates]

    @classmethod
    def load(cls, path: str) -> "OpenApiDocument":
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f), os.path.relpath(path))

    # -- lookups ------------------------------------------------------------------------

    def deref(self, value: Any) -> Any:
        """Follows `$ref`s (Reference Objects) until a value without one."""
        seen = 0
        while isinstance(value, dict) and "$ref" in value:
            value = resolve_pointer(self.doc, value["$ref"])
            seen += 1
            if seen > 20:
                raise OpenApiMismatch(f"{self.name}: $ref loop")
        return value

    def match_path(self, path: str) -> tuple[str, dict]:
        """(what matched, its path item) for a request path (no query)."""
        if path in self._concrete:
            return path, self.deref(self._concrete[path])
        for template, rx, item in self._templates:
            if rx.match(path):
                return template, self.deref(item)
        fallbacks = self.doc.get(OTHER_PATHS, {})
        best = None
        for prefix in fallbacks:
            if path.startswith(prefix) and (best is None or len(prefix) > len(best)):
                best = prefix
        if best is None and "/" in fallbacks:
            best = "/"
        if best is None:
            raise OpenApiMismatch(f"{self.name} describes no path like {path!r} "
                                  f"(and has no {OTHER_PATHS} entry for it)")
        return f"{OTHER_PATHS}[{best!r}]", fallbacks[best]

    def responses_for(self, method: str, path: str) -> tuple[str, dict]:
        """(a label naming what matched, the Responses Object) for a request."""
        where, item = self.match_path(path)
        m = method.lower()
        if m in METHODS and m in item:
            return f"{method.upper()} {where}", self.deref(item[m])["responses"]
        if OTHER_METHODS in item:
            return f"{where} {OTHER_METHODS} ({method.upper()})", item[OTHER_METHODS]
        raise OpenApiMismatch(f"{self.name} has no {method.upper()} for {where} "
                              f"(nor {OTHER_METHODS})")

    @staticmethod
    def lookup_status(responses: dict, status: int) -> Any:
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in responses:
                return responses[key]
        return None

    # -- validation ------------------------------------------------------------------------

    def validator(self, schema: Any):
        """A compiled Draft 2020-12 validator of `schema` (a part of the document)."""
        key = id(schema)
        v = self._validators.get(key)
        if v is not None:
            return v
        try:
            import jsonschema
        except ImportError as e:
            raise OpenApiMismatch(
                "the e2e tests check every response against docs/openapi.json with "
                "python3-jsonschema, which this Python cannot import: apt-get install "
                "python3-jsonschema (scripts/install-deps.sh --test)") from e
        # The schema is the root, with the document's components beside it, so that
        # "#/components/schemas/..." resolves whichever jsonschema version this is.
        root = dict(schema) if isinstance(schema, dict) else {"const": schema}
        root["$schema"] = DIALECT
        root["components"] = self.doc.get("components", {})
        v = jsonschema.Draft202012Validator(root)
        with self._lock:
            self._validators[key] = v
        return v

    def schema_problems(self, schema: Any, instance: Any, limit: int = 3) -> list[str]:
        """What is wrong with `instance` under `schema` (empty: it is valid)."""
        errors = list(self.validator(schema).iter_errors(instance))
        if not errors:
            return []
        from jsonschema.exceptions import best_match
        first = best_match(errors)
        ordered = [first] + [e for e in errors if e is not first]
        out = []
        for e in ordered[:limit]:
            where = getattr(e, "json_path", None) or "$" + "".join(
                f"[{p!r}]" for p in e.absolute_path)
            out.append(f"at {where}: {e.message[:400]}")
        if len(errors) > limit:
            out.append(f"... and {len(errors) - limit} more")
        return out

    def response_problems(self, response: Any, headers: Headers | None, body: bytes,
                          head: bool) -> list[str]:
        """What in this answer the Response Object `response` does not allow."""
        response = self.deref(response)
        problems: list[str] = []
        pairs = list(headers) if headers is not None else None
        if pairs is not None:
            for name, header in (response.get("headers") or {}).items():
                header = self.deref(header)
                values = [v for k, v in pairs if k.lower() == name.lower()]
                if not values and header.get("required"):
                    problems.append(f"header {name} is missing")
                schema = header.get("schema")
                for value in values if schema is not None else []:
                    for p in self.schema_problems(schema, value):
                        problems.append(f"header {name}: {value!r}: {p}")
        content = response.get("content") or {}
        if not content:
            if body and not head:
                problems.append(f"a body where the document says none: {body[:200]!r}")
            return problems
        if pairs is None:
            # No headers (a WebSocket handshake refusal): check a JSON body if it is one.
            media = next((m for k, m in content.items() if _is_json(media_essence(k))), None)
            if media is not None and "schema" in media and body:
                try:
                    value = json.loads(body)
                except ValueError:
                    return problems
                problems += [f"body {p}" for p in self.schema_problems(media["schema"], value)]
            return problems
        ctype = next((v for k, v in pairs if k.lower() == "content-type"), None)
        essence = media_essence(ctype)
        media = next((m for k, m in content.items() if media_essence(k) == essence), None)
        if media is None:
            problems.append(f"content type {ctype!r} is not one of {sorted(content)}")
            return problems
        schema = media.get("schema")
        if head or schema is None:
            return problems
        if _is_json(essence):
            try:
                value = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                problems.append(f"the body is not JSON ({e}): {body[:200]!r}")
                return problems
        elif essence.startswith("text/"):
            try:
                value = body.decode("utf-8")
            except UnicodeDecodeError as e:
                problems.append(f"the body is not UTF-8 ({e})")
                return problems
        else:
            return problems
        problems += [f"body {p}" for p in self.schema_problems(schema, value)]
        return problems

    # -- the checks ----------------------------------------------------------------------------

    def check(self, method: str | None, target: str, status: int, headers: Headers | None,
              body: bytes, check_body: bool = True) -> None:
        """Raises OpenApiMismatch unless the document describes this answer to `method target`.

        `method` None: the request could not be parsed, so only the answers of the HTTP
        layer (`x-solod-any-request`) fit. `headers` None: unknown (no header or content
        type checks). `check_body` False: the body is incomplete or still chunk-encoded.
        """
        path = target.split("?", 1)[0]
        head = method is not None and method.upper() == "HEAD"
        candidates = []
        label = "the unparsed request"
        documented: list[str] = []
        if method is not None:
            label, responses = self.responses_for(method, path)
            documented = sorted(responses)
            r = self.lookup_status(responses, status)
            if r is not None:
                candidates.append((label, r))
        any_request = self.doc.get(ANY_REQUEST, {})
        r = self.lookup_status(any_request, status)
        if r is not None:
            candidates.append((ANY_REQUEST, r))
        request = f"{method or '?'} {target}"
        if not candidates:
            raise OpenApiMismatch(
                f"{self.name} does not describe {request} -> {status}: {label} documents "
                f"{documented} (and {ANY_REQUEST} {sorted(any_request)}); body "
                f"{body[:300]!r}")
        failures = []
        for where, response in candidates:
            problems = self.response_problems(response, headers,
                                              body if check_body else b"",
                                              head or not check_body)
            if not problems:
                return
            failures.append(f"  as {where} {status}:\n" +
                            "\n".join(f"    - {p}" for p in problems))
        raise OpenApiMismatch(f"{self.name} does not describe {request} -> {status}:\n"
                              + "\n".join(failures) + f"\n  body: {body[:500]!r}")

    def check_upgrade(self, target: str, status: int, body: bytes) -> None:
        """The answer to a WebSocket handshake (GET with `Upgrade: websocket`). A path
        whose GET documents no 101 is refused with 404 (the `/ws` description)."""
        path = target.split("?", 1)[0]
        _, item = self.match_path(path)
        get = item.get("get")
        upgrades = get is not None and "101" in self.deref(get)["responses"]
        if upgrades:
            self.check("GET", target, status, None, body)
            return
        if status != 404:
            raise OpenApiMismatch(f"{self.name}: a WebSocket upgrade to {target} (no 101 "
                                  f"documented) must be refused 404, got {status}")
        problems = self.response_problems({"$ref": "#/components/responses/NotFound"}, None,
                                          body, False)
        if problems:
            raise OpenApiMismatch(f"upgrade to {target} -> 404: " + "; ".join(problems))


_default: OpenApiDocument | None = None
_default_lock = threading.Lock()


def document(source_dir: str) -> OpenApiDocument:
    """docs/openapi.json of `source_dir`, loaded once per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = OpenApiDocument.load(os.path.join(source_dir, "docs", "openapi.json"))
        return _default


def parse_request_line(head: bytes) -> tuple[str, str] | None:
    """(method, target) of the first line of a raw request, or None when it is not one."""
    m = re.match(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP/[0-9]\.[0-9]\r?\n", head)
    if not m:
        return None
    return m.group(1).decode("ascii"), m.group(2).decode("latin-1")
