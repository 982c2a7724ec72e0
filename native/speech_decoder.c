/*
 * A 16 kHz Opus decoder for the speech tap: it decodes the SILK layer alone
 * whenever that is the whole 0-8 kHz signal.
 *
 * Asked for 16 kHz, libopus still decodes the CELT layer of a hybrid packet
 * (the bands from 8 kHz up, about half of the decode's work: range decoding,
 * a 48 kHz inverse MDCT) and then discards all of it, since a 16 kHz output
 * has nothing above 8 kHz. Most speech from softphones and browsers is hybrid
 * (Opus picks it from about 24 kbit/s mono). For single-frame 20 ms mono
 * packets that are SILK-only or hybrid, this decoder runs libopus's own SILK
 * decoder (silk_Decode, linked from the same static libopus) on its own state,
 * which is what opus_decode does for that layer; the result matches
 * opus_decode at 16 kHz (the unit tests compare them). In-band FEC (SILK LBRR)
 * and concealment go through the same SILK state.
 *
 * Anything else (CELT-only, stereo, 10/40/60 ms or multi-frame packets) goes to
 * a full libopus decoder at 16 kHz; when the stream moves between the two, the
 * decoder taking over starts from a reset state (a stream that changes mode
 * mid-call loses the transition's smoothing, nothing more).
 */
/* libopus's internal headers refuse -ffast-math (the addon's DSP kernels use it); this file does no floating point. */
#undef __FAST_MATH__
#include <node_api.h>
#include <opus.h>
#include <stdlib.h>
#include <string.h>
#include "API.h"
#include "entdec.h"
#include "speech_decoder.h"

#define RATE 16000
#define FRAME 320 /* 20 ms at 16 kHz */

enum { PATH_NONE, PATH_SILK, PATH_FULL };

typedef struct {
  OpusDecoder* full;
  void* silk;
  silk_DecControlStruct ctl;
  int path; /* which decoder played the previous frame */
} SpeechDecoder;

static void speech_decoder_free(SpeechDecoder* d) {
  if (d == NULL) return;
  if (d->full) opus_decoder_destroy(d->full);
  free(d->silk);
  free(d);
}

static SpeechDecoder* speech_decoder_create(void) {
  SpeechDecoder* d = calloc(1, sizeof(SpeechDecoder));
  if (d == NULL) return NULL;
  int size = 0;
  if (silk_Get_Decoder_Size(&size) != 0 || (d->silk = malloc((size_t)size)) == NULL || silk_InitDecoder(d->silk) != 0) {
    speech_decoder_free(d);
    return NULL;
  }
  d->ctl.nChannelsAPI = 1;
  d->ctl.nChannelsInternal = 1;
  d->ctl.API_sampleRate = RATE;
  d->ctl.internalSampleRate = RATE;
  d->ctl.payloadSize_ms = 20;
  return d;
}

/* The SILK internal rate of a packet the SILK path takes, or 0 for one it leaves to libopus. */
static int silk_rate(const unsigned char* pkt, int len) {
  if (len < 2 || len > 1276) return 0; /* libopus validates (and refuses) a longer frame */
  int toc = pkt[0], config = toc >> 3;
  if ((toc & 4) != 0 || (toc & 3) != 0) return 0; /* stereo, or more than one frame */
  if (config < 12) {
    if ((config & 3) != 1) return 0; /* SILK-only, not 20 ms */
    return config < 4 ? 8000 : config < 8 ? 12000 : 16000;
  }
  if (config < 16) return (config & 1) == 1 ? 16000 : 0; /* hybrid 20 ms: SILK at 16 kHz */
  return 0; /* CELT-only */
}

/* Moves the stream to `path`, resetting the decoder that takes over; 0, or an opus error. */
static int switch_path(SpeechDecoder* d, int path) {
  if (d->path == path) return 0;
  if (path == PATH_FULL && d->full == NULL) {
    /* Created on first use: most speech never needs it (18 KB, against 8.6 KB of SILK state). */
    int err;
    d->full = opus_decoder_create(RATE, 1, &err);
    if (d->full == NULL) return err != OPUS_OK ? err : OPUS_ALLOC_FAIL;
  } else if (d->path != PATH_NONE) {
    if (path == PATH_SILK) silk_InitDecoder(d->silk);
    else opus_decoder_ctl(d->full, OPUS_RESET_STATE);
  }
  d->path = path;
  return 0;
}

