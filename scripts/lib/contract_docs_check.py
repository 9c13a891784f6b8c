#!/usr/bin/env python3
"""Checks the contract's interface documents against the code: docs/contract/asyncapi.yaml (AsyncAPI 3.0.0, the AMQP
side) and docs/contract/live-sources.openapi.yaml (OpenAPI 3.1, the live-source API).

  contract_docs_check.py                                  the documents against the Swift sources
  contract_docs_check.py --start-simulator BINARY         also against a reference simulator it starts and stops
                                                          (BINARY sim, config/demo/fixtures.yaml, own tokens)
  contract_docs_check.py --simulator URL --token-file F   also against a running simulator (or live sources)

What is checked:
  both      YAML without duplicate keys and with JSON values only; every $ref resolves (a relative one to an
            existing file and, with a fragment, to a JSON pointer inside it).
  AsyncAPI  asyncapi 3.0.0 with amqp and amqps servers; operations point at their channel's messages; every
            exchange, queue, queue binding and routing key it names is one of AMQPTopology.swift's declarations
            (default names) or EventType.swift's routing keys, none is missing, and their kinds, flags and
            arguments are the declared ones; the request message refers to schemas/request.schema.json, each event
            message to schemas/event.schema.json and its data schema, with the AMQP properties the Swift publishers
            set; every message example validates against its payload (and headers) schema and the rules of
            contract_check.py, every example of event.schema.json validates against its type's message and no
            other's.
  OpenAPI   openapi-spec-validator when importable (else said, and skipped), plus a minimal structural check; its
            paths are exactly those LiveSourcesClient.swift calls (and the simulator serves, with the same
            parameter names); each 200 schema is the record the client decodes for that path, and each schema with
            `x-swift-type` has exactly the JSON keys, required keys and status words of that Codable record
            (Sources/BreakGlassCore/Gate/).
  simulator with --simulator/--start-simulator: for every fixture of config/demo/fixtures.yaml (or --fixtures),
            each path's real 200 answer validates against its OpenAPI schema and names the ids asked for; an
            unknown id answers 404 and a missing or wrong token 401, both documented.

Prints the problems, one line each, a summary, then `contract-docs: 1 passed, 0 failed` (exit 0) or
`contract-docs: 0 passed, 1 failed` (exit 1); 2 on a usage error. Needs Python 3, python3-yaml and python3-jsonschema
(4.10 or later); openapi-spec-validator is optional.
"""
import argparse
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    sys.stderr.write("contract_docs_check: needs the Python package yaml (Debian: python3-yaml)\n")
    sys.exit(2)
import contract_check as cc  # noqa: E402  (exits 2 when jsonschema is missing)

CONTRACT = ROOT / "docs" / "contract"
SCHEMAS = CONTRACT / "schemas"
ASYNCAPI = CONTRACT / "asyncapi.yaml"
OPENAPI = CONTRACT / "live-sources.openapi.yaml"
TOPOLOGY_SWIFT = ROOT / "Sources" / "BreakGlassAMQP" / "AMQPTopology.swift"
EVENT_TYPE_SWIFT = ROOT / "Sources" / "BreakGlassCore" / "Events" / "EventType.swift"
CLOUD_EVENT_SWIFT = ROOT / "Sources" / "BreakGlassCore" / "Events" / "CloudEvent.swift"
SIGNATURE_SWIFT = ROOT / "Sources" / "BreakGlassCore" / "Signature" / "SignatureHeader.swift"
SIGNED_REQUEST_SWIFT = ROOT / "Sources" / "BreakGlassWorker" / "Transport" / "AMQPMessage+SignedRequest.swift"
PUBLISHER_SWIFT = ROOT / "Sources" / "BreakGlassWorker" / "Transport" / "AMQPEventPublisher.swift"
CLIENT_DIR = ROOT / "Sources" / "BreakGlassLiveSources"
SIM_ROUTES_SWIFT = ROOT / "Sources" / "BreakGlassSimulator" / "Simulator+LiveSources.swift"
GATE_DIR = ROOT / "Sources" / "BreakGlassCore" / "Gate"
DEFAULT_FIXTURES = ROOT / "config" / "demo" / "fixtures.yaml"
TYPE_PREFIX = "breakglass.restoration."
UNKNOWN_ID = "contract-docs-no-such-id"


def shown(path):
    try:
        return str(pathlib.Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


class Problems:
    def __init__(self):
        self.lines = []

    def add(self, where, message):
        message = " ".join(str(message).split())
        if len(message) > 400:
            message = message[:397] + "..."
        if f"{where}: {message}" not in self.lines:
            self.lines.append(f"{where}: {message}")


# ---------------------------------------------------------------------------------------------------------------
# Reading: YAML without duplicate keys, JSON values only; JSON pointers and $refs.

class _StrictLoader(yaml.SafeLoader):
    pass


def _strict_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
            seen.add(key)
        except TypeError:
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)


def load_yaml(path, problems):
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.load(handle, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except OSError as error:
        problems.add(shown(path), f"cannot read: {error.strerror}")
        return None
    except yaml.YAMLError as error:
        problems.add(shown(path), f"not valid YAML: {error}")
        return None
    if not isinstance(document, dict):
        problems.add(shown(path), "is not a mapping")
        return None
    for where, value in walk(document):
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str):
                    problems.add(f"{shown(path)} {pointer_text(where)}", f"key {key!r} is not a string (quote it)")
        elif not (value is None or isinstance(value, (str, int, float, bool, list))):
            problems.add(f"{shown(path)} {pointer_text(where)}",
                         f"{type(value).__name__} is not a JSON value (quote it): {value!r}")
    return document


def walk(value, where=()):
    yield where, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, where + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, where + (index,))


def pointer_text(where):
    return "#/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in where)


class Unresolvable(Exception):
    pass


def resolve_pointer(document, fragment):
    """The value at a URI fragment (`/a/b~1c`, percent-encoded as in a URI) of `document`."""
    fragment = urllib.parse.unquote(fragment)
    if fragment == "":
        return document
    if not fragment.startswith("/"):
        raise Unresolvable(f"fragment {fragment!r} is not a JSON pointer")
    value = document
    for token in fragment[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            raise Unresolvable(f"no {token!r} at that pointer")
    return value


_FILE_CACHE = {}


def load_referenced(path):
    path = path.resolve()
    if path not in _FILE_CACHE:
        text = path.read_text(encoding="utf-8")
        _FILE_CACHE[path] = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_StrictLoader)
    return _FILE_CACHE[path]


def check_refs(document, path, problems):
    """Every $ref of `document` (read from `path`) resolves. Returns how many there are."""
    count = 0
    for where, value in walk(document):
        if not (isinstance(value, dict) and "$ref" in value):
            continue
        ref = value["$ref"]
        at = f"{shown(path)} {pointer_text(where + ('$ref',))}"
        if not isinstance(ref, str):
            problems.add(at, "$ref is not a string")
            continue
        count += 1
        target, _, fragment = ref.partition("#")
        try:
            if target == "":
                resolve_pointer(document, fragment)
                continue
            if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):
                problems.add(at, f"{ref}: only relative references to files of the repository are used here")
                continue
            file = (path.parent / urllib.parse.unquote(target)).resolve()
            if ROOT not in file.parents:
                problems.add(at, f"{ref}: points outside the repository")
                continue
            if not file.is_file():
                problems.add(at, f"{ref}: no file {shown(file)}")
                continue
            resolve_pointer(load_referenced(file), fragment)
        except Unresolvable as error:
            problems.add(at, f"{ref}: does not resolve ({error})")
        except (OSError, ValueError, yaml.YAMLError) as error:
            problems.add(at, f"{ref}: unreadable target ({error})")
    return count


