"""Python pika baseline for `scripts/bench transport`.

usage: bench_pika.py HOST PORT QUEUE COUNT BODY_BYTES PREFETCH
Publishes COUNT persistent messages with publisher confirms (BlockingChannel.confirm_delivery: each publish
waits for its confirm, pika's blocking API has no pipelining), then consumes them with basic.qos PREFETCH,
acking each message. Prints one JSON line.
"""
import json
import sys
import time

import pika


def main():
    host, port, queue, count, size, prefetch = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    connection = pika.BlockingConnection(pika.ConnectionParameters(host=host, port=port, heartbeat=30,
                                                                   credentials=pika.PlainCredentials("guest", "guest")))
    channel = connection.channel()
    channel.queue_declare(queue=queue, durable=True)
    channel.confirm_delivery()
    body = b"x" * size
    properties = pika.BasicProperties(delivery_mode=2, content_type="application/octet-stream")

    t0 = time.monotonic()
    for _ in range(count):
        channel.basic_publish(exchange="", routing_key=queue, body=body, properties=properties, mandatory=False)
    publish_seconds = time.monotonic() - t0

    channel.basic_qos(prefetch_count=prefetch)
    received = 0
    t1 = time.monotonic()

    def on_message(ch, method, _properties, _body):
        nonlocal received
        ch.basic_ack(delivery_tag=method.delivery_tag)
        received += 1
        if received >= count:
            ch.stop_consuming()

    channel.basic_consume(queue=queue, on_message_callback=on_message)
    channel.start_consuming()
    consume_seconds = time.monotonic() - t1
    channel.queue_delete(queue=queue)
    connection.close()
    print(json.dumps({
        "client": "pika", "messages": count,
        "publish_seconds": round(publish_seconds, 4), "publish_msgs_per_s": round(count / publish_seconds, 1),
        "consume_seconds": round(consume_seconds, 4), "consume_msgs_per_s": round(count / consume_seconds, 1),
    }))


if __name__ == "__main__":
    main()
