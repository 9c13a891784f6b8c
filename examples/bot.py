#!/usr/bin/env python3
"""Incident-bot side of the break-glass worker: one human line per restoration event.

Declares its own queue on the event exchange (breakglass.events, a topic exchange; routing key = the event's type,
wire contract v1.1 section 5), binds the types it reports, consumes, and prints one line per distinct event:

    GRANTED  case CASE-88121 tenant tnt-4f9a2c request REQ-1 confirmation BG-7Q2M4K9X scopes a,b until 2026-...Z
    REJECTED case - tenant - request - reasons SIGNATURE_INVALID (dead-lettered)
    HALTED   case CASE-88131 tenant tnt-1c88e4 request REQ-5 stage gate reasons APPROVAL_REVOKED takeover T [ESCALATE..]
    EVIDENCE case CASE-88121 tenant tnt-4f9a2c request REQ-1 bundle B (12 artifacts) at LOCATION
    REVOKED  / RESUMED (with --types ...,revoked,resumed): who decided, and on what

or, with --json, one JSON object per line with the same fields. The worker may publish the same logical event more
than once (after a crash or a broker outage); every copy has the same CloudEvents `id`, so the bot drops copies by
id (remembering the last --dedup-size ids). Events are acked after their line is printed (at least once: a bot
killed between the two prints that line again after a restart). Only named fields of the event's `data` are
printed, stripped of control characters; attributes the bot does not know are ignored.

Without --queue the bot's queue is exclusive and goes away with it (events published while it is down are not
seen). With --queue NAME it is a durable quorum queue that keeps events for the next run.

Exit status: 0 (stopped by --count, --timeout without --count, or SIGINT/SIGTERM); 1 --count not reached before
--timeout, or the broker failed; 2 usage error. Needs pika (Debian: python3-pika).
"""
import argparse
import collections
import json
import signal
import sys
import time
import urllib.parse

from amqp_settings import SettingsError, add_arguments, connection_parameters, describe, require_pika

TYPE_PREFIX = "breakglass.restoration."
KINDS = ("outcome", "halted", "evidence-ready", "revoked", "resumed")
DEFAULT_KINDS = ("outcome", "halted", "evidence-ready")


class Stop(Exception):
    """SIGINT or SIGTERM."""


def clean(value, limit=200):
    """A value as printable text: no control characters (no terminal escapes), bounded length."""
    if value is None:
        return "-"
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def without_credentials(location):
    """An evidence location without any user:password@ part (should a store URL ever carry one)."""
    try:
        parts = urllib.parse.urlsplit(location)
    except ValueError:
        return location
    if parts.password is None and parts.username is None:
        return location
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def summary(event):
    """(kind, fields) for a contract event, or None when it is not one the bot knows."""
    kind = str(event.get("type", ""))
    if not kind.startswith(TYPE_PREFIX) or kind[len(TYPE_PREFIX):] not in KINDS:
        return None
    kind = kind[len(TYPE_PREFIX):]
    data = event.get("data")
    if not isinstance(data, dict):
        return None
    fields = {"event_id": event.get("id"), "kind": kind, "time": event.get("time"),
              "case_id": data.get("case_id"), "tenant_id": data.get("tenant_id"),
              # Contract 1.1: the request's trace, continued by the worker (CloudEvents distributed tracing).
              "traceparent": event.get("traceparent")}
    names = {
        "outcome": ("request_id", "result", "confirmation_id", "scopes", "expires_at", "reasons"),
        "halted": ("request_id", "stage", "reasons", "escalate", "takeover_id"),
        "evidence-ready": ("request_id", "bundle_id", "manifest_sha256", "location", "artifacts"),
        "revoked": ("confirmation_id", "revoked_by", "reason", "result"),
        "resumed": ("takeover_id", "resumed_by", "note"),
    }[kind]
    for name in names:
        fields[name] = data.get(name)
    if isinstance(fields.get("location"), str):
        fields["location"] = without_credentials(fields["location"])
    return kind, fields


def codes(values):
    return ",".join(clean(v, 64) for v in values) if isinstance(values, list) and values else "-"


def human_line(kind, f):
    who = f"case {clean(f['case_id'])} tenant {clean(f['tenant_id'])}"
    if kind == "outcome":
        if f.get("result") == "granted":
            return (f"GRANTED  {who} request {clean(f['request_id'])} confirmation {clean(f['confirmation_id'])} "
                    f"scopes {codes(f['scopes'])} until {clean(f['expires_at'])}")
        return f"REJECTED {who} request {clean(f['request_id'])} reasons {codes(f['reasons'])} (dead-lettered)"
    if kind == "halted":
        line = (f"HALTED   {who} request {clean(f['request_id'])} stage {clean(f['stage'])} "
                f"reasons {codes(f['reasons'])} takeover {clean(f['takeover_id'])}")
        if f.get("escalate") is True:
            line += " ESCALATE: access may have been granted"
        return line
    if kind == "evidence-ready":
        return (f"EVIDENCE {who} request {clean(f['request_id'])} bundle {clean(f['bundle_id'])} "
                f"({clean(f['artifacts'])} artifacts) at {clean(f['location'], 400)}")
    if kind == "revoked":
        return (f"REVOKED  {who} confirmation {clean(f['confirmation_id'])} result {clean(f['result'])} "
                f"by {clean(f['revoked_by'])} reason {clean(f['reason'])}")
    return f"RESUMED  {who} takeover {clean(f['takeover_id'])} by {clean(f['resumed_by'])} note {clean(f['note'])}"


