#ifndef BREAKGLASS_CRABBITMQ_SHIM_H
#define BREAKGLASS_CRABBITMQ_SHIM_H

/* rabbitmq-c 0.11 (Debian) installs its headers at the top level; newer releases use rabbitmq-c/. */
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#include <rabbitmq-c/ssl_socket.h>
#else
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#endif
#include <sys/time.h>

/* amqp_login is C-variadic; Swift cannot call it. PLAIN login through a fixed-arity wrapper. */
static inline amqp_rpc_reply_t bg_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                                   int channel_max, int frame_max, int heartbeat,
                                                   const char *user, const char *password) {
    return amqp_login(state, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

/* Method ids and flags are macros with casts that Swift does not import. */
static const amqp_method_number_t BG_AMQP_BASIC_DELIVER_METHOD = AMQP_BASIC_DELIVER_METHOD;
static const amqp_method_number_t BG_AMQP_BASIC_ACK_METHOD = AMQP_BASIC_ACK_METHOD;
static const amqp_method_number_t BG_AMQP_BASIC_NACK_METHOD = AMQP_BASIC_NACK_METHOD;
static const amqp_method_number_t BG_AMQP_BASIC_RETURN_METHOD = AMQP_BASIC_RETURN_METHOD;
static const amqp_method_number_t BG_AMQP_BASIC_CANCEL_METHOD = AMQP_BASIC_CANCEL_METHOD;
static const amqp_method_number_t BG_AMQP_CHANNEL_CLOSE_METHOD = AMQP_CHANNEL_CLOSE_METHOD;
static const amqp_method_number_t BG_AMQP_CONNECTION_CLOSE_METHOD = AMQP_CONNECTION_CLOSE_METHOD;
static const amqp_method_number_t BG_AMQP_CONNECTION_BLOCKED_METHOD = AMQP_CONNECTION_BLOCKED_METHOD;
static const amqp_method_number_t BG_AMQP_CONNECTION_UNBLOCKED_METHOD = AMQP_CONNECTION_UNBLOCKED_METHOD;
static const amqp_flags_t BG_AMQP_BASIC_CONTENT_TYPE_FLAG = AMQP_BASIC_CONTENT_TYPE_FLAG;
static const amqp_flags_t BG_AMQP_BASIC_DELIVERY_MODE_FLAG = AMQP_BASIC_DELIVERY_MODE_FLAG;
static const amqp_flags_t BG_AMQP_BASIC_HEADERS_FLAG = AMQP_BASIC_HEADERS_FLAG;
static const amqp_flags_t BG_AMQP_BASIC_MESSAGE_ID_FLAG = AMQP_BASIC_MESSAGE_ID_FLAG;
static const amqp_flags_t BG_AMQP_BASIC_TYPE_FLAG = AMQP_BASIC_TYPE_FLAG;
static const amqp_flags_t BG_AMQP_BASIC_TIMESTAMP_FLAG = AMQP_BASIC_TIMESTAMP_FLAG;
static const amqp_flags_t BG_AMQP_BASIC_CORRELATION_ID_FLAG = AMQP_BASIC_CORRELATION_ID_FLAG;
static const amqp_flags_t BG_AMQP_BASIC_APP_ID_FLAG = AMQP_BASIC_APP_ID_FLAG;

/* Additions for BreakGlassAMQP (issue 3). */
static const amqp_method_number_t BG_AMQP_BASIC_CANCEL_OK_METHOD = AMQP_BASIC_CANCEL_OK_METHOD;
static const amqp_method_number_t BG_AMQP_CHANNEL_CLOSE_OK_METHOD = AMQP_CHANNEL_CLOSE_OK_METHOD;
static const amqp_method_number_t BG_AMQP_CONNECTION_CLOSE_OK_METHOD = AMQP_CONNECTION_CLOSE_OK_METHOD;
static const amqp_flags_t BG_AMQP_BASIC_CONTENT_ENCODING_FLAG = AMQP_BASIC_CONTENT_ENCODING_FLAG;
static const amqp_flags_t BG_AMQP_BASIC_PRIORITY_FLAG = AMQP_BASIC_PRIORITY_FLAG;
static const amqp_flags_t BG_AMQP_BASIC_REPLY_TO_FLAG = AMQP_BASIC_REPLY_TO_FLAG;
static const amqp_flags_t BG_AMQP_BASIC_EXPIRATION_FLAG = AMQP_BASIC_EXPIRATION_FLAG;
static const amqp_flags_t BG_AMQP_BASIC_USER_ID_FLAG = AMQP_BASIC_USER_ID_FLAG;
static const uint8_t BG_AMQP_FRAME_METHOD = AMQP_FRAME_METHOD;
static const uint8_t BG_AMQP_FRAME_HEADER = AMQP_FRAME_HEADER;
static const uint8_t BG_AMQP_FRAME_BODY = AMQP_FRAME_BODY;
static const uint8_t BG_AMQP_FRAME_HEARTBEAT = AMQP_FRAME_HEARTBEAT;

/* A non-blocking eventfd that wakes the connection thread out of poll(2). */
#include <sys/eventfd.h>
static inline int bg_eventfd_nonblocking(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

/* PLAIN login that also announces the client capabilities BreakGlassAMQP relies on
 * (consumer_cancel_notify, connection.blocked, publisher_confirms, basic.nack) and a connection name. */
static inline amqp_rpc_reply_t bg_amqp_login_plain_with_capabilities(
    amqp_connection_state_t state, const char *vhost, int channel_max, int frame_max, int heartbeat,
    const char *user, const char *password, const char *connection_name) {
    amqp_table_entry_t capabilities[5];
    capabilities[0].key = amqp_cstring_bytes("consumer_cancel_notify");
    capabilities[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[0].value.value.boolean = 1;
    capabilities[1].key = amqp_cstring_bytes("connection.blocked");
    capabilities[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[1].value.value.boolean = 1;
    capabilities[2].key = amqp_cstring_bytes("publisher_confirms");
    capabilities[2].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[2].value.value.boolean = 1;
    capabilities[3].key = amqp_cstring_bytes("basic.nack");
    capabilities[3].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[3].value.value.boolean = 1;
    /* A refused login is answered with connection.close 403 (not a bare socket close), so it can be told apart. */
    capabilities[4].key = amqp_cstring_bytes("authentication_failure_close");
    capabilities[4].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[4].value.value.boolean = 1;
    amqp_table_t capabilities_table;
    capabilities_table.num_entries = 5;
    capabilities_table.entries = capabilities;
    amqp_table_entry_t properties[2];
    properties[0].key = amqp_cstring_bytes("capabilities");
    properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
    properties[0].value.value.table = capabilities_table;
    properties[1].key = amqp_cstring_bytes("connection_name");
    properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
    properties[1].value.value.bytes = amqp_cstring_bytes(connection_name);
    amqp_table_t table;
    table.num_entries = 2;
    table.entries = properties;
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat, &table,
                                      AMQP_SASL_METHOD_PLAIN, user, password);
}

#endif
