#!/usr/bin/env python3
"""api_check.py - helpers of tests/net/api_*.sh (standard library only).

  api_check.py get FILE PATH        print the JSON value at PATH (a.b.0.c) of
                                    FILE: strings raw, others as JSON; exit 1
                                    if absent or FILE is not JSON
  api_check.py openapi DOC ROUTES EXDIR
                                    check the OpenAPI document DOC against the
                                    server: ROUTES (`isorund --routes`) and
                                    the exchanges recorded in EXDIR (N.meta:
                                    method, path, status, content type; N.body)
                                    print "ok - ..." / "not ok - ...: why"

The openapi check: every documented operation is a server route and every
route is documented; every recorded answer has a documented status and
content type for its operation and its body validates against the schema
(an undocumented method on a documented path must be 405, an unknown path
404, both with the Error schema); every operation was seen answering with
its success status; every status the document names was seen at least once.
The schema checker covers the JSON Schema subset the document uses.
"""
import json
import os
import re
import sys


def get(argv):
    try:
        with open(argv[0], encoding="utf-8") as f:
            v = json.load(f)
    except (OSError, ValueError):
        return 1
    for p in argv[1].split(".") if argv[1] else []:
        if isinstance(v, list) and p.lstrip("-").isdigit() and -len(v) <= int(p) < len(v):
            v = v[int(p)]
        elif isinstance(v, dict) and p in v:
            v = v[p]
        else:
            return 1
    try:
        print(v if isinstance(v, str) else json.dumps(v))
        sys.stdout.flush()
    except BrokenPipeError:
        # `jv ... | grep -q` stops reading early.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


class Invalid(Exception):
    pass


TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
KNOWN = {"type", "enum", "properties", "required", "additionalProperties", "items",
         "minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum",
         "pattern", "oneOf", "not", "propertyNames", "maxProperties", "format",
         "description", "$ref"}


def resolve(doc, s):
    while "$ref" in s:
        node = doc
        for p in s["$ref"].lstrip("#/").split("/"):
            node = node[p]
        s = node
    return s


def validate(doc, s, v, where="$"):
    s = resolve(doc, s)
    unknown = set(s) - KNOWN
    if unknown:
        raise Invalid(f"{where}: the checker does not know {sorted(unknown)}")
    if "type" in s:
        ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(TYPES[t](v) for t in ts):
            raise Invalid(f"{where}: {json.dumps(v)[:80]} is not {ts}")
    if "enum" in s and v not in s["enum"]:
        raise Invalid(f"{where}: {json.dumps(v)[:80]} not in {s['enum']}")
    if isinstance(v, str):
        if len(v) < s.get("minLength", 0) or len(v) > s.get("maxLength", 1 << 62):
            raise Invalid(f"{where}: length {len(v)}")
        if "pattern" in s and not re.search(s["pattern"], v):
            raise Invalid(f"{where}: {v!r} does not match {s['pattern']}")
    if TYPES["number"](v):
        if v < s.get("minimum", float("-inf")) or v > s.get("maximum", float("inf")):
            raise Invalid(f"{where}: {v} out of range")
    if isinstance(v, list):
        if len(v) < s.get("minItems", 0) or len(v) > s.get("maxItems", 1 << 62):
            raise Invalid(f"{where}: {len(v)} items")
        for i, x in enumerate(v):
            if "items" in s:
                validate(doc, s["items"], x, f"{where}[{i}]")
    if isinstance(v, dict):
        if len(v) > s.get("maxProperties", 1 << 62):
            raise Invalid(f"{where}: {len(v)} properties")
        for k in s.get("required", []):
            if k not in v:
                raise Invalid(f"{where}: missing {k}")
        props = s.get("properties", {})
        for k, x in v.items():
            if "propertyNames" in s:
                validate(doc, s["propertyNames"], k, f"{where} key {k!r}")
            if k in props:
                validate(doc, props[k], x, f"{where}.{k}")
            elif s.get("additionalProperties") is False:
                raise Invalid(f"{where}: undocumented property {k!r}")
            elif isinstance(s.get("additionalProperties"), dict):
                validate(doc, s["additionalProperties"], x, f"{where}.{k}")
    if "oneOf" in s:
        n = 0
        for sub in s["oneOf"]:
            try:
                validate(doc, sub, v, where)
                n += 1
            except Invalid:
                pass
        if n != 1:
            raise Invalid(f"{where}: matches {n} of oneOf")
    if "not" in s:
        try:
            validate(doc, s["not"], v, where)
        except Invalid:
            pass
        else:
            raise Invalid(f"{where}: matches a 'not' schema")


