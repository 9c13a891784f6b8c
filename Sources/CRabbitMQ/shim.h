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

#endif
