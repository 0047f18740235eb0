"""docs/openapi.json: a well-formed OpenAPI 3.1 document, served by the binary as it is,
naming every route of the code, and a checker (openapi_check.py) that really refuses what
the document does not describe. (Every other e2e test checks its own responses against the
document through the harness.)"""

import copy
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import openapi_check  # noqa: E402
from openapi_check import METHODS, OTHER_METHODS, OTHER_PATHS, ANY_REQUEST  # noqa: E402
from solod_harness import SOURCE_DIR, SolodTestCase, openapi  # noqa: E402

DOC_PATH = os.path.join(SOURCE_DIR, "docs", "openapi.json")
PASSWORD = "correct horse battery"


def load_doc() -> dict:
    with open(DOC_PATH, encoding="utf-8") as f:
        return json.load(f)


def read_source(relative: str) -> str:
    with open(os.path.join(SOURCE_DIR, relative), encoding="utf-8") as f:
        return f.read()


def walk(value, path="#"):
    """Every (JSON pointer, dict) in `value`, depth first."""
    if isinstance(value, dict):
        yield path, value
        for k, v in value.items():
            yield from walk(v, path + "/" + str(k).replace("~", "~0").replace("/", "~1"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}/{i}")


def path_items(doc: dict):
    """(name, path item) of `paths` and of `x-solod-other-paths`."""
    for name, item in doc["paths"].items():
        yield name, item
    for prefix, item in doc.get(OTHER_PATHS, {}).items():
        yield f"{OTHER_PATHS}[{prefix}]", item


def operations(doc: dict):
    """(label, operation) of every operation."""
    for name, item in path_items(doc):
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {name}", item[method]


def responses_maps(doc: dict):
    """(label, Responses Object) of every operation and extension."""
    for label, op in operations(doc):
        yield label, op["responses"]
    for name, item in path_items(doc):
        if OTHER_METHODS in item:
            yield f"{name} {OTHER_METHODS}", item[OTHER_METHODS]
    yield ANY_REQUEST, doc[ANY_REQUEST]


class DocumentTest(unittest.TestCase):
    """The document alone: the OpenAPI 3.1 rules that are cheap to check."""

    @classmethod
    def setUpClass(cls):
        cls.doc = load_doc()
        cls.checker = openapi_check.OpenApiDocument(cls.doc)

    def test_version_dialect_and_info(self):
        self.assertEqual(self.doc["openapi"], "3.1.0")
        self.assertEqual(self.doc["jsonSchemaDialect"], "https://json-schema.org/draft/2020-12/schema")
        self.assertEqual(self.doc["info"]["title"], "solod")
        project = re.search(r"project\(solod VERSION ([0-9.]+)", read_source("CMakeLists.txt"))
        self.assertEqual(self.doc["info"]["version"], project.group(1),
                         "info.version is the version of CMakeLists.txt's project()")
        allowed = {"openapi", "info", "jsonSchemaDialect", "servers", "paths", "webhooks",
                   "components", "security", "tags", "externalDocs"}
        for key in self.doc:
            self.assertTrue(key in allowed or key.startswith("x-"), f"unknown root field {key}")

    def test_every_ref_resolves(self):
        count = 0
        for where, node in walk(self.doc):
            ref = node.get("$ref")
            if isinstance(ref, str):
                count += 1
                self.assertTrue(ref.startswith("#/"), f"{where}: only local refs: {ref}")
                try:
                    openapi_check.resolve_pointer(self.doc, ref)
                except (KeyError, IndexError, ValueError):
                    self.fail(f"{where}: $ref {ref} resolves to nothing")
        self.assertGreater(count, 50)

    def test_every_component_is_used(self):
        text = json.dumps(self.doc)
        for kind, entries in self.doc["components"].items():
            if kind == "securitySchemes":
                continue
            for name in entries:
                self.assertIn(f'"#/components/{kind}/{name}"', text, f"unused {kind}/{name}")

    def test_operations(self):
        ids = set()
        tags = {t["name"] for t in self.doc["tags"]}
        schemes = set(self.doc["components"]["securitySchemes"])
        for label, op in operations(self.doc):
            with self.subTest(operation=label):
                self.assertIn("operationId", op)
                self.assertNotIn(op["operationId"], ids, "operationId must be unique")
                ids.add(op["operationId"])
                self.assertTrue(op.get("summary"), "a summary")
                self.assertTrue(set(op.get("tags", [])) <= tags, f"undeclared tags {op.get('tags')}")
                self.assertIn("security", op, "every operation says how it authenticates")
                for requirement in op["security"]:
                    self.assertTrue(set(requirement) <= schemes, requirement)
                self.assertTrue(op["responses"], "at least one response")
        for label, responses in responses_maps(self.doc):
            with self.subTest(responses=label):
                self.assertTrue(responses)
                for status, response in responses.items():
                    self.assertRegex(status, r"^([1-5][0-9][0-9]|[1-5]XX|default)$")
                    resolved = self.checker.deref(response)
                    self.assertTrue(resolved.get("description") or response.get("description"),
                                    f"{status}: a Response Object needs a description")
                    for media, body in (resolved.get("content") or {}).items():
                        self.assertRegex(media, r"^[a-z]+/[a-z0-9.+-]+$")
                        self.assertIn("schema", body, f"{status} {media}")

    def test_path_parameters_are_declared(self):
        for name, item in self.doc["paths"].items():
            declared_here = {self.checker.deref(p)["name"] for p in item.get("parameters", [])
                             if self.checker.deref(p)["in"] == "path"}
            for method in METHODS:
                if method not in item:
                    continue
                declared = declared_here | {
                    self.checker.deref(p)["name"] for p in item[method].get("parameters", [])
                    if self.checker.deref(p)["in"] == "path"}
                with self.subTest(path=name, method=method):
                    self.assertEqual(set(re.findall(r"\{([^}]+)\}", name)), declared)

    def test_schemas_are_valid_draft_2020_12(self):
        import jsonschema
        seen = 0
        for where, node in walk(self.doc):
            for key in ("schema",):
                if isinstance(node.get(key), (dict, bool)) and not where.endswith("/properties"):
                    seen += 1
                    jsonschema.Draft202012Validator.check_schema(node[key])
        for name, schema in self.doc["components"]["schemas"].items():
            with self.subTest(schema=name):
                jsonschema.Draft202012Validator.check_schema(schema)
        self.assertGreater(seen, 50)

    def test_own_objects_are_closed(self):
        """solod's own response objects name every field: an added one must be documented."""
        schemas = self.doc["components"]["schemas"]
        for name, schema in schemas.items():
            if schema.get("type") == "object" and not name.endswith("Request"):
                with self.subTest(schema=name):
                    self.assertIs(schema.get("additionalProperties"), False)
                    self.assertTrue(schema.get("required"), "required fields")

    def test_extensions(self):
        self.assertEqual(set(self.doc[ANY_REQUEST]), {"400", "413", "431"})
        self.assertIn("/", self.doc[OTHER_PATHS], "a fallback for every other path")
        for prefix in self.doc[OTHER_PATHS]:
            self.assertTrue(prefix.startswith("/") and prefix.endswith("/"), prefix)

    def test_every_error_code_of_the_code_is_documented(self):
        """Each `error_response(STATUS, "code", ...)` of src/net is an error the document
        lists under that status somewhere."""
        documented = set()
        for _, responses in responses_maps(self.doc):
            for status, response in responses.items():
                response = self.checker.deref(response)
                for media in (response.get("content") or {}).values():
                    for _, node in walk(media.get("schema", {})):
                        error = node.get("properties", {}).get("error", {})
                        for code in error.get("enum", []) + ([error["const"]] if "const" in error else []):
                            documented.add((int(status), code))
        used = set()
        net = os.path.join(SOURCE_DIR, "src", "net")
        for name in sorted(os.listdir(net)):
            if name.endswith(".cpp"):
                text = read_source(os.path.join("src", "net", name))
                for status, code in re.findall(
                        r'(?:error_response|send_and_close)\(\s*(\d{3}),\s*"([a-z_]+)"', text):
                    used.add((int(status), code))
        self.assertGreater(len(used), 15)
        self.assertEqual(sorted(used - documented), [], "error answers the document lacks")


class RouteTablesTest(unittest.TestCase):
    """Every route of src/net/api_router.cpp and admin_router.cpp is in the document, and
    every documented /api/ route is in the code."""

    @classmethod
    def setUpClass(cls):
        cls.doc = load_doc()

    def code_routes(self) -> set[tuple[str, str]]:
        routes = set()
        api = read_source("src/net/api_router.cpp")
        table = re.search(r"static const route routes\[\] = \{(.*?)\n  \};", api, re.S).group(1)
        for path, method in re.findall(r'\{"(/[^"]*)", "([A-Z]+)"', table):
            routes.add((path, method))
        self.assertGreaterEqual(len(routes), 10, "the routes table was found")
        for path in re.findall(r'req\.path == "(/[^"]*)"', api):
            routes.add((path, "GET"))
            routes.add((path, "HEAD"))

        admin = read_source("src/net/admin_router.cpp")
        dispatch = re.search(r"void admin_router::dispatch\(.*?\n}\n", admin, re.S).group(0)
        for chunk in re.split(r"\n  if \(path", dispatch)[1:]:
            m = re.match(r' == "(/[^"]*)"|\.rfind\("(/[^"]*)", 0\) == 0', chunk)
            exact, prefix = m.group(1), m.group(2)
            methods = set(re.findall(r'\bm [!=]= "([A-Z]+)"', chunk))
            if prefix == "/api/admin/users/":
                # PATCH /api/admin/users/{id}; the rest is user_attribute_route below.
                path = prefix + "{id}"
            else:
                path = exact or prefix + "{id}"
            for method in methods:
                routes.add((path, method))
        attributes = re.search(r"void admin_router::user_attribute_route\(.*?\n}\n", admin, re.S).group(0)
        for chunk in re.split(r"\n  if \(rest", attributes)[1:]:
            m = re.match(r' == "(/[^"]*)"|\.rfind\("(/[^"]*)", 0\) != 0', chunk)
            rest = m.group(1) or m.group(2) + "{name}"
            for method in set(re.findall(r'\bm [!=]= "([A-Z]+)"', chunk)):
                routes.add(("/api/admin/users/{id}" + rest, method))
        subjects = read_source("src/net/admin_subjects.cpp")
        table = re.search(r"subject_routes\[\] = \{(.*?)\n\};", subjects, re.S).group(1)
        for suffix, method in re.findall(r'\{"(/[a-z]+)", "([A-Z]+)"\}', table):
            routes.add(("/api/admin/users/{id}" + suffix, method))
        self.assertGreaterEqual(len([r for r in routes if r[0].startswith("/api/admin/")]), 13)
        return routes

    def test_code_routes_are_documented(self):
        for path, method in sorted(self.code_routes()):
            with self.subTest(route=f"{method} {path}"):
                self.assertIn(path, self.doc["paths"])
                self.assertIn(method.lower(), self.doc["paths"][path])

    def test_documented_api_routes_are_in_the_code(self):
        routes = self.code_routes()
        for path, item in self.doc["paths"].items():
            for method in METHODS:
                if method in item and (path.startswith("/api/") or (path, "POST") in routes
                                       or (path, "GET") in routes):
                    with self.subTest(route=f"{method.upper()} {path}"):
                        self.assertIn((path, method.upper()), routes)


class ServedDocumentTest(SolodTestCase):
    """GET /api/openapi.json from the binary, and the checker's refusals."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s = cls.class_server({"limits": {"login_per_ip_per_minute": 100000}})
        with open(DOC_PATH, "rb") as f:
            cls.doc_bytes = f.read()

    def test_served_document_is_docs_openapi_json(self):
        r = self.s.get("/api/openapi.json")
        self.assert_status(r, 200)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(r.header("Cache-Control"), "no-cache")
        self.assertEqual(r.body, self.doc_bytes,
                         "the binary serves docs/openapi.json as it was at build time: rebuild")

    def test_head_and_other_methods(self):
        r = self.s.request("HEAD", "/api/openapi.json")
        self.assert_status(r, 200)
        self.assertEqual(r.body, b"")
        self.assertEqual(int(r.header("Content-Length")), len(self.doc_bytes))
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            with self.subTest(method=method):
                r = self.s.request(method, "/api/openapi.json", {})
                self.assert_error(r, 405, "method_not_allowed")
                self.assertEqual(r.header("Allow"), "GET, HEAD")
        # Every 405 names what the path takes (README "HTTP API").
        for method, path, allow in [("DELETE", "/healthz", "GET, HEAD"), ("PUT", "/metrics", "GET, HEAD"),
                                    ("PUT", "/socket.io/?EIO=4&transport=polling", "GET, POST"),
                                    ("GET", "/api/login", "POST")]:
            with self.subTest(method=method, path=path):
                r = self.s.request(method, path, {} if method != "GET" else None)
                self.assert_error(r, 405, "method_not_allowed")
                self.assertEqual(r.header("Allow"), allow)

    # -- the checker refuses what the document does not say ---------------------------------

    def real_answers(self):
        name, _ = self.s.new_user(PASSWORD)
        login = self.s.login(name, PASSWORD)
        me = self.s.me(login.json["token"])
        return login, me

    def assert_refused(self, method, target, status, headers, body, why):
        with self.assertRaises(openapi_check.OpenApiMismatch, msg=why) as caught:
            openapi().check(method, target, status, headers, body)
        return str(caught.exception)

    def test_checker_accepts_real_answers(self):
        login, me = self.real_answers()
        openapi().check("POST", "/api/login", login.status, login.headers.items(), login.body)
        openapi().check("GET", "/api/me", me.status, me.headers.items(), me.body)

    def test_checker_refuses_tampered_answers(self):
        login, me = self.real_answers()
        headers = list(me.headers.items())
        body = me.json

        def tampered(change):
            copy_ = copy.deepcopy(body)
            change(copy_)
            return json.dumps(copy_).encode()

        message = self.assert_refused("GET", "/api/me", 200, headers,
                                      tampered(lambda b: b["user"].update(password_hash="x")),
                                      "an undocumented field")
        self.assertIn("password_hash", message)
        self.assert_refused("GET", "/api/me", 200, headers,
                            tampered(lambda b: b["session"].update(created_at="2026-11-22T09:10:00Z")),
                            "a timestamp without milliseconds")
        self.assert_refused("GET", "/api/me", 200, headers,
                            tampered(lambda b: b["user"].pop("last_login")), "a missing field")
        self.assert_refused("GET", "/api/me", 200, headers,
                            tampered(lambda b: b["user"].update(id="1")), "a wrong type")
        self.assert_refused("GET", "/api/me", 418, headers, me.body, "an undocumented status")
        self.assert_refused("GET", "/api/me", 200,
                            [(k, "text/plain" if k.lower() == "content-type" else v)
                             for k, v in headers], me.body, "an undocumented content type")
        self.assert_refused("GET", "/api/me", 401, headers,
                            b'{"error":"nope","message":"x"}', "an error code the route lacks")
        self.assert_refused("GET", "/api/me", 200, headers, b"{not json", "a body that is not JSON")
        no_cookie = [(k, v) for k, v in login.headers.items() if k.lower() != "set-cookie"]
        self.assert_refused("POST", "/api/login", 200, no_cookie, login.body,
                            "a required header missing")
        bad_retry = [("Content-Type", "application/json"), ("Retry-After", "soon")]
        self.assert_refused("POST", "/api/login", 429, bad_retry,
                            b'{"error":"rate_limited","message":"x"}', "a header off its schema")
        self.assert_refused("POST", "/api/logout", 204, [("Set-Cookie", "solod_session=; HttpOnly; "
                            "SameSite=Strict; Path=/; Max-Age=0")], b"{}", "a body on a 204")
        self.assert_refused("GET", "/api/no-such-route", 200, headers, me.body,
                            "a success on a path the document does not have")
        self.assert_refused("DELETE", "/api/me", 200, headers, me.body,
                            "a method the path does not take, answered as if it did")
        self.assert_refused(None, "", 404, headers, b'{"error":"not_found","message":"x"}',
                            "an unparsable request can only get the HTTP layer's answers")

    def test_checker_refuses_a_websocket_upgrade_elsewhere(self):
        openapi().check_upgrade("/ws", 101, b"")
        openapi().check_upgrade("/api/me", 404, b'{"error":"not_found","message":"x"}')
        with self.assertRaises(openapi_check.OpenApiMismatch):
            openapi().check_upgrade("/api/me", 101, b"")


if __name__ == "__main__":
    unittest.main(verbosity=2)
