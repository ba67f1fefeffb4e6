// md5Many: the MD5 digests of many short byte strings in one call.
//
// Kinesis routes a record by the MD5 of its partition key. node:crypto costs ~1-2 us per key
// here, almost all of it the JavaScript <-> C++ crossing and the hash object; the digest of a
// 20-byte key is ~0.1 us. So the engine packs a whole request's keys into one buffer and hashes
// them in one crossing. The hash itself is OpenSSL's, which Node links and exports to addons.

#include "md5.h"

// OpenSSL 3 marks the one-shot MD5() deprecated in favour of EVP, whose per-call setup costs
// more than hashing a short key.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <openssl/md5.h>

#include <cstdint>

namespace shardline {

namespace {

bool IsTyped(const Napi::Value& value, napi_typedarray_type type) {
  return value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == type;
}

}  // namespace


// md5Many(bytes: Uint8Array, starts: Uint32Array, ends: Uint32Array, out: Uint32Array): key i is
// bytes [starts[i], ends[i]); its digest, read as a big-endian 128-bit number (Kinesis' hash
// key), goes to out[4 i .. 4 i + 3] as four 32-bit words, most significant first: the form the
// router compares. The keys may lie anywhere in `bytes`, so the engine hashes them where it
// encoded them, inside the records.
Napi::Value Md5Many(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "md5Many(bytes: Uint8Array, starts: Uint32Array, ends: Uint32Array, out: Uint32Array)";
  if (info.Length() < 4 || !IsTyped(info[0], napi_uint8_array) || !IsTyped(info[1], napi_uint32_array) ||
      !IsTyped(info[2], napi_uint32_array) || !IsTyped(info[3], napi_uint32_array)) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  Napi::Uint32Array starts = info[1].As<Napi::Uint32Array>();
  Napi::Uint32Array ends = info[2].As<Napi::Uint32Array>();
  Napi::Uint32Array out = info[3].As<Napi::Uint32Array>();
  size_t count = starts.ElementLength();
  if (ends.ElementLength() < count || out.ElementLength() < count * 4) {
    Napi::RangeError::New(env, "md5Many: ends and out (4 words a key) must cover every start").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  for (size_t i = 0; i < count; i++) {
    if (starts[i] > ends[i] || ends[i] > bytes.ElementLength()) {
      Napi::RangeError::New(env, "md5Many: every key must lie within bytes").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint8_t digest[MD5_DIGEST_LENGTH];
    MD5(bytes.Data() + starts[i], ends[i] - starts[i], digest);
    for (size_t w = 0; w < 4; w++) {
      const uint8_t* d = digest + 4 * w;
      out[4 * i + w] = (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) | (uint32_t{d[2]} << 8) | uint32_t{d[3]};
    }
  }
  return env.Undefined();
}

}  // namespace shardline

#pragma GCC diagnostic pop
