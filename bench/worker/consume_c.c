/* Raw rabbitmq-c 0.11 consume+ack loop on an EXISTING queue, for `scripts/bench` (duplicate path baseline).
 * usage: consume_c HOST PORT QUEUE COUNT PREFETCH
 * Consumes COUNT messages already in QUEUE (e.g. the contract's quorum queue, loaded with the same signed request
 * copies the worker gets), acking each one (the canonical amqp_consume_message loop, basic.qos PREFETCH), and
 * prints one JSON line; the rate is measured from the first delivery to the last ack, like the worker's. */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die_reply(amqp_rpc_reply_t r, const char *what) {
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "consume_c: %s failed (%d)\n", what, r.reply_type);
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: consume_c HOST PORT QUEUE COUNT PREFETCH\n");
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    const char *queue = argv[3];
    long count = atol(argv[4]);
    int prefetch = atoi(argv[5]);

    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *socket = amqp_tcp_socket_new(conn);
    if (amqp_socket_open(socket, host, port) != AMQP_STATUS_OK) { fprintf(stderr, "consume_c: connect failed\n"); return 1; }
    die_reply(amqp_login(conn, "/", 0, 131072, 30, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
    amqp_channel_open(conn, 1);
    die_reply(amqp_get_rpc_reply(conn), "channel.open");
    amqp_basic_qos(conn, 1, 0, (uint16_t)prefetch, 0);
    die_reply(amqp_get_rpc_reply(conn), "basic.qos");
    amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    die_reply(amqp_get_rpc_reply(conn), "basic.consume");

    long received = 0;
    double first = 0;
    size_t bytes = 0;
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
            fprintf(stderr, "consume_c: consume failed\n");
            return 1;
        }
        if (received == 0) first = now();
        bytes += envelope.message.body.len;
        if (amqp_basic_ack(conn, 1, envelope.delivery_tag, 0) != AMQP_STATUS_OK) return 1;
        amqp_destroy_envelope(&envelope);
        received++;
    }
    double seconds = now() - first;
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    printf("{\"client\":\"c\",\"messages\":%ld,\"prefetch\":%d,\"mean_body_bytes\":%.0f,\"seconds\":%.4f,\"msgs_per_s\":%.1f}\n",
           count, prefetch, count ? (double)bytes / count : 0.0, seconds, seconds > 0 ? (count - 1) / seconds : 0.0);
    return 0;
}
