/*
 * mediabot's native kernels: a minimal N-API binding to libopus and DSP
 * kernels for the media core's hot path. The TypeScript code has a fallback
 * for everything here (src/media/core/native.ts).
 *
 * Codec: *
 * @discordjs/opus allocates a new Buffer per call, cannot decode in-band FEC and
 * conceals 120 ms at a time. This binding decodes and encodes into caller-owned
 * typed arrays, exposes decode_fec and exact one-frame PLC. It links the libopus
 * that @discordjs/opus already builds, so it needs no system library.
 */
#include <node_api.h>
#include <opus.h>
#include <string.h>
#include <math.h>
#include <stdint.h>
#include <time.h>
#include "speech_decoder.h"
#ifdef MEDIABOT_BATCHED_UDP
#include "batched_udp.h"
#endif

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, "MEDIABOT_CODEC_FAILED", #call " failed"); return NULL; } } while (0)

static void finalize_decoder(napi_env env, void* data, void* hint) { (void)env; (void)hint; opus_decoder_destroy((OpusDecoder*)data); }
static void finalize_encoder(napi_env env, void* data, void* hint) { (void)env; (void)hint; opus_encoder_destroy((OpusEncoder*)data); }

static int get_i32(napi_env env, napi_value v, int32_t* out) { return napi_get_value_int32(env, v, out) == napi_ok; }

static void* get_external(napi_env env, napi_value v) {
  void* p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* len) {
  bool is_ta = false;
  napi_typedarray_type type; napi_value ab; size_t off;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok) return 0;
  return type == want;
}

/* createDecoder(rate, channels) -> external */
static napi_value create_decoder(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int32_t rate, ch; int err; napi_value ext;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_i32(env, argv[0], &rate) || !get_i32(env, argv[1], &ch)) { napi_throw_type_error(env, "MEDIABOT_CODEC_FAILED", "createDecoder(rate, channels)"); return NULL; }
  OpusDecoder* dec = opus_decoder_create(rate, ch, &err);
  if (err != OPUS_OK || dec == NULL) { napi_throw_error(env, "MEDIABOT_CODEC_FAILED", opus_strerror(err)); return NULL; }
  CHECK(napi_create_external(env, dec, finalize_decoder, NULL, &ext));
  return ext;
}

/* decode(dec, packet: Uint8Array | null, out: Int16Array, fec: 0|1) -> samples, or a negative opus error */
static napi_value decode(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4]; napi_value result; int32_t fec = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  OpusDecoder* dec = argc >= 3 ? (OpusDecoder*)get_external(env, argv[0]) : NULL;
  void* out; size_t out_len; void* pkt = NULL; size_t pkt_len = 0;
  if (dec == NULL || !get_typed(env, argv[2], napi_int16_array, &out, &out_len)) { napi_throw_type_error(env, "MEDIABOT_CODEC_FAILED", "decode(decoder, packet, out: Int16Array, fec)"); return NULL; }
  napi_valuetype t; CHECK(napi_typeof(env, argv[1], &t));
  if (t != napi_null && t != napi_undefined) {
    if (!get_typed(env, argv[1], napi_uint8_array, &pkt, &pkt_len)) { napi_throw_type_error(env, "MEDIABOT_CODEC_FAILED", "packet must be a Uint8Array or null"); return NULL; }
  }
  if (argc >= 4) get_i32(env, argv[3], &fec);
  int n = opus_decode(dec, pkt_len ? (const unsigned char*)pkt : NULL, (opus_int32)pkt_len, (opus_int16*)out, (int)out_len, fec ? 1 : 0);
  CHECK(napi_create_int32(env, n, &result));
  return result;
}

/* decoderReset(dec) */
static napi_value decoder_reset(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  OpusDecoder* dec = argc >= 1 ? (OpusDecoder*)get_external(env, argv[0]) : NULL;
  if (dec) opus_decoder_ctl(dec, OPUS_RESET_STATE);
  return NULL;
}

/* createEncoder(rate, channels, application) -> external */
static napi_value create_encoder(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3]; int32_t rate, ch, app; int err; napi_value ext;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !get_i32(env, argv[0], &rate) || !get_i32(env, argv[1], &ch) || !get_i32(env, argv[2], &app)) { napi_throw_type_error(env, "MEDIABOT_CODEC_FAILED", "createEncoder(rate, channels, application)"); return NULL; }
  OpusEncoder* enc = opus_encoder_create(rate, ch, app, &err);
  if (err != OPUS_OK || enc == NULL) { napi_throw_error(env, "MEDIABOT_CODEC_FAILED", opus_strerror(err)); return NULL; }
  CHECK(napi_create_external(env, enc, finalize_encoder, NULL, &ext));
  return ext;
}