def deref(document, value, depth=0):
    """`value`, following internal `$ref`s (`#/...`) of `document`."""
    while isinstance(value, dict) and isinstance(value.get("$ref"), str) and value["$ref"].startswith("#") \
            and depth < 20:
        try:
            value = resolve_pointer(document, value["$ref"][1:])
        except Unresolvable:
            return None
        depth += 1
    return value


def refs_in(value):
    return [item["$ref"] for _, item in walk(value) if isinstance(item, dict) and isinstance(item.get("$ref"), str)]


# ---------------------------------------------------------------------------------------------------------------
# Swift sources, read with regular expressions (they are small and regular; anything unreadable is a problem).

def read_swift(path, problems):
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        problems.add(shown(path), f"cannot read: {error.strerror}")
        return None


_TOKENS = re.compile(r'"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/', re.DOTALL)


def strip_comments(text):
    return _TOKENS.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " " * len(m.group(0)), text)


def mask_strings(text):
    """The same text with every string literal's content replaced by spaces (for brace matching)."""
    return _TOKENS.sub(lambda m: '"' + " " * (len(m.group(0)) - 2) + '"' if m.group(0).startswith('"')
                       else " " * len(m.group(0)), text)


def swift_topology(problems):
    """(exchanges {name: (type, arguments)}, queues {name: arguments}, bindings {(queue, exchange, key)},
    request (exchange, routing key), event exchange) from AMQPTopology.swift's defaults."""
    text = read_swift(TOPOLOGY_SWIFT, problems)
    if text is None:
        return None
    text = strip_comments(text)
    where = shown(TOPOLOGY_SWIFT)
    config = dict(re.findall(r'public var (\w+)(?:\s*:\s*String)?\s*=\s*"([^"]*)"', text))
    config.update({name: int(value) for name, value in re.findall(r"public var (\w+)\s*:\s*Int\d*\s*=\s*(\d+)", text)})
    match = re.search(r"public var declarations\s*:\s*\[Declaration\]\s*\{(.*?)\n    \}", text, re.DOTALL)
    if not match or not config:
        problems.add(where, "cannot find the Configuration defaults or the declarations list")
        return None
    body = match.group(1)

    def value_of(expression):
        expression = expression.strip()
        literal = re.fullmatch(r'"([^"]*)"', expression)
        if literal:
            return literal.group(1)
        member = re.fullmatch(r"(?:\.(?:string|int)\()?c\.(\w+)\)?", expression)
        if member and member.group(1) in config:
            return config[member.group(1)]
        raise ValueError(expression)

    def arguments(text_):
        result = {}
        if text_ is None:
            return result
        for entry in re.split(r",\s*(?=\")", text_.strip().rstrip(",")):
            entry = entry.strip()
            if not entry:
                continue
            pair = re.fullmatch(r'"([^"]+)"\s*:\s*(.+)', entry, re.DOTALL)
            if not pair:
                raise ValueError(entry)
            result[pair.group(1)] = value_of(pair.group(2))
        return result

    exchanges, queues, bindings = {}, {}, set()
    calls, masked = [], mask_strings(body)
    for start in re.finditer(r"^\s*\.(exchange|queue|binding)\(", masked, re.MULTILINE):
        depth, index = 1, start.end()
        while index < len(masked) and depth:
            depth += {"(": 1, ")": -1}.get(masked[index], 0)
            index += 1
        if depth:
            problems.add(where, "cannot read every declaration of the declarations list")
            return None
        calls.append((start.group(1), body[start.end():index - 1]))
    if not calls:
        problems.add(where, "no declaration found in the declarations list")
        return None
    try:
        for kind, args in calls:
            args = " ".join(args.split())
            if kind == "exchange":
                m = re.fullmatch(r'name: (c\.\w+), type: ("\w+")(?:, arguments: \[(.*)\])?', args)
                if not m:
                    raise ValueError(args)
                exchanges[value_of(m.group(1))] = (value_of(m.group(2)), arguments(m.group(3)))
            elif kind == "queue":
                m = re.fullmatch(r"name: (c\.\w+)(?:, arguments: \[(.*)\])?", args)
                if not m:
                    raise ValueError(args)
                queues[value_of(m.group(1))] = arguments(m.group(2))
            else:
                m = re.fullmatch(r'queue: (c\.\w+), exchange: (c\.\w+), routingKey: (c\.\w+|"[^"]*")', args)
                if not m:
                    raise ValueError(args)
                bindings.add((value_of(m.group(1)), value_of(m.group(2)), value_of(m.group(3))))
        request = (config["requestExchange"], config["requestRoutingKey"])
        event_exchange = config["eventExchange"]
    except (ValueError, KeyError) as error:
        problems.add(where, f"cannot read a declaration (durable/exclusive/autoDelete flags or other forms are not "
                            f"understood by this check; teach it): {error}")
        return None
    return exchanges, queues, bindings, request, event_exchange


def arguments_difference(documented, declared):
    documented = documented if isinstance(documented, dict) else {}
    parts = []
    for key in sorted(set(documented) | set(declared)):
        if documented.get(key, "(absent)") != declared.get(key, "(absent)"):
            parts.append(f"{key}: documented {documented.get(key, '(absent)')!r}, declared "
                         f"{declared.get(key, '(absent)')!r}")
    return "; ".join(parts)


def swift_event_types(problems):
    text = read_swift(EVENT_TYPE_SWIFT, problems)
    if text is None:
        return None
    types = re.findall(r'^\s*case\s+\w+\s*=\s*"([^"]+)"', strip_comments(text), re.MULTILINE)
    if not types:
        problems.add(shown(EVENT_TYPE_SWIFT), "no event type found")
        return None
    return types


def swift_string(path, pattern, problems, what):
    text = read_swift(path, problems)
    if text is None:
        return None
    match = re.search(pattern, strip_comments(text))
    if not match:
        problems.add(shown(path), f"cannot find {what}")
        return None
    return match.group(1)


