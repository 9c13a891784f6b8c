#!/usr/bin/env python3
"""Escalation-system side of the break-glass worker: sign an approved restoration request and publish it.

Wire contract v1.1 (docs/contract/README.md): the body is UTF-8 JSON of at most 64 KiB; the message is persistent
(delivery_mode 2), content_type application/json, message_id = the body's request_id, with the header
    x-breakglass-signature: ed25519;key=<key id>;sig=<base64 of the 64-byte Ed25519 signature of the exact body bytes>
and it goes to the request exchange (breakglass.requests, routing key restoration.approved) with publisher
confirms and the mandatory flag: the script exits 0 only once the broker confirmed the message into a queue.

The body comes from --body FILE (its exact bytes are signed and sent) or is built from the options below
(compact JSON, enqueued_at = now, not_after = now + --valid-minutes). The signing key is a seed file as
`breakglass keygen` writes it (standard base64 of the raw 32-byte Ed25519 seed); the key id defaults to the
file's name without `.seed`, as `breakglass enqueue` does.

--write-signed PREFIX also writes PREFIX.body (the exact bytes), PREFIX.signature (the header value) and
PREFIX.message.json (exchange, routing key, properties and headers) so that
    breakglass check PREFIX.body --signature "$(cat PREFIX.signature)" --trusted-keys trusted-keys.json
verifies offline what was (or, with --dry-run, would have been) published.

Exit status: 0 confirmed (or written, with --dry-run); 1 not confirmed (broker unreachable, nack, unroutable,
exchange missing); 2 usage or input error. Needs pika and cryptography (Debian: python3-pika python3-cryptography).
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import secrets
import sys

from amqp_settings import (SettingsError, add_arguments, connection_parameters, describe, require_pika,
                           warn_if_shared)

SIGNATURE_HEADER = "x-breakglass-signature"
SCHEMA = "breakglass.restoration.approved/v1"
MAX_BODY = 65536
IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


BUILD_OPTIONS = ("request_id", "case_id", "tenant_id", "tenant_name", "incident_id", "requester_admin_id",
                 "identity_assurance_ref", "role", "scope", "duration_minutes", "approval", "packet_id",
                 "packet_sha256", "packet_file", "valid_minutes")


class InputError(Exception):
    """Bad input: exit status 2."""


def load_signing_key(path):
    """The Ed25519 private key from a seed file (base64 of 32 bytes, surrounding whitespace ignored)."""
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError:
        sys.exit("needs cryptography: apt-get install python3-cryptography (Debian) or pip install cryptography")

    warn_if_shared(path, "signing key")
    try:
        with open(path, "rb") as handle:
            text = handle.read().strip()
        seed = base64.b64decode(text, validate=True)
    except (OSError, ValueError):
        raise InputError(f"cannot read signing key {path}: it must hold the base64 of a 32-byte Ed25519 seed") from None
    if len(seed) != 32:
        raise InputError(f"signing key {path}: it must hold the base64 of a 32-byte Ed25519 seed")
    return Ed25519PrivateKey.from_private_bytes(seed)


def signature_header(private_key, key_id, body):
    signature = private_key.sign(body)
    return f"ed25519;key={key_id};sig={base64.b64encode(signature).decode('ascii')}"


def utc(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_body(args):
    """The request body from the options: compact UTF-8 JSON."""
    missing = [name for name in ("case_id", "tenant_id", "tenant_name", "incident_id", "requester_admin_id",
                                 "identity_assurance_ref", "duration_minutes", "packet_id")
               if getattr(args, name) is None]
    if not args.scope:
        missing.append("scope")
    if not args.approval:
        missing.append("approval")
    if args.packet_sha256 is None and args.packet_file is None:
        missing.append("packet_sha256")
    if missing:
        raise InputError("without --body, give " + ", ".join("--" + m.replace("_", "-") for m in missing)
                         + (" (or --packet-file)" if "packet_sha256" in missing else ""))
    if not 1 <= args.duration_minutes <= 1440:
        raise InputError("--duration-minutes must be 1 to 1440")
    if args.packet_file:
        packet_sha256 = hashlib.sha256(read_body(args.packet_file)).hexdigest()
    else:
        packet_sha256 = args.packet_sha256.lower()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    request_id = args.request_id or f"REQ-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    body = {
        "schema": SCHEMA,
        "request_id": request_id,
        "case_id": args.case_id,
        "tenant": {"id": args.tenant_id, "name": args.tenant_name},
        "incident": {"id": args.incident_id},
        "requester": {"admin_id": args.requester_admin_id, "identity_assurance_ref": args.identity_assurance_ref},
        "privilege": {"role": args.role, "scopes": args.scope, "duration_minutes": args.duration_minutes},
        "approvals": [{"role": role, "approval_id": approval_id, "approver_id": approver_id}
                      for role, approval_id, approver_id in args.approval],
        "packet": {"id": args.packet_id, "sha256": packet_sha256},
        "enqueued_at": utc(now),
        "not_after": utc(now + datetime.timedelta(minutes=args.valid_minutes)),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def read_body(path):
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None


def request_id_of(body):
    """The body's request_id (the message id), after the checks a sender can do before publishing.

    The worker checks everything else (and rejects, dead-letters and reports what fails); run `breakglass check`
    on --write-signed output to see its verdict offline."""
    if len(body) > MAX_BODY:
        raise InputError(f"the body is {len(body)} bytes; the contract allows at most {MAX_BODY}")
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InputError("the body is not UTF-8 JSON") from None
    if not isinstance(document, dict):
        raise InputError("the body must be a JSON object")
    request_id = document.get("request_id")
    if not isinstance(request_id, str) or not IDENTIFIER.fullmatch(request_id):
        raise InputError("the body's request_id is missing or not an identifier")
    if document.get("schema") != SCHEMA:
        raise InputError(f"the body's schema must be {SCHEMA}")
    return request_id, document


def write_signed(prefix, body, header, request_id, args, trace_headers):
    message = {
        "exchange": args.exchange,
        "routing_key": args.routing_key,
        "mandatory": True,
        "properties": {
            "delivery_mode": 2,
            "content_type": "application/json",
            "message_id": request_id,
            "headers": {SIGNATURE_HEADER: header, **trace_headers},
        },
        "body_file": os.path.basename(prefix + ".body"),
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }
    with open(prefix + ".body", "wb") as handle:
        handle.write(body)
    with open(prefix + ".signature", "w", encoding="ascii") as handle:
        handle.write(header + "\n")
    with open(prefix + ".message.json", "w", encoding="utf-8") as handle:
        json.dump(message, handle, indent=2)
        handle.write("\n")


def publish(args, body, header, request_id, trace_headers):
    """Publishes with confirms and the mandatory flag; returns an error text, or None once confirmed."""
    pika = require_pika()
    import pika.exceptions as errors

    params = connection_parameters(args, "breakglass-example-producer")
    properties = pika.BasicProperties(
        delivery_mode=2, content_type="application/json", message_id=request_id,
        headers={SIGNATURE_HEADER: header, **trace_headers},
    )
    connection = None
    try:
        connection = pika.BlockingConnection(params)
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(args.exchange, args.routing_key, body, properties, mandatory=True)
        return None
    except errors.UnroutableError:
        return (f"unroutable: no queue is bound to {args.exchange} with routing key {args.routing_key} "
                "(is the topology declared? `breakglass topology declare`)")
    except errors.NackError:
        return "the broker refused the message (nack)"
    except errors.ChannelClosedByBroker as error:
        return f"the broker closed the channel: {error.reply_code} {error.reply_text}"
    except errors.AMQPError as error:
        return f"broker error: {describe(error)}"
    except OSError as error:
        return f"cannot reach the broker: {describe(error)}"
    finally:
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except errors.AMQPError:
                pass


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Sign an approved break-glass restoration request and publish it with publisher confirms.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--key", required=True, help="signing key: a seed file as `breakglass keygen` writes it")
    parser.add_argument("--key-id", help="key id for the header (default: the key file's name without .seed)")
    parser.add_argument("--body", metavar="FILE", help="the request body to sign and send as is (- for stdin)")
    parser.add_argument("--exchange", default="breakglass.requests", help="request exchange (default %(default)s)")
    parser.add_argument("--routing-key", default="restoration.approved", help="routing key (default %(default)s)")
    parser.add_argument("--traceparent", help="W3C traceparent header to send with the request (contract 1.1)")
    parser.add_argument("--tracestate", help="W3C tracestate header (with --traceparent)")
    parser.add_argument("--write-signed", metavar="PREFIX",
                        help="also write PREFIX.body, PREFIX.signature, PREFIX.message.json (for breakglass check)")
    parser.add_argument("--dry-run", action="store_true", help="sign (and --write-signed) but do not publish")
    add_arguments(parser)
    built = parser.add_argument_group("building the body (without --body)")
    built.add_argument("--request-id", help="default: REQ-<UTC time>-<random>")
    built.add_argument("--case-id")
    built.add_argument("--tenant-id")
    built.add_argument("--tenant-name")
    built.add_argument("--incident-id")
    built.add_argument("--requester-admin-id")
    built.add_argument("--identity-assurance-ref")
    built.add_argument("--role", default="tenant-admin", help="privilege role (default %(default)s)")
    built.add_argument("--scope", action="append", help="a privilege scope (repeat for each)")
    built.add_argument("--duration-minutes", type=int, help="1 to 1440")
    built.add_argument("--approval", nargs=3, action="append", metavar=("ROLE", "APPROVAL_ID", "APPROVER_ID"),
                       help="an approval (repeat for each)")
    built.add_argument("--packet-id")
    built.add_argument("--packet-sha256", help="SHA-256 (64 hex) of the approved packet document")
    built.add_argument("--packet-file", help="the packet document, to hash instead of --packet-sha256")
    built.add_argument("--valid-minutes", type=int, default=60, help="not_after = now + this (default %(default)s)")
    args = parser.parse_args(argv)

    try:
        key_id = args.key_id or os.path.basename(args.key).removesuffix(".seed")
        if not IDENTIFIER.fullmatch(key_id):
            raise InputError(f"key id {key_id!r} does not match the identifier pattern; give --key-id")
        if args.tracestate and not args.traceparent:
            raise InputError("--tracestate needs --traceparent")
        private_key = load_signing_key(args.key)
        if args.body:
            given = [name for name in BUILD_OPTIONS if getattr(args, name) not in (None, parser.get_default(name))]
            if given:
                raise InputError("--body sends the file as is; drop " + ", ".join(
                    "--" + name.replace("_", "-") for name in given))
            body = read_body(args.body)
        else:
            body = build_body(args)
        request_id, document = request_id_of(body)
        header = signature_header(private_key, key_id, body)
        trace_headers = {}
        if args.traceparent:
            trace_headers["traceparent"] = args.traceparent
            if args.tracestate:
                trace_headers["tracestate"] = args.tracestate
        if args.write_signed:
            write_signed(args.write_signed, body, header, request_id, args, trace_headers)
        tenant = document.get("tenant")
        tenant_id = tenant.get("id") if isinstance(tenant, dict) else None
        what = f"{request_id} (case {document.get('case_id')}, tenant {tenant_id})"
        if args.dry_run:
            print(f"signed {what} with key {key_id}; not published (--dry-run)")
            return 0
        error = publish(args, body, header, request_id, trace_headers)
    except (InputError, SettingsError) as problem:
        print(f"producer: {problem}", file=sys.stderr)
        return 2
    except OSError as problem:
        print(f"producer: {problem.filename or ''}: {problem.strerror or problem}", file=sys.stderr)
        return 2
    if error:
        print(f"producer: {what} NOT enqueued: {error}", file=sys.stderr)
        return 1
    print(f"enqueued {what} to {args.exchange} ({args.routing_key}): confirmed by the broker")
    return 0


if __name__ == "__main__":
    sys.exit(main())
