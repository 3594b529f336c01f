#!/usr/bin/python3
"""Fails when docs/openapi.yaml and the API's code disagree (issue 4 §3: the OpenAPI file is kept
true to the code; IA-4 and AZ-1 tests generate their path lists and privilege matrix from it).

Compared with the route table of src/web/api/api.cpp (the `{verb::..., "/api/v1/...", Auth::...,
Area::..., bool, Reauth::..., &Api::...}` rows):
  - every route has an operation with the same method and path, and every operation a route
    ({} in a pattern matches the {name} parameter at the same position);
  - x-sg-auth (public | session | session-during-forced-change), x-sg-area (the Area in lower
    case) and x-sg-access (read | write) equal the row's Auth, Area and write flag;
  - x-sg-reauth is `true` exactly on the rows marked Reauth::Required (AZ-3), both ways (absent
    or false on every other operation); such an operation lists `reauth_required` among the
    x-sg-errors of its 401 response, and no other operation does (but the x-sg-guarded ones);
  - x-sg-also-requires ({area, access}, or a list of them) equals the privileges the row's
    handler checks itself (`allowed(call, Area::X, true|false)` in its body), and the reverse;
  - x-sg-guarded lists settings of the kGuarded table of src/web/api/config_handlers.cpp (a change
    of one needs another area's write and a fresh password, whatever the route): such an
    operation lists reauth_required in its 401 even on a Reauth::No row, and every key of the
    table is named by some operation;
  - a public operation declares `security: []`; every other one requires cookieAuth, and a
    non-GET one cookieAuth together with csrfToken (WS-4);
  - each {name} of a path is a declared path parameter and the reverse.
Compared with the handlers: the set of error codes the code can answer (error(...) calls in
src/web/api, the account refusal map, certificate refusals, session caps, the HTTP server's own
answers) equals the set listed in the document's `x-sg-errors`. Also: every $ref resolves and
operationIds are unique.

Usage: check_openapi.py [ROOT] [--openapi FILE] [--api-cpp FILE]   (/usr/bin/python3 + python3-yaml)
"""
import argparse
import pathlib
import re
import sys

import yaml

METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")
AUTH = {"Public": "public", "Session": "session",
        "SessionDuringForcedChange": "session-during-forced-change"}
REAUTH = {"No": False, "Required": True}
ROW = re.compile(
    r'\{\s*verb::(\w+)\s*,\s*"(/api/v1/[^"]*)"\s*,\s*Auth::(\w+)\s*,\s*Area::(\w+)\s*,'
    r'\s*(true|false)\s*,\s*Reauth::(\w+)\s*,\s*&Api::(\w+)\s*\}')


def routes_of(api_cpp):
    """(method, pattern) -> row, from the route table's source text."""
    text = api_cpp.read_text()
    rows = {}
    problems = []
    for m in ROW.finditer(text):
        verb, pattern, auth, area, write, reauth, handler = m.groups()
        method = verb.rstrip("_")  # delete_
        line = text.count("\n", 0, m.start()) + 1
        key = (method, pattern)
        if key in rows:
            problems.append(f"{api_cpp}:{line}: {method.upper()} {pattern} is in the table twice")
        if reauth not in REAUTH:
            problems.append(f"{api_cpp}:{line}: Reauth::{reauth} is neither No nor Required")
        rows[key] = {"auth": AUTH.get(auth, f"?{auth}"), "area": area.lower(),
                     "access": "write" if write == "true" else "read",
                     "reauth": REAUTH.get(reauth, False), "handler": handler, "line": line}
    return rows, problems


def extra_checks(api_dir):
    """Handler name -> sorted [(area, access)] it checks itself with allowed(call, Area::X, w)."""
    out = {}
    head = re.compile(r"^http::Response Api::(\w+)\(Call& call\) \{$", re.M)
    check = re.compile(r"\ballowed\(\s*call\s*,\s*(?:[\w:]*::)?Area::(\w+)\s*,\s*(true|false)\s*\)")
    for f in sorted(p for p in api_dir.glob("*.cpp") if not p.name.endswith("_test.cpp")):
        text = f.read_text(errors="replace")
        for m in head.finditer(text):
            end = text.find("\n}\n", m.end())
            body = text[m.end():end if end >= 0 else len(text)]
            found = {(a.lower(), "write" if w == "true" else "read")
                     for a, w in check.findall(body)}
            if found:
                out[m.group(1)] = sorted(found)
    return out


