#!/usr/bin/env python3
"""Checks documents against the wire contract's JSON Schemas (docs/contract/schemas/, contract 1.1).

  contract_check.py request FILE...   request bodies: a file holds one JSON object (a message body as enqueued),
                                      a JSON array of bodies, or a demo spec like config/demo/requests.json
                                      ({"items": [{"body": {...}} or {"raw": "..."}, ...]}: $ENQUEUED_AT and
                                      $NOT_AFTER are filled in; an item whose expect.reasons holds SCHEMA_INVALID or
                                      PAYLOAD_TOO_LARGE must be INVALID, every other item valid)
  contract_check.py events FILE...    CloudEvents as the worker publishes them: one JSON object per line (JSON
                                      Lines, as scripts/demo's events.jsonl), a JSON array, or one object
  contract_check.py examples          every schema is itself valid (check_schema), every schema's own examples
                                      validate, and the schemas agree with each other, with reason-codes.json
                                      and with the raw values in ReasonCode.swift and EventType.swift

Besides the schemas, the rules JSON Schema cannot express are checked the way the worker applies them:
requests: UTF-8, no duplicate member names, at most 65536 bytes, not_after later than enqueued_at, each approval
role at most once, duration_minutes a plain integer literal (RequestDecoder.swift); events: subject is
<case_id>/<tenant_id> (unknown/unknown for a rejected message that could not be read), takeover ids belong to the
subject, location ends with the bundle id, and ids are the ones EventID.swift derives where the data determines
them (granted, halted, evidence-ready, revoked, resumed).

Prints one line per problem (FILE[INDEX] JSONPATH: message), then a one-line summary. Exit 0 when everything is
valid, 1 when there is any problem, 2 on a usage error. Needs Python 3 and jsonschema >= 4.10 (Debian's
python3-jsonschema); works with and without the `referencing` package (jsonschema 4.18+).
"""
import argparse
import decimal
import hashlib
import json
import pathlib
import re
import sys
import warnings

try:
    import jsonschema
    from jsonschema import Draft202012Validator, FormatChecker, ValidationError
    from jsonschema import validators as _validators
except ImportError:  # pragma: no cover - depends on the machine
    sys.stderr.write("contract_check: needs the Python package jsonschema >= 4.10 (Debian: python3-jsonschema)\n")
    sys.exit(2)

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "contract" / "schemas"
REQUEST_ID = "urn:breakglass:schema:request:v1"
EVENT_ID = "urn:breakglass:schema:event:v1"
TYPE_PREFIX = "breakglass.restoration."
MAX_BODY = 64 * 1024
PLACEHOLDERS = {"$ENQUEUED_AT": "2026-11-25T18:20:00Z", "$NOT_AFTER": "2026-11-25T18:50:00Z"}
EXPECT_INVALID = {"SCHEMA_INVALID", "PAYLOAD_TOO_LARGE"}


class Problems:
    def __init__(self):
        self.lines = []

    def add(self, where, path, message):
        message = " ".join(str(message).split())
        if len(message) > 300:
            message = message[:297] + "..."
        self.lines.append(f"{where} {path}: {message}")


# ---------------------------------------------------------------------------------------------------------------
# JSON reading: strict like the worker's parser (no duplicate names, no NaN), integers kept apart from decimals.

class JSONProblem(ValueError):
    pass


def _pairs(pairs):
    result = {}
    for name, value in pairs:
        if name in result:
            raise JSONProblem(f"duplicate member name {name!r}")
        result[name] = value
    return result


def _constant(name):
    raise JSONProblem(f"{name} is not JSON")


# parse_float=Decimal: "120.0" or "1.2e2" is a number but not an integer, as for the worker's decoder.
STRICT = json.JSONDecoder(object_pairs_hook=_pairs, parse_float=decimal.Decimal, parse_constant=_constant)


def loads(text):
    value, end = STRICT.raw_decode(text, _skip(text, 0))
    if _skip(text, end) != len(text):
        raise JSONProblem(f"unexpected data after the value at character {_skip(text, end)}")
    return value