def template_match(tmpl, path):
    rx = "^" + re.sub(r"\\\{[a-z]+\\\}", "[^/]+", re.escape(tmpl)) + "$"
    return re.match(rx, path) is not None


def openapi(argv):
    doc_path, routes_path, exdir = argv
    fails = 0

    def report(ok, name, why=""):
        nonlocal fails
        if ok:
            print(f"ok - openapi: {name}")
        else:
            fails += 1
            print(f"not ok - openapi: {name}: {why}")

    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    with open(routes_path, encoding="utf-8") as f:
        routes = {tuple(line.split()) for line in f if line.strip()}
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    report(documented == routes, "documented operations are the server's routes",
           f"only documented: {sorted(documented - routes)}; "
           f"only served: {sorted(routes - documented)}")

    exchanges = []
    for name in sorted(os.listdir(exdir)):
        if not name.endswith(".meta"):
            continue
        with open(os.path.join(exdir, name), encoding="utf-8") as f:
            method, path, status, ctype = f.read().split("\n")[:4]
        with open(os.path.join(exdir, name[:-5] + ".body"), "rb") as f:
            body = f.read()
        exchanges.append((method, path, int(status), ctype, body))

    bad = []
    seen_ok = set()
    seen_status = set()
    err_schema = {"$ref": "#/components/schemas/Error"}
    for method, path, status, ctype, body in exchanges:
        bare = path.split("?")[0]
        what = f"{method} {path} -> {status}"
        tmpl = next((p for p in doc["paths"] if template_match(p, bare)), None)
        try:
            base = ctype.split(";")[0].strip()
            if tmpl is None or method.lower() not in doc["paths"][tmpl]:
                want = 404 if tmpl is None else 405
                if status != want:
                    raise Invalid(f"want {want}")
                validate(doc, err_schema, json.loads(body))
                continue
            op = doc["paths"][tmpl][method.lower()]
            responses = op["responses"]
            if str(status) not in responses:
                raise Invalid(f"status {status} is not documented")
            seen_status.add(str(status))
            r = resolve(doc, responses[str(status)])
            content = r.get("content")
            if not content:
                if body:
                    raise Invalid("a body where none is documented")
                seen_ok.add((method, tmpl, status))
                continue
            if base not in content:
                raise Invalid(f"content type {ctype!r} is not documented "
                              f"({sorted(content)})")
            schema = content[base]["schema"]
            if base == "application/json":
                validate(doc, schema, json.loads(body))
            elif base == "application/x-ndjson":
                for line in body.decode().splitlines():
                    validate(doc, schema, json.loads(line))
            else:
                validate(doc, schema, body.decode())
            seen_ok.add((method, tmpl, status))
        except (Invalid, ValueError, UnicodeDecodeError) as e:
            bad.append(f"{what}: {e}")
    report(not bad, f"{len(exchanges)} answers have a documented status, "
           "type and shape", "; ".join(bad[:5]))

    missing = []
    for p, item in doc["paths"].items():
        for m, op in item.items():
            okc = [c for c in op["responses"] if c.startswith("2")]
            if not any((m.upper(), p, int(c)) in seen_ok for c in okc):
                missing.append(f"{m.upper()} {p}")
    report(not missing, "every operation was seen succeeding",
           f"never: {missing}")
    all_status = {c for item in doc["paths"].values() for op in item.values()
                  for c in op["responses"]}
    report(all_status <= seen_status, "every documented status was seen",
           f"never: {sorted(all_status - seen_status)}")
    return 1 if fails else 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "get":
        return get(sys.argv[2:4])
    if len(sys.argv) == 5 and sys.argv[1] == "openapi":
        return openapi(sys.argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