/* encode(enc, pcm: Int16Array, out: Uint8Array) -> bytes, or a negative opus error */
static napi_value encode(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3]; napi_value result; void* pcm; size_t pcm_len; void* out; size_t out_len;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  OpusEncoder* enc = argc >= 3 ? (OpusEncoder*)get_external(env, argv[0]) : NULL;
  if (enc == NULL || !get_typed(env, argv[1], napi_int16_array, &pcm, &pcm_len) || !get_typed(env, argv[2], napi_uint8_array, &out, &out_len)) {
    napi_throw_type_error(env, "MEDIABOT_CODEC_FAILED", "encode(encoder, pcm: Int16Array, out: Uint8Array)"); return NULL;
  }
  int n = opus_encode(enc, (const opus_int16*)pcm, (int)pcm_len, (unsigned char*)out, (opus_int32)out_len);
  CHECK(napi_create_int32(env, n, &result));
  return result;
}

/* encoderCtl(enc, request, value) -> opus error code (0 = OK); only integer SET requests */
static napi_value encoder_ctl(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3]; napi_value result; int32_t req, val;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  OpusEncoder* enc = argc >= 3 ? (OpusEncoder*)get_external(env, argv[0]) : NULL;
  if (enc == NULL || !get_i32(env, argv[1], &req) || !get_i32(env, argv[2], &val)) { napi_throw_type_error(env, "MEDIABOT_CODEC_FAILED", "encoderCtl(encoder, request, value)"); return NULL; }
  int rc;
  switch (req) {
    case OPUS_SET_BITRATE_REQUEST: rc = opus_encoder_ctl(enc, OPUS_SET_BITRATE(val)); break;
    case OPUS_SET_COMPLEXITY_REQUEST: rc = opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(val)); break;
    case OPUS_SET_INBAND_FEC_REQUEST: rc = opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(val)); break;
    case OPUS_SET_PACKET_LOSS_PERC_REQUEST: rc = opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(val)); break;
    case OPUS_SET_DTX_REQUEST: rc = opus_encoder_ctl(enc, OPUS_SET_DTX(val)); break;
    case OPUS_SET_SIGNAL_REQUEST: rc = opus_encoder_ctl(enc, OPUS_SET_SIGNAL(val)); break;
    case OPUS_SET_VBR_REQUEST: rc = opus_encoder_ctl(enc, OPUS_SET_VBR(val)); break;
    default: rc = OPUS_UNIMPLEMENTED;
  }
  CHECK(napi_create_int32(env, rc, &result));
  return result;
}

/*
 * The DSP kernels are compiled twice (AVX2 and baseline x86-64) and the loader
 * picks the one the CPU runs (GCC function multi-versioning), so the binary
 * stays portable.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define MULTIVERSION
#endif

MULTIVERSION
static void fir_decimate3_kernel(float* buf, const float* taps, size_t tl, const int16_t* x, size_t il, int16_t* y, size_t ol) {
  size_t h = tl - 1;
  for (size_t i = 0; i < il; i++) buf[h + i] = (float)x[i];
  for (size_t n = 0; n < ol; n++) {
    const float* s = buf + n * 3 + 2;
    float acc = 0.f;
    for (size_t k = 0; k < tl; k++) acc += taps[k] * s[k];
    long r = lrintf(acc);
    y[n] = (int16_t)(r > 32767 ? 32767 : r < -32768 ? -32768 : r);
  }
  memmove(buf, buf + il, h * sizeof(float));
}

MULTIVERSION
static void mix_add_kernel(float* sum, const int16_t* x, size_t n) {
  for (size_t i = 0; i < n; i++) sum[i] += (float)x[i];
}

/* mixAdd(sum: Float32Array, pcm: Int16Array): sum += pcm, for the mixer's accumulation. */
static napi_value mix_add(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; void *sp, *xp; size_t sl, xl;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_typed(env, argv[0], napi_float32_array, &sp, &sl) || !get_typed(env, argv[1], napi_int16_array, &xp, &xl) || xl < sl) {
    napi_throw_type_error(env, "MEDIABOT_NATIVE_ARGS", "mixAdd(sum: Float32Array, pcm: Int16Array)"); return NULL;
  }
  mix_add_kernel((float*)sp, (const int16_t*)xp, sl);
  return NULL;
}