def _skip(text, index):
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def read_text(path, problems, where):
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as error:
        problems.add(where, "$", f"cannot read: {error.strerror}")
        return None, None
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError:
        problems.add(where, "$", "is not valid UTF-8")
        return data, None


# ---------------------------------------------------------------------------------------------------------------
# Schemas and validators.

def load_schemas(directory):
    """{$id: schema} of every *.schema.json under `directory`, and {$id: path}."""
    store, paths = {}, {}
    for path in sorted(directory.rglob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_pairs)
        schema_id = schema.get("$id")
        if not isinstance(schema_id, str) or schema_id in store:
            raise SystemExit(f"contract_check: {path}: missing or duplicate $id")
        store[schema_id], paths[schema_id] = schema, path
    return store, paths


def _ecma_regex(pattern):
    # JSON Schema patterns are ECMA-262: without the m flag, a final `$` ends the input. Python's `$` also matches
    # before a final newline, so "id\n" would pass; `\Z` is the ECMA meaning.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


_REGEX_CACHE = {}


def _pattern(validator, pattern, instance, schema):
    if not validator.is_type(instance, "string"):
        return
    regex = _REGEX_CACHE.get(pattern)
    if regex is None:
        regex = _REGEX_CACHE[pattern] = _ecma_regex(pattern)
    if not regex.search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


Validator = _validators.extend(Draft202012Validator, {"pattern": _pattern})
# A `$ref` into a schema that names its own `$schema` is validated by the class registered for that dialect
# (validator_for): register this one for 2020-12 in this process, or referenced schemas would use Python's `$`.
_validators.validates("https://json-schema.org/draft/2020-12/schema")(Validator)

_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})")