def declared_extras(op):
    """x-sg-also-requires as sorted [(area, access)]; None when malformed."""
    x = op.get("x-sg-also-requires")
    if x is None:
        return []
    items = x if isinstance(x, list) else [x]
    if not all(isinstance(i, dict) and set(i) == {"area", "access"} for i in items):
        return None
    return sorted((str(i["area"]).lower(), str(i["access"])) for i in items)


def guarded_keys(api_dir):
    """The settings of the kGuarded table in config_handlers.cpp."""
    text = (api_dir / "config_handlers.cpp").read_text(errors="replace")
    m = re.search(r"constexpr Guarded kGuarded\[\] = \{(.*?)\n\};", text, re.S)
    if not m:
        return None
    return set(re.findall(r'^\s*\{"([a-z_]+(?:\.[a-z_]+)+)",', m.group(1), re.M))


def shape(path):
    """/api/v1/accounts/{name}/password -> /api/v1/accounts/{}/password (by position)."""
    return re.sub(r"\{[^}/]*\}", "{}", path)


def resolve(doc, ref):
    if not ref.startswith("#/"):
        return None
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def walk(node, fn, where=""):
    if isinstance(node, dict):
        fn(node, where)
        for k, v in node.items():
            walk(v, fn, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, fn, f"{where}[{i}]")


def check_operation(doc, path, method, op, row, path_params, extras, guarded_table):
    where = f"openapi {method.upper()} {path}"
    bad = []
    guarded = op.get("x-sg-guarded", [])
    if not isinstance(guarded, list) or not all(isinstance(g, str) for g in guarded):
        bad.append(f"{where}: x-sg-guarded must be a list of setting names")
        guarded = []
    for g in guarded:
        if g not in guarded_table:
            bad.append(f"{where}: x-sg-guarded names {g!r}, which is not in kGuarded of "
                       f"config_handlers.cpp")
    declared = declared_extras(op)
    want_extra = extras.get(row["handler"], [])
    if declared is None:
        bad.append(f"{where}: x-sg-also-requires must be {{area, access}} or a list of them")
    elif declared != want_extra:
        bad.append(f"{where}: x-sg-also-requires is {declared!r}, the handler Api::"
                   f"{row['handler']} checks {want_extra!r}")
    for ext, want in (("x-sg-auth", row["auth"]), ("x-sg-area", row["area"]),
                      ("x-sg-access", row["access"])):
        got = op.get(ext)
        if got != want:
            bad.append(f"{where}: {ext} is {got!r}, the route table (api.cpp:{row['line']}) "
                       f"says {want!r}")
    # AZ-3: the re-authentication flag, both ways; a sensitive operation documents its 401.
    reauth = op.get("x-sg-reauth", False)
    if reauth not in (True, False):
        bad.append(f"{where}: x-sg-reauth must be true or false (got {reauth!r})")
    elif reauth != row["reauth"]:
        bad.append(f"{where}: x-sg-reauth is {reauth!r}, the route table (api.cpp:{row['line']}) "
                   f"says Reauth::{'Required' if row['reauth'] else 'No'}")
    r401 = (op.get("responses") or {}).get("401") or {}
    if "$ref" in r401:
        r401 = resolve(doc, r401["$ref"]) or {}
    codes = set()
    for media in (r401.get("content") or {}).values():
        codes.update(media.get("x-sg-errors") or [])
    if row["reauth"] and "reauth_required" not in codes:
        bad.append(f"{where}: a Reauth::Required route must list reauth_required in the "
                   f"x-sg-errors of its 401 response")
    if guarded and "reauth_required" not in codes:
        bad.append(f"{where}: an operation with x-sg-guarded must list reauth_required in the "
                   f"x-sg-errors of its 401 response")
    if not row["reauth"] and not guarded and "reauth_required" in codes:
        bad.append(f"{where}: lists reauth_required, but the route table (api.cpp:{row['line']}) "
                   f"says Reauth::No and it has no x-sg-guarded")
    security = op.get("security", doc.get("security"))
    if row["auth"] == "public":
        if security != []:
            bad.append(f"{where}: a public route must declare `security: []`")
    else:
        needs = {"cookieAuth"} if method == "get" else {"cookieAuth", "csrfToken"}
        if not security or not all(needs <= set(req or {}) for req in security):
            bad.append(f"{where}: needs security {sorted(needs)} in every requirement "
                       f"(got {security!r})")
    params = list(path_params)
    for p in op.get("parameters", []):
        if "$ref" in p:
            p = resolve(doc, p["$ref"]) or {}
        if p.get("in") == "path":
            params.append(p.get("name"))
    names = re.findall(r"\{([^}/]*)\}", path)
    if sorted(names) != sorted(params):
        bad.append(f"{where}: path parameters {sorted(params)} do not match the template's "
                   f"{sorted(names)}")
    if "responses" not in op or not op["responses"]:
        bad.append(f"{where}: no responses")
    return bad