def swift_types(text):
    """{qualified name: {"kind", "body" (own text, nested types cut out), "children"}} of the struct and enum
    declarations of a Swift file (extensions are skipped)."""
    text = strip_comments(text)
    masked = mask_strings(text)
    declarations = []
    for match in re.finditer(r"\b(struct|enum|class|extension)\s+([A-Za-z_]\w*)([^{};]*)\{", masked):
        depth, index = 0, match.end() - 1
        while index < len(masked):
            if masked[index] == "{":
                depth += 1
            elif masked[index] == "}":
                depth -= 1
                if depth == 0:
                    break
            index += 1
        declarations.append({"kind": match.group(1), "name": match.group(2), "header": match.group(3),
                             "start": match.start(), "open": match.end() - 1, "end": index})
    for declaration in declarations:
        parents = [d for d in declarations if d["open"] < declaration["start"] and declaration["end"] < d["end"]]
        declaration["parent"] = max(parents, key=lambda d: d["open"]) if parents else None
    result = {}
    for declaration in declarations:
        chain, node = [], declaration
        while node is not None:
            chain.append(node)
            node = node["parent"]
        if any(node["kind"] == "extension" for node in chain):
            continue
        name = ".".join(node["name"] for node in reversed(chain))
        children = [d for d in declarations if d["parent"] is declaration]
        body, cursor = "", declaration["open"] + 1
        for child in sorted(children, key=lambda d: d["start"]):
            body += text[cursor:child["start"]]
            cursor = child["end"] + 1
        body += text[cursor:declaration["end"]]
        result[name] = {"kind": declaration["kind"], "header": declaration["header"], "body": body,
                        "children": [child["name"] for child in children]}
    return result


def swift_enum_cases(body):
    """[(case name, raw value or None)] of an enum body (one or several cases per `case` line)."""
    cases = []
    for line in re.findall(r"^\s*case\s+(.+)$", body, re.MULTILINE):
        for part in re.split(r",\s*(?=[A-Za-z_])", line.strip().rstrip(",")):
            m = re.fullmatch(r'(\w+)(?:\s*=\s*"([^"]*)")?', part.strip())
            if m:
                cases.append((m.group(1), m.group(2)))
    return cases


def swift_record(types, name):
    """{json key: {"property", "type", "optional"}} of a Codable struct: its stored properties, named by its
    CodingKeys when it has them."""
    record = types[name]
    properties = {}
    for m in re.finditer(r"^[ \t]*(?:(?:public|internal|private|fileprivate)[ \t]+)?(?:var|let)[ \t]+(\w+)[ \t]*:"
                         r"[ \t]*([^=\n{]+?)[ \t]*(?:=[^\n]*)?$", record["body"], re.MULTILINE):
        swift_type = m.group(2).strip()
        optional = swift_type.endswith("?")
        properties[m.group(1)] = {"property": m.group(1), "type": swift_type.rstrip("?"), "optional": optional}
    keys = {}
    if "CodingKeys" in record["children"]:
        for case, raw in swift_enum_cases(types[f"{name}.CodingKeys"]["body"]):
            if case in properties:
                keys[raw or case] = properties[case]
            else:
                keys[raw or case] = {"property": case, "type": None, "optional": False}
    else:
        keys = dict(properties)
    return keys


def resolve_swift_type(types, scope, swift_type):
    """The qualified name of `swift_type` as seen from inside `scope` (nested types first), or None."""
    parts = scope.split(".")
    while parts:
        candidate = ".".join(parts + [swift_type])
        if candidate in types:
            return candidate
        parts.pop()
    return swift_type if swift_type in types else None


# ---------------------------------------------------------------------------------------------------------------
# JSON Schema validators for the documents' schemas.

class _LegacyResolver(cc._Resolver):
    """jsonschema < 4.18: references resolve in the given store only, never by opening a URL."""

    def resolve_remote(self, uri):
        raise LookupError(f"{uri} is not one of the known schemas")

    def _find_in_subschemas(self, url):
        try:
            return super()._find_in_subschemas(url)
        except TypeError:  # jsonschema 4.10 trips over a property named "$id" in a foreign schema
            return None