/*
 * firDecimate3(buf: Float32Array, taps: Float32Array, input: Int16Array, out: Int16Array)
 * A linear-phase FIR low-pass evaluated at every third sample. `buf` holds the
 * filter history (taps - 1 samples) followed by room for the input frame; the
 * history is shifted in place. Same algorithm as the TypeScript fallback.
 */
static napi_value fir_decimate3(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4]; void *b, *t, *in, *o; size_t bl, tl, il, ol;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || !get_typed(env, argv[0], napi_float32_array, &b, &bl) || !get_typed(env, argv[1], napi_float32_array, &t, &tl) ||
      !get_typed(env, argv[2], napi_int16_array, &in, &il) || !get_typed(env, argv[3], napi_int16_array, &o, &ol) ||
      tl < 2 || bl != tl - 1 + il || ol * 3 != il) {
    napi_throw_type_error(env, "MEDIABOT_NATIVE_ARGS", "firDecimate3(buf, taps, input, out): sizes do not match"); return NULL;
  }
  fir_decimate3_kernel((float*)b, (const float*)t, tl, (const int16_t*)in, il, (int16_t*)o, ol);
  return NULL;
}

/*
 * levelCentiDbov(pcm: Int16Array) -> int: the frame level in hundredths of dBov
 * (-12700 for digital silence). An integer result is a small integer in V8, so
 * the call allocates nothing (a double result would box a HeapNumber).
 */
static napi_value level_centi_dbov(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; napi_value result; void* p; size_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_typed(env, argv[0], napi_int16_array, &p, &n)) { napi_throw_type_error(env, "MEDIABOT_NATIVE_ARGS", "levelCentiDbov(pcm: Int16Array)"); return NULL; }
  const int16_t* x = (const int16_t*)p; int64_t sum = 0;
  for (size_t i = 0; i < n; i++) sum += (int32_t)x[i] * (int32_t)x[i];
  int32_t centi = -12700;
  if (sum > 0 && n > 0) {
    double db = 10.0 * log10((double)sum / (double)n / (32768.0 * 32768.0));
    centi = db < -127.0 ? -12700 : (int32_t)lrint(db * 100.0);
  }
  CHECK(napi_create_int32(env, centi, &result));
  return result;
}

/*
 * stampUs(out: Float64Array, index: int): out[index] = a monotonic clock in
 * microseconds. Written into the caller's array rather than returned, because
 * a returned double would box a HeapNumber on every call (performance.now()
 * allocates too), and the pipeline stamps its stages five times per tick.
 */
static napi_value stamp_us(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; void* p; size_t n; int32_t i;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !get_typed(env, argv[0], napi_float64_array, &p, &n) || !get_i32(env, argv[1], &i) || i < 0 || (size_t)i >= n) {
    napi_throw_type_error(env, "MEDIABOT_NATIVE_ARGS", "stampUs(out: Float64Array, index)"); return NULL;
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ((double*)p)[i] = (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "createDecoder", NULL, create_decoder, NULL, NULL, NULL, napi_default, NULL },
    { "decode", NULL, decode, NULL, NULL, NULL, napi_default, NULL },
    { "decoderReset", NULL, decoder_reset, NULL, NULL, NULL, napi_default, NULL },
    { "createEncoder", NULL, create_encoder, NULL, NULL, NULL, napi_default, NULL },
    { "encode", NULL, encode, NULL, NULL, NULL, napi_default, NULL },
    { "encoderCtl", NULL, encoder_ctl, NULL, NULL, NULL, napi_default, NULL },
    { "firDecimate3", NULL, fir_decimate3, NULL, NULL, NULL, napi_default, NULL },
    { "mixAdd", NULL, mix_add, NULL, NULL, NULL, napi_default, NULL },
    { "levelCentiDbov", NULL, level_centi_dbov, NULL, NULL, NULL, napi_default, NULL },
    { "stampUs", NULL, stamp_us, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  register_speech_decoder(env, exports);
#ifdef MEDIABOT_BATCHED_UDP
  register_batched_udp(env, exports);
#endif
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