/* One 20 ms frame into out (FRAME samples): a packet (fec: its LBRR copy of the frame before), or concealment (pkt NULL). */
static int speech_decode(SpeechDecoder* d, const unsigned char* pkt, int len, int16_t* out, int fec) {
  int rate = pkt ? silk_rate(pkt, len) : 0;
  int silk = rate != 0 || (pkt == NULL && d->path == PATH_SILK);
  if (!silk) {
    int rc = switch_path(d, PATH_FULL);
    return rc != 0 ? rc : opus_decode(d->full, pkt, pkt ? len : 0, out, FRAME, fec);
  }
  switch_path(d, PATH_SILK);
  ec_dec dec;
  static unsigned char none[1];
  if (pkt) {
    d->ctl.internalSampleRate = rate;
    ec_dec_init(&dec, (unsigned char*)pkt + 1, (opus_uint32)(len - 1));
  } else {
    ec_dec_init(&dec, none, 0); /* concealment reads no bits */
  }
  opus_int32 n = 0;
  int lost = pkt == NULL ? 1 : fec ? 2 : 0;
  if (silk_Decode(d->silk, &d->ctl, lost, 1, &dec, out, &n, 0) != 0) {
    if (!lost) return OPUS_INTERNAL_ERROR;
    memset(out, 0, FRAME * sizeof(int16_t)); /* as libopus: a failed concealment is silence */
    n = FRAME;
  }
  return (int)n;
}

#define FAIL(msg) do { napi_throw_type_error(env, "MEDIABOT_CODEC_FAILED", msg); return NULL; } while (0)

static void finalize(napi_env env, void* data, void* hint) { (void)env; (void)hint; speech_decoder_free((SpeechDecoder*)data); }

/* createSpeechDecoder() -> external */
static napi_value create(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value ext;
  SpeechDecoder* d = speech_decoder_create();
  if (d == NULL) FAIL("createSpeechDecoder: out of memory");
  if (napi_create_external(env, d, finalize, NULL, &ext) != napi_ok) { speech_decoder_free(d); FAIL("createSpeechDecoder failed"); }
  return ext;
}

/* speechDecode(dec, packet: Uint8Array | null, out: Int16Array (320), fec: 0|1) -> samples, or a negative opus error */
static napi_value decode(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4]; napi_value result; int32_t fec = 0;
  SpeechDecoder* d = NULL; void* out = NULL; size_t out_len = 0; void* pkt = NULL; size_t pkt_len = 0;
  napi_typedarray_type type; napi_value ab; size_t off; bool is_ta = false; napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) FAIL("speechDecode(decoder, packet, out, fec)");
  if (napi_get_value_external(env, argv[0], (void**)&d) != napi_ok || d == NULL) FAIL("speechDecode: not a speech decoder");
  if (napi_is_typedarray(env, argv[2], &is_ta) != napi_ok || !is_ta || napi_get_typedarray_info(env, argv[2], &type, &out_len, &out, &ab, &off) != napi_ok || type != napi_int16_array || out_len < FRAME)
    FAIL("speechDecode: out must be an Int16Array of 320 samples");
  if (napi_typeof(env, argv[1], &t) != napi_ok) FAIL("speechDecode: bad packet");
  if (t != napi_null && t != napi_undefined) {
    if (napi_is_typedarray(env, argv[1], &is_ta) != napi_ok || !is_ta || napi_get_typedarray_info(env, argv[1], &type, &pkt_len, &pkt, &ab, &off) != napi_ok || type != napi_uint8_array)
      FAIL("speechDecode: packet must be a Uint8Array or null");
  }
  if (argc >= 4) napi_get_value_int32(env, argv[3], &fec);
  /* An empty packet, or a TOC byte alone (DTX), carries no frame: conceal, as opus_decode does. */
  int n = speech_decode(d, pkt_len > 1 ? (const unsigned char*)pkt : NULL, (int)pkt_len, (int16_t*)out, fec ? 1 : 0);
  napi_create_int32(env, n, &result);
  return result;
}

/* speechDecoderReset(dec) */
static napi_value reset(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; SpeechDecoder* d = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_external(env, argv[0], (void**)&d) != napi_ok || d == NULL)
    FAIL("speechDecoderReset(decoder)");
  silk_InitDecoder(d->silk);
  if (d->full) opus_decoder_ctl(d->full, OPUS_RESET_STATE);
  d->path = PATH_NONE;
  return NULL;
}

void register_speech_decoder(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "createSpeechDecoder", NULL, create, NULL, NULL, NULL, napi_default, NULL },
    { "speechDecode", NULL, decode, NULL, NULL, NULL, napi_default, NULL },
    { "speechDecoderReset", NULL, reset, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
