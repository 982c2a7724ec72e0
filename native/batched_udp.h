/* Batched UDP (batched_udp.c): adds udpOpen, udpRecv, udpSend and friends to the addon's exports. */
#ifndef MEDIABOT_BATCHED_UDP_H
#define MEDIABOT_BATCHED_UDP_H
#include <node_api.h>
void register_batched_udp(napi_env env, napi_value exports);
#endif