def codes_in_code(root):
    """Error codes the code can answer, with where each was found."""
    found = {}

    def scan(files, pattern):
        for f in files:
            text = f.read_text(errors="replace")
            for m in re.finditer(pattern, text):
                line = text.count("\n", 0, m.start()) + 1
                found.setdefault(m.group(1), f"{f.relative_to(root)}:{line}")

    src = root / "src"
    api = sorted(p for p in (src / "web/api").glob("*.cpp") if not p.name.endswith("_test.cpp"))
    http = sorted(p for p in (src / "web/http").glob("*.cpp")
                  if not p.name.endswith(("_test.cpp", "_fuzz.cpp")))
    certs = sorted(p for p in (src / "security/certs").glob("*.cpp")
                   if not p.name.endswith(("_test.cpp", "_fuzz.cpp")))
    # error(call, status, "code"...) and error(*this, ...) in the API's handlers.
    scan(api, r'\berror\(\s*(?:\*this|call)\s*,\s*bhttp::status::\w+\s*,\s*"([a-z_]+)"')
    # The account layer's refusals reach the client through refusal()'s code -> status map.
    scan(api, r'\{\s*"([a-z_]+)"\s*,\s*bhttp::status::\w+\s*\}')
    # {"error": "invalid_config", "problems": [...]}
    scan(api, r'\{\s*"error"\s*,\s*"([a-z_]+)"\s*\}')
    # Session caps (Sessions::create) are answered as the error code.
    scan([src / "web/api/sessions.cpp"], r'return std::string\("([a-z_]+)"\)')
    # Certificate import refusals (validate_import's codes).
    scan(certs, r'Refusal\{\s*"([a-z_]+)"')
    # The HTTPS server's own answers.
    scan(http, r'error_response\(\s*(?:b?http::)?status::\w+\s*,\s*"([a-z_]+)"')
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=".")
    ap.add_argument("--openapi")
    ap.add_argument("--api-cpp")
    args = ap.parse_args()
    root = pathlib.Path(args.root).resolve()
    openapi = pathlib.Path(args.openapi) if args.openapi else root / "docs/openapi.yaml"
    api_cpp = pathlib.Path(args.api_cpp) if args.api_cpp else root / "src/web/api/api.cpp"

    bad = []
    doc = yaml.safe_load(openapi.read_text())
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3."):
        print(f"{openapi}: not an OpenAPI 3 document")
        return 1
    rows, problems = routes_of(api_cpp)
    bad += problems
    extras = extra_checks(api_cpp.parent)
    guarded_table = guarded_keys(api_cpp.parent)
    if guarded_table is None:
        bad.append("config_handlers.cpp: no kGuarded table found (has its format changed?)")
        guarded_table = set()
    if not rows:
        bad.append(f"{api_cpp}: no route rows found (has the table's format changed?)")

    schemes = doc.get("components", {}).get("securitySchemes", {})
    if schemes.get("cookieAuth") != {**schemes.get("cookieAuth", {}), "type": "apiKey",
                                     "in": "cookie", "name": "__Host-sg_session"}:
        bad.append("openapi: securitySchemes.cookieAuth must be apiKey in cookie __Host-sg_session")
    if schemes.get("csrfToken") != {**schemes.get("csrfToken", {}), "type": "apiKey",
                                    "in": "header", "name": "X-CSRF-Token"}:
        bad.append("openapi: securitySchemes.csrfToken must be apiKey in header X-CSRF-Token")

    ops = {}  # (method, shape) -> (path, op, path-level parameter names)
    op_ids = {}
    for path, item in (doc.get("paths") or {}).items():
        path_params = []
        for p in item.get("parameters", []):
            if "$ref" in p:
                p = resolve(doc, p["$ref"]) or {}
            if p.get("in") == "path":
                path_params.append(p.get("name"))
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            key = (method, shape(path))
            if key in ops:
                bad.append(f"openapi: {method.upper()} {path} duplicates {ops[key][0]}")
            ops[key] = (path, op, path_params)
            oid = op.get("operationId")
            if oid in op_ids:
                bad.append(f"openapi {method.upper()} {path}: operationId {oid} is also used by "
                           f"{op_ids[oid]}")
            op_ids[oid] = f"{method.upper()} {path}"

    named = {g for (_, op, _) in ops.values() for g in (op.get("x-sg-guarded") or [])
             if isinstance(g, str)}
    for g in sorted(guarded_table - named):
        bad.append(f"config_handlers.cpp: guarded setting {g!r} is named by no operation's "
                   f"x-sg-guarded in {openapi.name}")

    routed_shapes = {p for (_, p) in rows}
    documented_shapes = {p for (_, p) in ops}
    for (method, pattern), row in sorted(rows.items()):
        if (method, pattern) not in ops:
            if pattern in documented_shapes:
                others = sorted(m.upper() for (m, p) in ops if p == pattern)
                bad.append(f"api.cpp:{row['line']}: {method.upper()} {pattern} is documented "
                           f"with method(s) {others} only")
            else:
                bad.append(f"api.cpp:{row['line']}: {method.upper()} {pattern} is missing from "
                           f"{openapi.name}")
            continue
        path, op, path_params = ops[(method, pattern)]
        bad += check_operation(doc, path, method, op, row, path_params, extras, guarded_table)
    for (method, pattern), (path, _, _) in sorted(ops.items()):
        if (method, pattern) in rows:
            continue
        if pattern in routed_shapes:
            others = sorted(m.upper() for (m, p) in rows if p == pattern)
            bad.append(f"openapi: {method.upper()} {path}: the route table serves {pattern} "
                       f"with {others} only")
        else:
            bad.append(f"openapi: {method.upper()} {path} is not in the route table of api.cpp")

    def check_ref(node, where):
        ref = node.get("$ref")
        if isinstance(ref, str) and resolve(doc, ref) is None:
            bad.append(f"openapi {where}: $ref {ref} does not resolve")

    walk(doc, check_ref)

    documented = set()

    def collect(node, where):
        codes = node.get("x-sg-errors")
        if codes is not None:
            if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                bad.append(f"openapi {where}: x-sg-errors must be a list of strings")
            else:
                documented.update(codes)

    walk(doc, collect)
    in_code = codes_in_code(root)
    for code, where in sorted(in_code.items()):
        if code not in documented:
            bad.append(f"{where}: error code {code!r} is answered but no response in "
                       f"{openapi.name} lists it in x-sg-errors")
    for code in sorted(documented - set(in_code)):
        bad.append(f"openapi: error code {code!r} is listed in x-sg-errors but the code never "
                   f"answers it")

    for b in bad:
        print(b)
    print(f"{len(rows)} routes, {len(ops)} operations, {len(documented)} error codes checked, "
          f"{len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
