// shardline's native addon (Node-API): the system calls Node does not expose, but for the
// mappings (mapping.cc, which needs V8's own API), and MD5 of many keys in one call (md5.cc).

#include <napi.h>
#include <uv.h>

#include "md5.h"

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <unistd.h>

namespace {

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall) {
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + " failed: " + uv_strerror(-err));
  error.Set("code", Napi::String::New(env, uv_err_name(-err)));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

bool ReadInteger(const Napi::CallbackInfo& info, size_t index, int64_t min, int64_t* out) {
  if (info.Length() <= index || !info[index].IsNumber()) return false;
  double value = info[index].As<Napi::Number>().DoubleValue();
  if (value != static_cast<double>(static_cast<int64_t>(value)) || value < min) return false;
  *out = static_cast<int64_t>(value);
  return true;
}

// fallocate(fd, offsetBytes, lengthBytes): allocates blocks and extends the file size, so that
// later writes and fdatasyncs inside the range need no block allocation or size change.
// Falls back to posix_fallocate (which writes zeros) where the file system lacks fallocate.
Napi::Value Fallocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, offset, lengthBytes;
  if (!ReadInteger(info, 0, 0, &fd) || !ReadInteger(info, 1, 0, &offset) || !ReadInteger(info, 2, 1, &lengthBytes)) {
    Napi::TypeError::New(env, "fallocate(fd, offset, lengthBytes >= 1)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (fallocate(static_cast<int>(fd), 0, offset, lengthBytes) == 0) return env.Undefined();
  if (errno != EOPNOTSUPP) return ThrowErrno(env, errno, "fallocate");
  int err = posix_fallocate(static_cast<int>(fd), offset, lengthBytes);
  if (err != 0) return ThrowErrno(env, err, "posix_fallocate");
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("fallocate", Napi::Function::New(env, Fallocate));
  exports.Set("md5Many", Napi::Function::New(env, shardline::Md5Many));
  return exports;
}

}  // namespace

NODE_API_MODULE(shardline_native, Init)
