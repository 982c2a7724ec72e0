#ifndef MEDIABOT_SPEECH_DECODER_H
#define MEDIABOT_SPEECH_DECODER_H
#include <node_api.h>

/* Adds createSpeechDecoder, speechDecode and speechDecoderReset to the module's exports. */
void register_speech_decoder(napi_env env, napi_value exports);

#endif