def schema_store():
    """{uri: schema} of every schema file of schemas/, by file URI and by `$id`."""
    store = {}
    for path in sorted(SCHEMAS.rglob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        store[path.resolve().as_uri()] = schema
        if isinstance(schema.get("$id"), str):
            store[schema["$id"]] = schema
    return store


def make_validator(schema, base_uri, store, cls=None):
    cls = cls or cc.Validator
    root = dict(schema) if isinstance(schema, dict) else schema
    if isinstance(root, dict) and base_uri and "$id" not in root:
        root["$id"] = base_uri
    formats = cc.format_checker()
    try:
        from referencing import Registry
        from referencing.jsonschema import DRAFT202012, DRAFT7
        specification = DRAFT7 if cls is not cc.Validator else DRAFT202012
        registry = Registry().with_resources(
            (uri, specification.create_resource(document)) for uri, document in store.items())
        try:
            return cls(root, registry=registry, format_checker=formats)
        except TypeError:  # `referencing` installed beside a jsonschema older than 4.18
            pass
    except ImportError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        resolver = _LegacyResolver(base_uri=base_uri or "", referrer=root, store=dict(store))
        return cls(root, resolver=resolver, format_checker=formats)


def validation_problems(validator, instance, problems, where, limit=5):
    try:
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    except Exception as error:  # an unresolvable reference, a broken schema
        problems.add(where, f"cannot validate: {type(error).__name__}: {error}")
        return 1
    for error in errors[:limit]:
        problems.add(where, f"{cc.json_path(error.absolute_path)}: {error.message}")
    if len(errors) > limit:
        problems.add(where, f"... and {len(errors) - limit} more")
    return len(errors)


# ---------------------------------------------------------------------------------------------------------------
# AsyncAPI.

def amqp_binding(document, holder):
    bindings = deref(document, holder.get("bindings")) if isinstance(holder, dict) else None
    if not isinstance(bindings, dict):
        return None
    binding = deref(document, bindings.get("amqp"))
    return binding if isinstance(binding, dict) else None


def check_asyncapi(doc, problems, stats, schema_file=None):
    where = shown(ASYNCAPI)
    if doc.get("asyncapi") != "3.0.0":
        problems.add(where, f"asyncapi must be 3.0.0, found {doc.get('asyncapi')!r}")
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    for key in ("title", "version"):
        if not isinstance(info.get(key), str):
            problems.add(where, f"info.{key} must be a string")
    servers = doc.get("servers") if isinstance(doc.get("servers"), dict) else {}
    protocols = {server.get("protocol") for server in servers.values() if isinstance(server, dict)}
    if protocols != {"amqp", "amqps"}:
        problems.add(where, f"servers must be one amqp and one amqps server, found protocols {sorted(map(str, protocols))}")
    channels = doc.get("channels") if isinstance(doc.get("channels"), dict) else {}
    operations = doc.get("operations") if isinstance(doc.get("operations"), dict) else {}
    if not channels or not operations:
        problems.add(where, "channels and operations must be non-empty mappings")
        return

    # The whole document against the AsyncAPI 3.0.0 JSON Schema, when one is given.
    if schema_file is not None:
        try:
            official = json.loads(pathlib.Path(schema_file).read_text(encoding="utf-8"))
            validator = make_validator(official, None, {}, cls=cc._validators.validator_for(official))
            bad = validation_problems(validator, doc, problems, f"{where} (AsyncAPI 3.0.0 JSON Schema)", limit=10)
            stats.append(f"asyncapi: {'valid' if bad == 0 else 'INVALID'} against {shown(schema_file)}")
        except (OSError, ValueError) as error:
            problems.add(shown(schema_file), f"cannot read: {error}")

    # Operations: action, channel, and messages of that channel.
    for name, operation in operations.items():
        at = f"{where} operations.{name}"
        if not isinstance(operation, dict):
            problems.add(at, "is not a mapping")
            continue
        if operation.get("action") not in ("send", "receive"):
            problems.add(at, "action must be send or receive")
        channel_ref = (operation.get("channel") or {}).get("$ref") if isinstance(operation.get("channel"), dict) else None
        if not (isinstance(channel_ref, str) and re.fullmatch(r"#/channels/[^/]+", channel_ref)):
            problems.add(at, "channel must be a $ref to #/channels/<id>")
            continue
        for ref in [m.get("$ref") for m in operation.get("messages") or [] if isinstance(m, dict)]:
            if not (isinstance(ref, str) and ref.startswith(channel_ref + "/messages/")):
                problems.add(at, f"message {ref!r} is not one of its channel's ({channel_ref}/messages/...)")

    # Topology as documented.
    exchanges, queues, bindings, routed, names = {}, {}, set(), set(), set()
    event_channels = {}
    for name, channel in channels.items():
        at = f"{where} channels.{name}"
        if not isinstance(channel, dict):
            problems.add(at, "is not a mapping")
            continue
        binding = amqp_binding(doc, channel)
        if binding is None:
            problems.add(at, "has no amqp channel binding")
            continue
        address = channel.get("address")
        if address is not None:
            names.add(address)
        if binding.get("is", "routingKey") == "routingKey":
            exchange = binding.get("exchange") if isinstance(binding.get("exchange"), dict) else {}
            ex_name = exchange.get("name")
            if not isinstance(ex_name, str):
                problems.add(at, "bindings.amqp.exchange.name is missing")
                continue
            names.add(ex_name)
            arguments = binding.get("x-arguments", {})
            names.update(v for k, v in arguments.items() if k in ("alternate-exchange",) and isinstance(v, str))
            declared = (exchange.get("type"), exchange.get("durable"), exchange.get("autoDelete", False), arguments)
            if ex_name in exchanges and exchanges[ex_name] != declared:
                problems.add(at, f"exchange {ex_name} is described differently in another channel")
            exchanges.setdefault(ex_name, declared)
            if address is not None:
                routed.add((ex_name, address))
                event_channels.setdefault(address, name)
        elif binding.get("is") == "queue":
            queue = binding.get("queue") if isinstance(binding.get("queue"), dict) else {}
            q_name = queue.get("name")
            if not isinstance(q_name, str):
                problems.add(at, "bindings.amqp.queue.name is missing")
                continue
            if address != q_name:
                problems.add(at, f"the address of a queue channel must be the queue's name ({q_name})")
            names.add(q_name)
            arguments = binding.get("x-arguments", {})
            names.update(v for k, v in arguments.items() if k == "x-dead-letter-exchange" and isinstance(v, str))
            queues[q_name] = (queue.get("durable"), queue.get("exclusive", False), queue.get("autoDelete", False),
                              arguments)
            for item in binding.get("x-bindings") or []:
                if isinstance(item, dict):
                    bindings.add((q_name, item.get("exchange"), item.get("routingKey")))
                    names.update(v for v in (item.get("exchange"), item.get("routingKey")) if v)
            if not binding.get("x-bindings"):
                problems.add(at, "a queue channel lists the exchanges it is bound to in bindings.amqp.x-bindings")
        else:
            problems.add(at, "bindings.amqp.is must be routingKey or queue")

    topology = swift_topology(problems)
    types = swift_event_types(problems)
    if topology is not None and types is not None:
        sw_exchanges, sw_queues, sw_bindings, request, event_exchange = topology
        sw_names = set(sw_exchanges) | set(sw_queues) | {request[1]} | set(types)
        sw_names |= {key for _, _, key in sw_bindings if key}
        for missing in sorted(sw_names - names):
            problems.add(where, f"{missing!r} (declared in the Swift code) appears nowhere as an address, exchange, "
                                f"queue or binding")
        for extra in sorted(names - sw_names):
            problems.add(where, f"{extra!r} is not an exchange, queue or routing key of AMQPTopology.swift or "
                                f"EventType.swift")
        for ex_name, (kind, args) in sorted(sw_exchanges.items()):
            if ex_name not in exchanges:
                problems.add(where, f"no channel on exchange {ex_name} (declared: {kind})")
                continue
            doc_kind, durable, auto_delete, doc_args = exchanges[ex_name]
            if (doc_kind, durable, auto_delete) != (kind, True, False):
                problems.add(where, f"exchange {ex_name}: documented type {doc_kind}, durable {durable}, autoDelete "
                                    f"{auto_delete}; declared {kind}, durable, not auto-deleted")
            if doc_args != args:
                problems.add(where, f"exchange {ex_name}: x-arguments differ from the declaration: "
                                    f"{arguments_difference(doc_args, args)}")
        for q_name, args in sorted(sw_queues.items()):
            if q_name not in queues:
                problems.add(where, f"no channel for queue {q_name}")
                continue
            durable, exclusive, auto_delete, doc_args = queues[q_name]
            if (durable, exclusive, auto_delete) != (True, False, False):
                problems.add(where, f"queue {q_name}: documented durable {durable}, exclusive {exclusive}, "
                                    f"autoDelete {auto_delete}; declared durable, not exclusive, not auto-deleted")
            if doc_args != args:
                problems.add(where, f"queue {q_name}: x-arguments differ from the declaration: "
                                    f"{arguments_difference(doc_args, args)}")
        for extra in sorted(set(exchanges) - set(sw_exchanges)):
            problems.add(where, f"exchange {extra} is not declared by AMQPTopology.swift")
        for extra in sorted(set(queues) - set(sw_queues)):
            problems.add(where, f"queue {extra} is not declared by AMQPTopology.swift")
        for queue, exchange, key in sorted(bindings - sw_bindings, key=str):
            problems.add(where, f"x-bindings: queue {queue} bound to {exchange} with key {key!r} is not a binding of "
                                f"AMQPTopology.swift")
        for queue, exchange, key in sorted(sw_bindings - bindings, key=str):
            problems.add(where, f"x-bindings: AMQPTopology.swift binds queue {queue} to {exchange} with key {key!r}; "
                                f"not documented")
        expected_routes = {request} | {(event_exchange, t) for t in types}
        for missing in sorted(expected_routes - routed):
            problems.add(where, f"no channel with address {missing[1]!r} on exchange {missing[0]}")
        for extra in sorted(routed - expected_routes):
            problems.add(where, f"channel address {extra[1]!r} on exchange {extra[0]} is not a routing key the code "
                                f"publishes with")
        stats.append(f"asyncapi topology: {len(sw_exchanges)} exchanges, {len(sw_queues)} queues, "
                     f"{len(sw_bindings)} bindings, {len(expected_routes)} routing keys as in AMQPTopology.swift and "
                     f"EventType.swift")

    check_asyncapi_messages(doc, channels, operations, event_channels, types or [], topology, problems, stats)


def channel_messages(doc, channel):
    messages = channel.get("messages") if isinstance(channel.get("messages"), dict) else {}
    return {key: deref(doc, value) for key, value in messages.items()}


def operations_on(operations, channel_id, action):
    return [(name, op) for name, op in operations.items() if isinstance(op, dict) and op.get("action") == action
            and isinstance(op.get("channel"), dict) and op["channel"].get("$ref") == f"#/channels/{channel_id}"]


def check_asyncapi_messages(doc, channels, operations, event_channels, types, topology, problems, stats):
    where = shown(ASYNCAPI)
    base_uri = ASYNCAPI.resolve().as_uri()
    store = schema_store()
    event_schema = store.get("urn:breakglass:schema:event:v1", {})

    # The request: on its routing key and in its queue; sent by the escalation system, received by the worker.
    signature_header = swift_string(SIGNATURE_SWIFT, r'static let name = "([^"]+)"', problems, "the header name")
    persistent = read_swift(SIGNED_REQUEST_SWIFT, problems) or ""
    request_channels = []
    if topology is not None:
        sw_exchanges, sw_queues, sw_bindings, request, _ = topology
        request_queues = {q for q, e, k in sw_bindings if (e, k) == request}
        request_channels = [name for name, ch in channels.items() if isinstance(ch, dict) and (
            ch.get("address") == request[1] or ch.get("address") in request_queues)]
        for name in request_channels:
            channel = channels[name]
            is_queue = channel.get("address") in request_queues
            if not operations_on(operations, name, "receive" if is_queue else "send"):
                problems.add(f"{where} channels.{name}",
                             f"no {'receive' if is_queue else 'send'} operation (the "
                             f"{'worker consumes' if is_queue else 'escalation system publishes'} here)")
            for key, message in channel_messages(doc, channel).items():
                at = f"{where} channels.{name}.messages.{key}"
                if not isinstance(message, dict):
                    problems.add(at, "does not resolve to a message")
                    continue
                if "schemas/request.schema.json" not in refs_in(message.get("payload")):
                    problems.add(at, "payload must $ref schemas/request.schema.json")
                if message.get("contentType") != "application/json":
                    problems.add(at, "contentType must be application/json (contract section 1)")
                headers = deref(doc, message.get("headers")) or {}
                if signature_header and signature_header not in (headers.get("required") or []):
                    problems.add(at, f"headers must require {signature_header} (SignatureHeader.swift)")
                for header in ("traceparent", "tracestate"):
                    if header not in (headers.get("properties") or {}) or header in (headers.get("required") or []):
                        problems.add(at, f"headers must describe the optional {header} (contract 1.1)")
                expected = {"content_type": "application/json", "delivery_mode": 2,
                            "message_id": "$message.payload#/request_id"}
                if message.get("x-amqp-properties") != expected:
                    problems.add(at, f"x-amqp-properties must be {expected}")
        if not request_channels:
            problems.add(where, "no channel carries the request (its routing key or queue)")
        if "messageID: requestID" not in persistent or "contentType: \"application/json\"" not in persistent \
                or ".persistent(" not in persistent:
            problems.add(shown(SIGNED_REQUEST_SWIFT), "no longer reads as persistent, application/json, message_id = "
                                                      "request_id: check the request message of asyncapi.yaml")

    # The events: one channel per type, one message each, sent by the worker and received by bots.
    content_type = swift_string(CLOUD_EVENT_SWIFT, r'static var contentType: String \{ "([^"]+)" \}', problems,
                                "CloudEvent.contentType")
    publisher = read_swift(PUBLISHER_SWIFT, problems) or ""
    app_id = re.search(r'appID: "([^"]+)"', publisher)
    if not (app_id and "deliveryMode: 2" in publisher and "mandatory: true" in publisher
            and "type: message.routingKey" in publisher and "messageID: message.eventID" in publisher):
        problems.add(shown(PUBLISHER_SWIFT), "no longer reads as persistent, mandatory, message_id = event id, type = "
                                             "routing key, with an app_id: check the event messages of asyncapi.yaml")
    event_messages = {}
    for event_type in types:
        channel_id = event_channels.get(event_type)
        if channel_id is None:
            continue  # reported with the topology
        at = f"{where} channels.{channel_id}"
        channel = channels[channel_id]
        messages = channel_messages(doc, channel)
        if len(messages) != 1:
            problems.add(at, "an event channel carries exactly one message, its event")
            continue
        (key, message), = messages.items()
        at += f".messages.{key}"
        if not isinstance(message, dict):
            problems.add(at, "does not resolve to a message")
            continue
        event_messages[event_type] = message
        suffix = event_type[len(TYPE_PREFIX):]
        payload_refs = refs_in(message.get("payload"))
        for needed in ("schemas/event.schema.json", f"schemas/events/{suffix}.schema.json"):
            if needed not in payload_refs:
                problems.add(at, f"payload must $ref {needed}")
        if content_type and message.get("contentType") != content_type:
            problems.add(at, f"contentType must be {content_type} (CloudEvent.swift)")
        binding = amqp_binding(doc, message) or {}
        if binding.get("messageType") != event_type:
            problems.add(at, f"bindings.amqp.messageType must be {event_type} (the AMQP type property)")
        expected = {"content_type": content_type, "delivery_mode": 2, "message_id": "$message.payload#/id",
                    "type": "$message.payload#/type", "app_id": app_id.group(1) if app_id else None}
        if message.get("x-amqp-properties") != expected:
            problems.add(at, f"x-amqp-properties must be {expected}")
        senders = operations_on(operations, channel_id, "send")
        if not senders:
            problems.add(f"{where} channels.{channel_id}", "no send operation (the worker publishes here)")
        for name, operation in senders:
            op_binding = amqp_binding(doc, operation) or {}
            if op_binding.get("deliveryMode") != 2 or op_binding.get("mandatory") is not True:
                problems.add(f"{where} operations.{name}", "bindings.amqp must have deliveryMode 2 and mandatory true "
                                                           "(AMQPEventPublisher.swift)")
        if not operations_on(operations, channel_id, "receive"):
            problems.add(f"{where} channels.{channel_id}", "no receive operation (the bots consume these)")

    # Examples: every message example against its payload (and headers) schema and contract_check's rules; every
    # example of event.schema.json against its type's message, and against no other.
    cc_problems = cc.Problems()
    examples = 0
    payload_validators = {}
    for name, message in (doc.get("components", {}).get("messages") or {}).items():
        message = deref(doc, message)
        if not isinstance(message, dict):
            continue
        payload = message.get("payload")
        schema = payload.get("schema") if isinstance(payload, dict) and "schemaFormat" in payload else payload
        if isinstance(payload, dict) and "schemaFormat" in payload \
                and payload["schemaFormat"] != "application/schema+json;version=2020-12":
            problems.add(f"{where} components.messages.{name}", "payload.schemaFormat must be "
                                                                "application/schema+json;version=2020-12 (the schemas' dialect)")
        if not isinstance(schema, dict):
            problems.add(f"{where} components.messages.{name}", "payload has no schema")
            continue
        validator = make_validator(schema, base_uri, store)
        payload_validators[name] = validator
        headers = deref(doc, message.get("headers"))
        header_validator = make_validator(headers, base_uri, store) if isinstance(headers, dict) else None
        message_examples = message.get("examples") or []
        if not message_examples and name != "deadLetteredRequest":
            problems.add(f"{where} components.messages.{name}", "has no example")
        for index, example in enumerate(message_examples):
            at = f"{where} components.messages.{name}.examples[{index}]"
            examples += 1
            if not isinstance(example, dict) or "payload" not in example:
                problems.add(at, "has no payload")
                continue
            bad = validation_problems(validator, example["payload"], problems, at + ".payload")
            if "headers" in example:
                if header_validator is None:
                    problems.add(at, "has headers, the message none")
                else:
                    bad += validation_problems(header_validator, example["headers"], problems, at + ".headers")
            if bad == 0 and name == "restorationRequest":
                cc.request_rules(example["payload"], cc_problems, at, cc._compact_size(example["payload"]))
            elif bad == 0 and isinstance(example["payload"], dict) \
                    and str(example["payload"].get("type", "")).startswith(TYPE_PREFIX):
                cc.event_rules(example["payload"], cc_problems, at)
    by_type = {}
    for message_name, message in (doc.get("components", {}).get("messages") or {}).items():
        binding = amqp_binding(doc, deref(doc, message)) or {}
        if binding.get("messageType") in types:
            by_type[binding["messageType"]] = message_name
    for index, example in enumerate(event_schema.get("examples") or []):
        event_type = example.get("type")
        for message_type, message_name in by_type.items():
            validator = payload_validators.get(message_name)
            if validator is None:
                continue
            try:
                errors = list(validator.iter_errors(example))
            except Exception as error:  # an unresolvable reference: reported with the message's own examples
                problems.add(f"{where} components.messages.{message_name}", f"cannot validate: {error}")
                continue
            if message_type == event_type and errors:
                problems.add(f"schemas/event.schema.json examples[{index}]",
                             f"does not validate against the payload of message {message_name}: {errors[0].message}")
            elif message_type != event_type and not errors:
                problems.add(f"{where} components.messages.{message_name}",
                             f"its payload accepts a {event_type} event (event.schema.json examples[{index}])")
    for line in cc_problems.lines:
        problems.lines.append(line)
    stats.append(f"asyncapi messages: request on {len(request_channels)} channel(s), {len(event_messages)} event "
                 f"type(s); {examples} example(s) checked, {len(event_schema.get('examples') or [])} "
                 f"event.schema.json example(s) matched to their message")


# ---------------------------------------------------------------------------------------------------------------
# OpenAPI.

def spec_validator(doc, problems, stats):
    try:
        import openapi_spec_validator as osv
    except ImportError:
        stats.append(f"openapi: openapi-spec-validator is not importable by {sys.executable}: the OpenAPI structural "
                     f"validation was SKIPPED (only this script's minimal structural check ran)")
        return
    try:
        from importlib.metadata import version
        osv_version = version("openapi-spec-validator")
    except Exception:
        osv_version = "?"
    try:
        if hasattr(osv, "validate"):
            osv.validate(doc, base_uri=OPENAPI.resolve().as_uri())
        else:  # openapi-spec-validator before 0.7
            osv.validate_spec(doc, spec_url=OPENAPI.resolve().as_uri())
    except Exception as error:
        message = getattr(error, "message", None) or str(error)
        problems.add(f"{shown(OPENAPI)} (openapi-spec-validator)", message.splitlines()[0] if message else repr(error))
        return
    stats.append(f"openapi: valid OpenAPI {doc.get('openapi')} (openapi-spec-validator {osv_version})")


def minimal_openapi_check(doc, problems):
    where = shown(OPENAPI)
    if not (isinstance(doc.get("openapi"), str) and re.fullmatch(r"3\.1\.\d+", doc["openapi"])):
        problems.add(where, "openapi must be 3.1.x")
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    for key in ("title", "version"):
        if not isinstance(info.get(key), str):
            problems.add(where, f"info.{key} must be a string")
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    for requirement in doc.get("security") or []:
        for scheme in requirement:
            if scheme not in schemes:
                problems.add(where, f"security names the undefined scheme {scheme}")
    paths = doc.get("paths") if isinstance(doc.get("paths"), dict) else {}
    if not paths:
        problems.add(where, "paths must be a non-empty mapping")
    operation_ids = set()
    for path, item in paths.items():
        at = f"{where} paths.{path}"
        if not path.startswith("/") or not isinstance(item, dict):
            problems.add(at, "a path starts with / and holds a path item")
            continue
        templated = set(re.findall(r"\{([^}]+)\}", path))
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
                continue
            if not isinstance(operation, dict):
                problems.add(at, f"{method} is not an operation")
                continue
            op_id = operation.get("operationId")
            if op_id in operation_ids:
                problems.add(at, f"operationId {op_id} is used twice")
            operation_ids.add(op_id)
            parameters = [deref(doc, p) for p in (item.get("parameters") or []) + (operation.get("parameters") or [])]
            declared = {p.get("name") for p in parameters if isinstance(p, dict) and p.get("in") == "path"}
            for p in parameters:
                if isinstance(p, dict) and p.get("in") == "path" and p.get("required") is not True:
                    problems.add(at, f"path parameter {p.get('name')} must be required: true")
            if declared != templated:
                problems.add(at, f"{method}: path parameters {sorted(map(str, declared))} differ from the template's "
                                 f"{sorted(templated)}")
            responses = operation.get("responses")
            if not isinstance(responses, dict) or not responses:
                problems.add(at, f"{method}: responses must be a non-empty mapping")
                continue
            for code, response in responses.items():
                if not re.fullmatch(r"[1-5][0-9][0-9]|[1-5]XX|default", str(code)):
                    problems.add(at, f"{method}: response key {code!r} is not a status code, a range or default")
                response = deref(doc, response)
                if not (isinstance(response, dict) and isinstance(response.get("description"), str)):
                    problems.add(at, f"{method} {code}: a response needs a description")
    for name, schema in ((doc.get("components") or {}).get("schemas") or {}).items():
        try:
            cc.Validator.check_schema(schema)
        except Exception as error:
            problems.add(f"{where} components.schemas.{name}", f"not a valid JSON Schema: {getattr(error, 'message', error)}")


def client_paths(problems):
    """{template with {} for each segment: Swift record type} of the paths LiveSourcesClient calls."""
    result = {}
    for path in sorted(CLIENT_DIR.glob("*.swift")):
        text = read_swift(path, problems)
        if text is None:
            continue
        text = strip_comments(text)
        for chunk in re.split(r"(?=\bfunc\s)", text):
            answer = re.search(r"->\s*SourceAnswer<(\w+)>", chunk)
            for literal in re.findall(r'"(/v1/(?:[^"\\]|\\\((?:[^()]|\([^()]*\))*\))*)"', chunk):
                template = re.sub(r"\\\((?:[^()]|\([^()]*\))*\)", "{}", literal)
                result[template] = answer.group(1) if answer else None
    if not result:
        problems.add(shown(CLIENT_DIR), "no /v1/ path found in the live-source client")
    return result


def simulator_paths(problems):
    text = read_swift(SIM_ROUTES_SWIFT, problems)
    if text is None:
        return None
    text = strip_comments(text)
    group = re.search(r'router\.group\("([^"]+)"\)', text)
    routes = {}
    for method, route in re.findall(r'\bapi\.(get|put|post|delete|patch|head)\("([^"]+)"\)', text):
        path = "/" + (group.group(1).strip("/") + "/" if group else "") + route.strip("/")
        routes[re.sub(r":(\w+)", r"{\1}", path)] = method
    if not routes:
        problems.add(shown(SIM_ROUTES_SWIFT), "no live-source route found")
    return routes


def response_schema(doc, operation, code):
    response = deref(doc, (operation.get("responses") or {}).get(code))
    if not isinstance(response, dict):
        return None
    content = (response.get("content") or {}).get("application/json") or {}
    return content.get("schema")


def check_openapi(doc, problems, stats):
    where = shown(OPENAPI)
    spec_validator(doc, problems, stats)
    minimal_openapi_check(doc, problems)
    paths = doc.get("paths") if isinstance(doc.get("paths"), dict) else {}
    schemas = (doc.get("components") or {}).get("schemas") or {}

    # Paths: the client's, the simulator's.
    called = client_paths(problems)
    normalized = {re.sub(r"\{[^}]+\}", "{}", path): path for path in paths}
    for template in sorted(set(called) - set(normalized)):
        problems.add(where, f"the client calls {template} (Sources/BreakGlassLiveSources), which paths do not describe")
    for template in sorted(set(normalized) - set(called)):
        problems.add(where, f"paths.{normalized[template]} is not called by the client (Sources/BreakGlassLiveSources)")
    served = simulator_paths(problems)
    if served is not None:
        for path in sorted(set(paths) ^ set(served)):
            problems.add(where, f"{path}: {'described but not served' if path in paths else 'served but not described'} "
                                f"by the reference simulator (Simulator+LiveSources.swift; parameter names count)")
    for path, item in paths.items():
        methods = [m for m in item if m in ("get", "put", "post", "delete", "options", "head", "patch", "trace")]
        if methods != ["get"]:
            problems.add(f"{where} paths.{path}", f"the client only GETs, found {methods}")
            continue
        operation = item["get"]
        for code in ("200", "401", "403", "404", "408", "429", "5XX", "default"):
            if code not in (operation.get("responses") or {}):
                problems.add(f"{where} paths.{path}.get", f"response {code} is not documented (the client treats it "
                                                          f"in its own way)")
        schema = response_schema(doc, operation, "200")
        target = deref(doc, schema) if isinstance(schema, dict) else None
        swift_type = target.get("x-swift-type") if isinstance(target, dict) else None
        expected = called.get(re.sub(r"\{[^}]+\}", "{}", path))
        if expected and swift_type != expected:
            problems.add(f"{where} paths.{path}.get.responses.200",
                         f"schema is for {swift_type}, the client decodes {expected}")

    # Patterns shared with request.schema.json.
    request_defs = (schema_store().get("urn:breakglass:schema:request:v1") or {}).get("$defs", {})
    for name, definition in (("Timestamp", "timestamp"), ("Identifier", "identifier")):
        if (schemas.get(name) or {}).get("pattern") != (request_defs.get(definition) or {}).get("pattern"):
            problems.add(f"{where} components.schemas.{name}",
                         f"pattern differs from request.schema.json's $defs/{definition}")

    # Schemas against the Codable records.
    types = {}
    for path in sorted(GATE_DIR.glob("*.swift")):
        text = read_swift(path, problems)
        if text is not None:
            types.update(swift_types(text))
    records = 0
    for name, schema in schemas.items():
        swift_name = schema.get("x-swift-type") if isinstance(schema, dict) else None
        if swift_name is None:
            continue
        at = f"{where} components.schemas.{name}"
        if swift_name not in types or types[swift_name]["kind"] != "struct":
            problems.add(at, f"x-swift-type {swift_name} is not a struct of {shown(GATE_DIR)}")
            continue
        records += 1
        keys = swift_record(types, swift_name)
        properties = schema.get("properties") or {}
        if set(properties) != set(keys):
            problems.add(at, f"properties {sorted(properties)} differ from the JSON keys of {swift_name} {sorted(keys)}")
        required = {key for key, info in keys.items() if not info["optional"]}
        if set(schema.get("required") or []) != required:
            problems.add(at, f"required {sorted(schema.get('required') or [])} differ from the non-optional keys of "
                             f"{swift_name} {sorted(required)}")
        for key, info in keys.items():
            prop = properties.get(key)
            if not isinstance(prop, dict) or info["type"] is None:
                continue
            element = re.fullmatch(r"\[(\w+)\]", info["type"])
            swift_type = resolve_swift_type(types, swift_name, element.group(1) if element else info["type"])
            if swift_type and types[swift_type]["kind"] == "enum" and re.search(r":\s*String\b", types[swift_type]["header"]):
                words = {raw or case for case, raw in swift_enum_cases(types[swift_type]["body"])}
                if set(prop.get("enum") or []) != words:
                    problems.add(f"{at}.properties.{key}", f"enum {prop.get('enum')} differs from {swift_type}'s raw "
                                                           f"values {sorted(words)}")
            elif swift_type and types[swift_type]["kind"] == "struct":
                target = prop.get("items") if element else prop
                referenced = deref(doc, target) if isinstance(target, dict) else None
                if not (isinstance(referenced, dict) and referenced.get("x-swift-type") == swift_type):
                    problems.add(f"{at}.properties.{key}", f"must {'be an array of' if element else 'be'} the schema "
                                                           f"with x-swift-type {swift_type}")
            if info["optional"]:
                allowed = deref(doc, prop)
                if not (isinstance(allowed, dict) and any(
                        (isinstance(branch, dict) and branch.get("type") == "null")
                        for branch in (deref(doc, b) for b in allowed.get("oneOf") or allowed.get("anyOf") or []))
                        or "null" in (allowed.get("type") or [])):
                    problems.add(f"{at}.properties.{key}", "an optional member may be null (the decoder reads null "
                                                           "as absent): allow type null")
    stats.append(f"openapi: {len(paths)} path(s), the client's {len(called)} and the simulator's "
                 f"{len(served or {})}; {records} schema(s) matched to Codable records")


# ---------------------------------------------------------------------------------------------------------------
# Against a running simulator (or live sources).

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url, token):
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def read_token(path):
    text = pathlib.Path(path).read_text(encoding="utf-8")
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    return text