def parse_time(text):
    """(seconds since 1970, nanoseconds) of an RFC 3339 date-time, or None when it is not a real one."""
    import datetime
    match = _DATE_TIME.fullmatch(text) if isinstance(text, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    try:
        moment = datetime.datetime(year, month, day, hour, minute, min(second, 59), tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    if hour > 23 or minute > 59 or second > 60:
        return None
    zone = match.group(8)
    offset = 0
    if zone not in ("Z", "z"):
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        offset = (hours * 60 + minutes) * 60 * (1 if zone[0] == "+" else -1)
    fraction = (match.group(7) or ".")[1:10].ljust(9, "0")
    return int(moment.timestamp()) + (second - min(second, 59)) - offset, int(fraction)


def format_checker():
    checker = FormatChecker()
    checker.checks("date-time")(lambda value: not isinstance(value, str) or parse_time(value) is not None)
    checker.checks("uri")(lambda value: not isinstance(value, str)
                          or re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]+", value) is not None)
    checker.checks("uri-reference")(lambda value: not isinstance(value, str)
                                    or re.fullmatch(r"[^\s\x00-\x1f\x7f]+", value) is not None)
    return checker


class Validators:
    """Validators for the schemas in `store`; `$ref`s between files resolve by `$id`, without any network."""

    def __init__(self, store):
        self.store = store
        self.formats = format_checker()
        self.registry = None
        try:  # jsonschema 4.18+: the `referencing` library
            from referencing import Registry
            from referencing.jsonschema import DRAFT202012
            self.registry = Registry().with_resources(
                (schema_id, DRAFT202012.create_resource(schema)) for schema_id, schema in store.items())
        except ImportError:
            pass
        self._cache = {}

    def __getitem__(self, schema_id):
        if schema_id not in self._cache:
            schema = self.store[schema_id]
            validator = None
            if self.registry is not None:
                try:
                    validator = Validator(schema, registry=self.registry, format_checker=self.formats)
                except TypeError:  # `referencing` installed beside a jsonschema older than 4.18
                    validator = None
            if validator is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    resolver = _Resolver.from_schema(schema, store=self.store)
                    validator = Validator(schema, resolver=resolver, format_checker=self.formats)
            self._cache[schema_id] = validator
        return self._cache[schema_id]


with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    _RefResolverBase = _validators.RefResolver


class _Resolver(_RefResolverBase):
    """RefResolver (jsonschema < 4.18) that resolves `#...` against a `urn:` base: urllib's urljoin does not join
    fragments to URNs, so 4.10 would look `#/$defs/x` up in the root schema instead of the referenced one."""

    def resolve(self, ref):
        if ref.startswith("#"):
            ref = self.resolution_scope.split("#", 1)[0] + ref
        return super().resolve(ref)


def json_path(parts):
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            text += f".{part}"
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _message(error):
    if error.validator == "not" and isinstance(error.validator_value, dict) \
            and list(error.validator_value) == ["required"] and len(error.validator_value["required"]) == 1:
        return f"{error.validator_value['required'][0]!r} must not be present here"
    if error.validator == "additionalProperties" and error.validator_value is False:
        return error.message.replace("Additional properties are not allowed", "unknown member(s)")
    return error.message


def schema_problems(validator, instance, problems, where):
    errors = sorted(validator.iter_errors(instance), key=lambda e: (json_path(e.absolute_path), e.message))
    for error in errors:
        problems.add(where, json_path(error.absolute_path), _message(error))
    return len(errors)


# ---------------------------------------------------------------------------------------------------------------
# Requests.

def request_rules(body, problems, where, size=None):
    """The decoder's rules that JSON Schema cannot express (Sources/BreakGlassCore/Request/RequestDecoder.swift)."""
    count = 0
    if size is not None and size > MAX_BODY:
        problems.add(where, "$", f"body is {size} bytes, more than {MAX_BODY} (PAYLOAD_TOO_LARGE)")
        count += 1
    if not isinstance(body, dict):
        return count
    enqueued, not_after = parse_time(body.get("enqueued_at")), parse_time(body.get("not_after"))
    if enqueued is not None and not_after is not None and not not_after > enqueued:
        problems.add(where, "$.not_after", "must be later than enqueued_at")
        count += 1
    approvals = body.get("approvals")
    if isinstance(approvals, list):
        seen = set()
        for index, approval in enumerate(approvals):
            role = approval.get("role") if isinstance(approval, dict) else None
            if isinstance(role, str):
                if role in seen:
                    problems.add(where, f"$.approvals[{index}].role", "each role may approve at most once")
                    count += 1
                seen.add(role)
    return count


def _fill(text):
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return text


def _fill_value(value):
    if isinstance(value, str):
        return _fill(value)
    if isinstance(value, list):
        return [_fill_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _fill_value(v) for k, v in value.items()}
    return value


def _compact_size(value):
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8"))


def check_requests(files, validators):
    problems, stats = Problems(), {"bodies": 0, "valid": 0, "invalid as expected": 0}
    validator = validators[REQUEST_ID]

    def one(body, where, size, expect_invalid=False):
        stats["bodies"] += 1
        scratch = Problems()
        bad = schema_problems(validator, body, scratch, where) + request_rules(body, scratch, where, size)
        if expect_invalid:
            if bad:
                stats["invalid as expected"] += 1
            else:
                problems.add(where, "$", "expected to be invalid (its expect.reasons names SCHEMA_INVALID or "
                                         "PAYLOAD_TOO_LARGE), but the schema accepts it")
        else:
            problems.lines += scratch.lines
            if not bad:
                stats["valid"] += 1

    for name in files:
        data, text = read_text(name, problems, name)
        if text is None:
            continue
        try:
            document = loads(text)
        except (ValueError, RecursionError) as error:
            problems.add(name, "$", f"is not valid JSON ({error})")
            continue
        if isinstance(document, dict) and isinstance(document.get("items"), list) and "schema" not in document:
            entries = [(f"{name}[items[{i}]]", item) for i, item in enumerate(document["items"])]
        elif isinstance(document, list):
            entries = [(f"{name}[{i}]", item) for i, item in enumerate(document)]
        else:
            one(document, name, len(data))
            continue
        for where, item in entries:
            if isinstance(item, dict) and "schema" not in item and ("body" in item or "raw" in item):
                if isinstance(item.get("name"), str):
                    where += f"({item['name']})"
                expect = item.get("expect") if isinstance(item.get("expect"), dict) else {}
                reasons = expect.get("reasons") if isinstance(expect.get("reasons"), list) else []
                expect_invalid = bool(EXPECT_INVALID.intersection(r for r in reasons if isinstance(r, str)))
                if "raw" in item:
                    raw = _fill(str(item["raw"]))
                    try:
                        body = loads(raw)
                    except (ValueError, RecursionError) as error:
                        stats["bodies"] += 1
                        if expect_invalid:
                            stats["invalid as expected"] += 1
                        else:
                            problems.add(where, "$", f"raw is not valid JSON ({error})")
                        continue
                    one(body, where, len(raw.encode("utf-8")), expect_invalid)
                else:
                    body = _fill_value(item["body"])
                    one(body, where, _compact_size(body), expect_invalid)
            else:
                one(item, where, _compact_size(item))
    if stats["bodies"] == 0:
        problems.add(" ".join(files), "$", "no request body found")
    summary = ", ".join(f"{value} {key}" for key, value in stats.items())
    return problems, f"request: {len(files)} file(s), {summary}"


# ---------------------------------------------------------------------------------------------------------------
# Events.

def derive_event_id(event_type, subject, discriminator):
    """Sources/BreakGlassCore/Events/EventID.swift: a version 8 UUID over SHA-256 of type, subject, discriminator."""
    digest = hashlib.sha256()
    for part in ("breakglass-event-v1", event_type, subject, discriminator):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    raw = bytearray(digest.digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[0:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:32]}"


def event_rules(event, problems, where):
    """Rules across fields: the contract's subject, and what the worker's code makes of ids (run on schema-valid
    events only)."""
    count = 0
    data, subject, kind = event["data"], event["subject"], event["type"][len(TYPE_PREFIX):]

    def problem(path, message):
        nonlocal count
        problems.add(where, path, message)
        count += 1

    if "case_id" in data:
        expected = f"{data['case_id']}/{data['tenant_id']}"
        if subject != expected:
            problem("$.subject", f"must be <case_id>/<tenant_id> of data ({expected!r}), found {subject!r}")
    elif subject != "unknown/unknown":
        problem("$.subject", f"a rejected outcome without case_id has subject 'unknown/unknown', found {subject!r}")
    if "takeover_id" in data and not data["takeover_id"].startswith(subject + "#"):
        problem("$.data.takeover_id", f"must be <subject>#<n> ({subject}#...)")
    if kind == "evidence-ready" and not data["location"].endswith("/" + data["bundle_id"]):
        problem("$.data.location", "must end with /<bundle_id>")
    discriminator = None
    if kind == "outcome" and data["result"] == "granted":
        discriminator = "granted"
    elif kind == "halted":
        discriminator = f"attempt:{int(data['takeover_id'].rsplit('#', 1)[1]) - 1}"
    elif kind == "evidence-ready":
        discriminator = f"bundle:{data['bundle_id']}"
    elif kind == "revoked" and data["result"] == "revoked":
        discriminator = f"confirmation:{data['confirmation_id']}"
    elif kind == "resumed":
        discriminator = f"takeover:{data['takeover_id']}"
    if discriminator is not None:
        expected = derive_event_id(event["type"], subject, discriminator)
        if event["id"] != expected:
            problem("$.id", f"is not the id EventID derives for this logical event ({expected}, "
                            f"discriminator {discriminator!r}): consumers would not drop its copies")
    return count


def check_events(files, validators):
    problems = Problems()
    validator = validators[EVENT_ID]
    total = valid = 0
    kinds = {}
    for name in files:
        _, text = read_text(name, problems, name)
        if text is None:
            continue
        entries = []
        try:
            document = loads(text)
            if isinstance(document, list):
                entries = [(f"{name}[{i}]", item) for i, item in enumerate(document)]
            else:
                entries = [(name, document)]
        except (ValueError, RecursionError):
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                where = f"{name}[line {number}]"
                try:
                    entries.append((where, loads(line)))
                except (ValueError, RecursionError) as error:
                    total += 1
                    problems.add(where, "$", f"is not valid JSON ({error})")
        for where, event in entries:
            total += 1
            if isinstance(event, dict) and isinstance(event.get("type"), str):
                kinds[event["type"]] = kinds.get(event["type"], 0) + 1
            if schema_problems(validator, event, problems, where) == 0 and event_rules(event, problems, where) == 0:
                valid += 1
    if total == 0:
        problems.add(" ".join(files), "$", "no event found")
    by_kind = ", ".join(f"{kind[len(TYPE_PREFIX):] if kind.startswith(TYPE_PREFIX) else kind} {count}"
                        for kind, count in sorted(kinds.items()))
    return problems, f"events: {len(files)} file(s), {total} event(s) ({by_kind or 'none'}), {valid} valid"


# ---------------------------------------------------------------------------------------------------------------
# The schemas themselves.

def _shown(path):
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _swift_raw_values(path):
    try:
        return re.findall(r'^\s*case\s+\w+\s*=\s*"([^"]+)"', path.read_text(encoding="utf-8"), re.MULTILINE)
    except OSError:
        return None


def check_examples(validators, store, paths):
    problems = Problems()
    schemas = examples = 0
    event = store[EVENT_ID]
    for schema_id, schema in store.items():
        where = _shown(paths[schema_id])
        schemas += 1
        if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            problems.add(where, "$.$schema", "must be https://json-schema.org/draft/2020-12/schema")
        try:
            Validator.check_schema(schema)
        except jsonschema.SchemaError as error:
            problems.add(where, json_path(error.absolute_path), f"not a valid schema: {error.message}")
            continue
        if not schema.get("examples"):
            problems.add(where, "$.examples", "every schema needs at least one example")
        for index, example in enumerate(schema.get("examples") or []):
            examples += 1
            at = f"{where}[examples[{index}]]"
            bad = schema_problems(validators[schema_id], example, problems, at)
            if schema_id == REQUEST_ID:
                request_rules(example, problems, at, _compact_size(example))
            elif schema_id == EVENT_ID and bad == 0:
                event_rules(example, problems, at)

    # Every event type has its data schema, wired into the envelope, and nothing else.
    where = _shown(paths[EVENT_ID])
    types = event["properties"]["type"]["enum"]
    wired = {}
    for branch in event.get("allOf", []):
        const = branch.get("if", {}).get("properties", {}).get("type", {}).get("const")
        then = branch.get("then", {}).get("properties", {})
        wired[const] = (then.get("data", {}).get("$ref"), then.get("dataschema", {}).get("const"))
    data_ids = {i for i in store if i not in (REQUEST_ID, EVENT_ID)}
    for event_type in types:
        expected = f"urn:breakglass:schema:event:{event_type[len(TYPE_PREFIX):]}:v1"
        if expected not in store:
            problems.add(where, "$.properties.type.enum", f"{event_type}: no data schema with $id {expected}")
        if wired.get(event_type) != (expected, expected):
            problems.add(where, "$.allOf", f"{event_type}: data must $ref, and dataschema be const, {expected}")
        expected_file = SCHEMAS / "events" / f"{event_type[len(TYPE_PREFIX):]}.schema.json"
        if expected in paths and paths[expected] != expected_file:
            problems.add(where, "$.properties.type.enum", f"{event_type}: its data schema must be {expected_file}")
        data_ids.discard(expected)
    for schema_id in sorted(data_ids):
        problems.add(_shown(paths[schema_id]), "$.$id", "a data schema for no type of event.schema.json")

    # Reason codes: reason-codes.json, the enums of the event schemas, and ReasonCode.swift agree.
    codes_path = SCHEMAS / "reason-codes.json"
    try:
        codes = json.loads(codes_path.read_text(encoding="utf-8"), object_pairs_hook=_pairs)["codes"]
        by_category = {}
        halt_also = {}
        for entry in codes:
            by_category.setdefault(entry["category"], []).append(entry["code"])
            if entry.get("also_halt_stages"):
                halt_also[entry["code"]] = set(entry["also_halt_stages"])
        names = [entry["code"] for entry in codes]
    except (OSError, ValueError, KeyError, TypeError) as error:
        problems.add(_shown(codes_path), "$", f"unreadable: {error!r}")
        names = None
    if names is not None:
        rel = _shown(codes_path)
        if len(set(names)) != len(names):
            problems.add(rel, "$.codes", "a code is listed twice")
        if set(by_category) != {"rejected", "gate", "console"}:
            problems.add(rel, "$.codes", f"categories must be rejected, gate, console; found {sorted(by_category)}")
        outcome = store.get("urn:breakglass:schema:event:outcome:v1", {})
        halted = store.get("urn:breakglass:schema:event:halted:v1", {})
        outcome_enum = outcome.get("properties", {}).get("reasons", {}).get("items", {}).get("enum", [])
        halted_enum = halted.get("properties", {}).get("reasons", {}).get("items", {}).get("enum", [])
        if set(outcome_enum) != set(by_category.get("rejected", [])):
            problems.add(_shown(SCHEMAS / "events" / "outcome.schema.json"), "$.properties.reasons.items.enum",
                         "must be exactly the rejected codes of reason-codes.json")
        wanted = set(by_category.get("gate", [])) | set(by_category.get("console", [])) | set(halt_also)
        if set(halted_enum) != wanted or len(halted_enum) != len(set(halted_enum)):
            problems.add(_shown(SCHEMAS / "events" / "halted.schema.json"), "$.properties.reasons.items.enum",
                         "must be exactly the gate and console codes and those with also_halt_stages in reason-codes.json")
        for code, stages in halt_also.items():
            found = [b.get("then", {}).get("properties", {}).get("stage", {}).get("enum") for b in halted.get("allOf", [])
                     if b.get("if", {}).get("properties", {}).get("reasons", {}).get("contains", {}).get("const") == code]
            if len(found) != 1 or set(found[0] or []) != stages:
                problems.add(_shown(SCHEMAS / "events" / "halted.schema.json"), "$.allOf",
                             f"{code} must be limited to stages {sorted(stages)} (reason-codes.json)")
        swift = _swift_raw_values(ROOT / "Sources" / "BreakGlassCore" / "ReasonCode.swift")
        if swift is not None and swift != names:
            problems.add(rel, "$.codes", "differs from the raw values of Sources/BreakGlassCore/ReasonCode.swift "
                                         f"(missing {sorted(set(swift) - set(names))}, extra {sorted(set(names) - set(swift))}, "
                                         "or another order)")
    swift_types = _swift_raw_values(ROOT / "Sources" / "BreakGlassCore" / "Events" / "EventType.swift")
    if swift_types is not None and swift_types != types:
        problems.add(where, "$.properties.type.enum", "differs from the raw values of "
                                                      "Sources/BreakGlassCore/Events/EventType.swift (or their order)")
    return problems, f"examples: {schemas} schema(s), {examples} example(s), reason codes {len(names or [])}"


# ---------------------------------------------------------------------------------------------------------------

def main(argv):
    global SCHEMAS
    parser = argparse.ArgumentParser(prog="contract_check.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--schemas", type=pathlib.Path, default=None, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("request", help="validate request bodies").add_argument("files", nargs="+", metavar="FILE")
    sub.add_parser("events", help="validate CloudEvents").add_argument("files", nargs="+", metavar="FILE")
    sub.add_parser("examples", help="validate the schemas and their examples")
    args = parser.parse_args(argv)

    if args.schemas is not None:
        SCHEMAS = args.schemas.resolve()
    store, paths = load_schemas(SCHEMAS)
    for required in (REQUEST_ID, EVENT_ID):
        if required not in store:
            raise SystemExit(f"contract_check: no schema with $id {required} under {args.schemas}")
    validators = Validators(store)
    if args.command == "request":
        problems, summary = check_requests(args.files, validators)
    elif args.command == "events":
        problems, summary = check_events(args.files, validators)
    else:
        problems, summary = check_examples(validators, store, paths)
    for line in problems.lines:
        print(line)
    try:
        from importlib.metadata import version as _version
        version = _version("jsonschema")
    except Exception:  # pragma: no cover - a copy without metadata
        version = "?"
    print(f"contract_check {summary}; {len(problems.lines)} problem(s) (jsonschema {version})")
    return 1 if problems.lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