def json_line(kind, f):
    out = {}
    for name, value in f.items():
        if value is None:
            continue  # absent from this event (e.g. no case_id on a message that could not be read)
        if isinstance(value, list):
            out[name] = [clean(v, 64) for v in value]
        elif isinstance(value, (bool, int)):
            out[name] = value
        else:
            out[name] = clean(value, 400)
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


class Seen:
    """The last `size` event ids, for dropping republished copies with bounded memory."""

    def __init__(self, size):
        self.size = size
        self.ids = collections.OrderedDict()

    def first_time(self, event_id):
        if event_id in self.ids:
            self.ids.move_to_end(event_id)
            return False
        self.ids[event_id] = None
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)
        return True


def positive(text):
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Print one line per break-glass restoration event (dropping republished copies).",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--exchange", default="breakglass.events", help="event exchange (default %(default)s)")
    parser.add_argument("--queue", help="durable queue name (default: an exclusive queue that goes away with the bot)")
    parser.add_argument("--types", default=",".join(DEFAULT_KINDS),
                        help=f"event types to bind and report, comma-separated, of {','.join(KINDS)} "
                             "(default %(default)s)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of text")
    parser.add_argument("--count", type=int, help="stop after this many distinct events")
    parser.add_argument("--timeout", type=positive, metavar="SECONDS", help="stop after this long")
    parser.add_argument("--dedup-size", type=int, default=10000, help="event ids remembered (default %(default)s)")
    parser.add_argument("--ready-file", help="touch this file once the queue is bound (for scripts)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.types.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        parser.error(f"--types: unknown {','.join(unknown) or '(none given)'}; choose from {','.join(KINDS)}")
    if args.count is not None and args.count < 1:
        parser.error("--count must be at least 1")
    if args.dedup_size < 1:
        parser.error("--dedup-size must be at least 1")

    pika = require_pika()
    import pika.exceptions as errors

    try:
        params = connection_parameters(args, "breakglass-example-bot")
    except SettingsError as problem:
        print(f"bot: {problem}", file=sys.stderr)
        return 2

    def stop(_signum, _frame):
        raise Stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    deadline = time.monotonic() + args.timeout if args.timeout else None
    seen = Seen(args.dedup_size)
    distinct = copies = ignored = 0
    connection = None
    status = 0
    try:
        connection = pika.BlockingConnection(params)
        channel = connection.channel()
        try:
            channel.exchange_declare(args.exchange, exchange_type="topic", durable=True, passive=True)
        except errors.ChannelClosedByBroker as error:
            if error.reply_code == 404:
                print(f"bot: no exchange {args.exchange} (the worker declares it: `breakglass topology declare`)",
                      file=sys.stderr)
                return 1
            raise
        if args.queue:
            queue = channel.queue_declare(args.queue, durable=True, arguments={"x-queue-type": "quorum"}).method.queue
        else:
            queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        for kind in kinds:
            channel.queue_bind(queue, args.exchange, routing_key=TYPE_PREFIX + kind)
        channel.basic_qos(prefetch_count=100)
        if args.ready_file:
            open(args.ready_file, "w").close()
        done = False
        for method, _properties, body in channel.consume(queue, inactivity_timeout=0.25):
            if deadline is not None and time.monotonic() >= deadline:
                if args.count is not None:
                    print(f"bot: timed out after {distinct} of {args.count} distinct events", file=sys.stderr)
                    status = 1
                break
            if method is None:
                continue
            try:
                event = json.loads(body)
                known = summary(event) if isinstance(event, dict) else None
            except ValueError:
                known = None
            if known is None or not isinstance(event.get("id"), str):
                ignored += 1  # not a contract event this bot reports; its content is not echoed
                print(f"bot: ignored a message that is not a known event (routing key {clean(method.routing_key)})",
                      file=sys.stderr)
            elif seen.first_time(event["id"]):
                kind, fields = known
                print(json_line(kind, fields) if args.json else human_line(kind, fields), flush=True)
                distinct += 1
                done = args.count is not None and distinct >= args.count
            else:
                copies += 1
            channel.basic_ack(method.delivery_tag)
            if done:
                break
    except Stop:
        pass
    except errors.AMQPError as error:
        print(f"bot: broker error: {describe(error)}", file=sys.stderr)
        status = 1
    except OSError as error:
        print(f"bot: cannot reach the broker: {describe(error)}", file=sys.stderr)
        status = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except errors.AMQPError:
                pass
    print(f"bot: {distinct} distinct events, {copies} republished copies dropped, {ignored} ignored", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
