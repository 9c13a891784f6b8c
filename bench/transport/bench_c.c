/* Raw rabbitmq-c 0.11 baseline for `scripts/bench transport`.
 * usage: bench_c HOST PORT QUEUE COUNT BODY_BYTES PREFETCH WINDOW
 * Publishes COUNT persistent messages with publisher confirms (at most WINDOW unconfirmed), then consumes
 * them with basic.qos PREFETCH, acking each message (the canonical amqp_consume_message loop).
 * Prints one JSON line. */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die_reply(amqp_rpc_reply_t r, const char *what) {
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "bench_c: %s failed (%d)\n", what, r.reply_type);
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: bench_c HOST PORT QUEUE COUNT BODY_BYTES PREFETCH WINDOW\n");
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    const char *queue = argv[3];
    long count = atol(argv[4]);
    size_t size = (size_t)atol(argv[5]);
    int prefetch = atoi(argv[6]);
    long window = atol(argv[7]);

    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *socket = amqp_tcp_socket_new(conn);
    if (amqp_socket_open(socket, host, port) != AMQP_STATUS_OK) { fprintf(stderr, "bench_c: connect failed\n"); return 1; }
    die_reply(amqp_login(conn, "/", 0, 131072, 30, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
    amqp_channel_open(conn, 1);
    die_reply(amqp_get_rpc_reply(conn), "channel.open");
    amqp_confirm_select(conn, 1);
    die_reply(amqp_get_rpc_reply(conn), "confirm.select");
    amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table);
    die_reply(amqp_get_rpc_reply(conn), "queue.declare");

    char *body = malloc(size);
    memset(body, 'x', size);
    amqp_bytes_t message = {size, body};
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    props.delivery_mode = 2;
    props.content_type = amqp_cstring_bytes("application/octet-stream");

    /* Publish with confirms, pipelined up to WINDOW. */
    double t0 = now();
    long published = 0, confirmed = 0;
    while (confirmed < count) {
        while (published < count && published - confirmed < window) {
            if (amqp_basic_publish(conn, 1, amqp_cstring_bytes(""), amqp_cstring_bytes(queue), 0, 0, &props, message) != AMQP_STATUS_OK) {
                fprintf(stderr, "bench_c: publish failed\n");
                return 1;
            }
            published++;
        }
        amqp_frame_t frame;
        if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK) { fprintf(stderr, "bench_c: wait failed\n"); return 1; }
        if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *ack = frame.payload.method.decoded;
            if (ack->multiple) { if ((long)ack->delivery_tag > confirmed) confirmed = (long)ack->delivery_tag; }
            else confirmed++;
        } else if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            fprintf(stderr, "bench_c: nack\n");
            return 1;
        }
        amqp_maybe_release_buffers(conn);
    }
    double publish_seconds = now() - t0;

    /* Consume + ack each message. */
    amqp_basic_qos(conn, 1, 0, (uint16_t)prefetch, 0);
    die_reply(amqp_get_rpc_reply(conn), "basic.qos");
    double t1 = now();
    amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    die_reply(amqp_get_rpc_reply(conn), "basic.consume");
    long received = 0;
    while (received < count) {
        amqp_envelope_t envelope;
        amqp_maybe_release_buffers(conn);
        amqp_rpc_reply_t r = amqp_consume_message(conn, &envelope, NULL, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
                amqp_frame_t frame;
                if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK) return 1;
                continue;
            }
            fprintf(stderr, "bench_c: consume failed\n");
            return 1;
        }
        if (amqp_basic_ack(conn, 1, envelope.delivery_tag, 0) != AMQP_STATUS_OK) return 1;
        amqp_destroy_envelope(&envelope);
        received++;
    }
    double consume_seconds = now() - t1;

    amqp_queue_delete(conn, 1, amqp_cstring_bytes(queue), 0, 0);
    amqp_get_rpc_reply(conn);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    printf("{\"client\":\"c\",\"messages\":%ld,\"publish_seconds\":%.4f,\"publish_msgs_per_s\":%.1f,"
           "\"consume_seconds\":%.4f,\"consume_msgs_per_s\":%.1f}\n",
           count, publish_seconds, count / publish_seconds, consume_seconds, count / consume_seconds);
    free(body);
    return 0;
}