def fixture_targets(fixtures):
    """[(path template, {parameter: value})] for every fixture."""
    targets = []
    for item in fixtures.get("cases") or []:
        targets.append(("/v1/cases/{case_id}", {"case_id": item["case_id"]}))
    tenants = [item["tenant_id"] for item in fixtures.get("tenants") or []]
    for tenant in tenants:
        targets.append(("/v1/tenants/{tenant_id}", {"tenant_id": tenant}))
    for item in fixtures.get("incidents") or []:
        targets.append(("/v1/incidents/{incident_id}", {"incident_id": item["incident_id"]}))
    for item in fixtures.get("identities") or []:
        targets.append(("/v1/identity/{admin_id}/assurance/{ref}", {"admin_id": item["admin_id"], "ref": item["ref"]}))
    for tenant in sorted(set(tenants) | set((fixtures.get("iam") or {}).keys())):
        targets.append(("/v1/iam/tenants/{tenant_id}/admin-state", {"tenant_id": tenant}))
    return targets


def fill(template, values):
    return re.sub(r"\{([^}]+)\}", lambda m: urllib.parse.quote(str(values[m.group(1)]), safe="-._~:"), template)


def check_simulator(doc, base_url, token, fixtures_path, problems, stats):
    base_url = base_url.rstrip("/")
    where = f"simulator {base_url}"
    try:
        fixtures = yaml.safe_load(pathlib.Path(fixtures_path).read_text(encoding="utf-8")) or {}
        targets = fixture_targets(fixtures)
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        problems.add(shown(fixtures_path), f"cannot read the fixtures: {error!r}")
        return
    paths = doc.get("paths") or {}
    components = doc.get("components") or {}
    validated = statuses = 0
    for template in paths:
        if not any(t == template for t, _ in targets):
            problems.add(where, f"no fixture of {shown(fixtures_path)} exercises {template}")
    for template, values in targets:
        operation = (paths.get(template) or {}).get("get")
        if operation is None:
            continue  # reported with the paths
        schema = response_schema(doc, operation, "200")
        url = base_url + fill(template, values)
        at = f"{where} GET {fill(template, values)}"
        try:
            status, headers, body = http_get(url, token)
        except (OSError, urllib.error.URLError) as error:
            problems.add(at, f"no answer: {error}")
            continue
        if status != 200:
            problems.add(at, f"HTTP {status}, expected 200 for a fixture")
            continue
        content_type = headers.get("Content-Type")
        if content_type is not None and not content_type.lower().startswith("application/json"):
            problems.add(at, f"Content-Type {content_type} (the client takes only application/json)")
        try:
            answer = cc.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            problems.add(at, f"not strict JSON: {error}")
            continue
        root = {"$ref": schema["$ref"], "components": components} if isinstance(schema, dict) and "$ref" in schema \
            else dict(schema or {}, components=components)
        if validation_problems(make_validator(root, None, {}), answer, problems, at) == 0:
            validated += 1
        properties = (deref(doc, schema) or {}).get("properties") or {}
        for name, value in values.items():
            if name in properties and isinstance(answer, dict) and answer.get(name) != value:
                problems.add(at, f"{name} is {answer.get(name)!r}, not the {value!r} asked for")
    for template, item in paths.items():
        operation = item.get("get") or {}
        responses = operation.get("responses") or {}
        parameters = set(re.findall(r"\{([^}]+)\}", template))
        for label, url, auth, expected in (
                ("an unknown id", base_url + fill(template, {p: UNKNOWN_ID for p in parameters}), token, 404),
                ("no token", base_url + fill(template, {p: UNKNOWN_ID for p in parameters}), None, 401),
                ("a wrong token", base_url + fill(template, {p: UNKNOWN_ID for p in parameters}), token + "x", 401)):
            try:
                status, _, _ = http_get(url, auth)
            except (OSError, urllib.error.URLError) as error:
                problems.add(f"{where} GET {template} ({label})", f"no answer: {error}")
                continue
            statuses += 1
            if status != expected:
                problems.add(f"{where} GET {template} ({label})", f"HTTP {status}, expected {expected}")
            elif str(status) not in responses:
                problems.add(f"{where} GET {template} ({label})", f"HTTP {status} is not documented")
    stats.append(f"simulator: {validated} of {len(targets)} fixture answer(s) valid against the OpenAPI schemas, "
                 f"{statuses} error status(es) checked ({shown(fixtures_path)})")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StartedSimulator:
    """`BINARY sim` on a free loopback port with fresh tokens in a private temp dir; stopped (by its PID) on exit."""

    def __init__(self, binary, fixtures):
        self.binary, self.fixtures = binary, fixtures
        self.process = self.directory = self.log = None

    def __enter__(self):
        try:
            return self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _start(self):
        self.directory = pathlib.Path(tempfile.mkdtemp(prefix="contract-docs-"))
        tokens = {}
        for name in ("sources.token", "control.token"):
            path = self.directory / name
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                tokens[name] = secrets.token_urlsafe(24)
                handle.write(tokens[name] + "\n")
        self.token = tokens["sources.token"]
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(self.directory / "sim.log", "wb")
        self.process = subprocess.Popen(
            [self.binary, "sim", "--host", "127.0.0.1", "--port", str(port), "--fixtures", str(self.fixtures),
             "--token-file", str(self.directory / "sources.token"),
             "--control-token-file", str(self.directory / "control.token")],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the simulator exited with status {self.process.returncode}: {self.log_tail()}")
            try:
                if http_get(self.url + "/health", None)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the simulator did not answer /health within 60 s: {self.log_tail()}")

    def log_tail(self):
        try:
            self.log.flush()
            return " | ".join((self.directory / "sim.log").read_text(errors="replace").strip().splitlines()[-5:])
        except OSError:
            return "(no log)"

    def __exit__(self, *exc):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            self.log.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        return False


# ---------------------------------------------------------------------------------------------------------------

def main(argv):
    parser = argparse.ArgumentParser(prog="contract_docs_check.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--simulator", metavar="URL", help="base URL of a running simulator or live sources")
    parser.add_argument("--token-file", metavar="FILE", help="its bearer token (with --simulator)")
    parser.add_argument("--start-simulator", metavar="BINARY", help="start `BINARY sim` for the check, stop it after")
    parser.add_argument("--fixtures", metavar="FILE", default=str(DEFAULT_FIXTURES),
                        help="fixtures the simulator serves (default: config/demo/fixtures.yaml)")
    parser.add_argument("--asyncapi-schema", metavar="FILE",
                        help="also validate asyncapi.yaml against this AsyncAPI 3.0.0 JSON Schema (the spec's "
                             "3.0.0-without-$id.json)")
    args = parser.parse_args(argv)
    if args.simulator and args.start_simulator:
        parser.error("--simulator and --start-simulator exclude each other")
    if bool(args.simulator) != bool(args.token_file):
        parser.error("--simulator and --token-file go together")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    problems, stats = Problems(), []
    asyncapi = load_yaml(ASYNCAPI, problems)
    openapi = load_yaml(OPENAPI, problems)
    if asyncapi is not None:
        refs = check_refs(asyncapi, ASYNCAPI, problems)
        stats.append(f"asyncapi: {refs} $ref(s) checked")
        check_asyncapi(asyncapi, problems, stats, args.asyncapi_schema)
    if openapi is not None:
        refs = check_refs(openapi, OPENAPI, problems)
        stats.append(f"openapi: {refs} $ref(s) checked")
        check_openapi(openapi, problems, stats)
        try:
            if args.simulator:
                check_simulator(openapi, args.simulator, read_token(args.token_file), args.fixtures, problems, stats)
            elif args.start_simulator:
                with StartedSimulator(args.start_simulator, args.fixtures) as simulator:
                    check_simulator(openapi, simulator.url, simulator.token, args.fixtures, problems, stats)
        except (OSError, RuntimeError) as error:
            problems.add("simulator", str(error))
    if not (args.simulator or args.start_simulator):
        stats.append("simulator: not checked (no --simulator or --start-simulator)")

    for line in problems.lines:
        print(line)
    for line in stats:
        print(line)
    print(f"contract-docs: {len(problems.lines)} problem(s)")
    if problems.lines:
        print("contract-docs: 0 passed, 1 failed")
        return 1
    print("contract-docs: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
