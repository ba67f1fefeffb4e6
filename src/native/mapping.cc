// shardline's native addon: the few system calls Node does not expose.
//
// A mapping is handed to JavaScript as an external ArrayBuffer. unmap() calls munmap and then
// detaches the ArrayBuffer, so every view of it (Buffer, DataView, typed array) reads as empty
// and throws on access instead of touching unmapped memory. A mapping that is never unmapped
// explicitly is unmapped by the ArrayBuffer's finalizer when it is garbage-collected.
//
// The registry below exists because the finalizer runs long after an explicit unmap, when the
// kernel may have reused the same address for a newer mapping: each mapping gets a unique
// generation number and the finalizer only unmaps the address if it still belongs to that
// generation. It is shared by every thread of the process (workers map files too), hence the mutex.

#include <napi.h>
#include <uv.h>

#include "md5.h"

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>
#include <unordered_map>

namespace {

struct Registry {
  std::mutex mutex;
  std::unordered_map<uintptr_t, uint64_t> generationByAddress;
  uint64_t nextGeneration = 1;
};

Registry& registry() {
  static Registry* instance = new Registry();  // never destroyed: finalizers may run at exit
  return *instance;
}

struct MappingHint {
  uint64_t generation;
  size_t lengthBytes;
};

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

// Removes the mapping from the registry and unmaps it if it is still the given generation.
void ReleaseMapping(void* address, uint64_t generation, size_t lengthBytes) {
  Registry& reg = registry();
  std::lock_guard<std::mutex> lock(reg.mutex);
  auto it = reg.generationByAddress.find(reinterpret_cast<uintptr_t>(address));
  if (it == reg.generationByAddress.end() || it->second != generation) return;
  reg.generationByAddress.erase(it);
  munmap(address, lengthBytes);
}

void FinalizeMapping(Napi::Env, void* address, MappingHint* hint) {
  ReleaseMapping(address, hint->generation, hint->lengthBytes);
  delete hint;
}

// map(fd, lengthBytes, writable) -> ArrayBuffer over bytes [0, lengthBytes) of the file.
Napi::Value Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t fd, lengthBytes;
  if (!ReadInteger(info, 0, 0, &fd) || !ReadInteger(info, 1, 1, &lengthBytes) ||
      info.Length() < 3 || !info[2].IsBoolean()) {
    Napi::TypeError::New(env, "map(fd, lengthBytes >= 1, writable)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  bool writable = info[2].As<Napi::Boolean>().Value();
  int protection = PROT_READ | (writable ? PROT_WRITE : 0);
  void* address = mmap(nullptr, static_cast<size_t>(lengthBytes), protection, MAP_SHARED,
                       static_cast<int>(fd), 0);
  if (address == MAP_FAILED) return ThrowErrno(env, errno, "mmap");

  MappingHint* hint = new MappingHint{0, static_cast<size_t>(lengthBytes)};
  {
    Registry& reg = registry();
    std::lock_guard<std::mutex> lock(reg.mutex);
    hint->generation = reg.nextGeneration++;
    reg.generationByAddress[reinterpret_cast<uintptr_t>(address)] = hint->generation;
  }
  return Napi::ArrayBuffer::New(env, address, static_cast<size_t>(lengthBytes), FinalizeMapping, hint);
}

bool ReadMapping(const Napi::CallbackInfo& info, Napi::ArrayBuffer* out) {
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) return false;
  *out = info[0].As<Napi::ArrayBuffer>();
  return true;
}

// unmap(arrayBuffer): munmap, then detach so that stale views fail safely. Idempotent.
Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer buffer;
  if (!ReadMapping(info, &buffer)) {
    Napi::TypeError::New(env, "unmap(arrayBuffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  void* address = buffer.Data();
  size_t lengthBytes = buffer.ByteLength();
  if (address == nullptr || lengthBytes == 0) return env.Undefined();  // already detached
  {
    Registry& reg = registry();
    std::lock_guard<std::mutex> lock(reg.mutex);
    auto it = reg.generationByAddress.find(reinterpret_cast<uintptr_t>(address));
    if (it == reg.generationByAddress.end()) {
      Napi::TypeError::New(env, "unmap: not a live mapping").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    reg.generationByAddress.erase(it);
    if (munmap(address, lengthBytes) != 0) return ThrowErrno(env, errno, "munmap");
  }
  buffer.Detach();
  return env.Undefined();
}

// Reads (mapping, offsetBytes, lengthBytes) and checks the range lies inside the mapping and
// starts on a page boundary, as msync and madvise require.
bool ReadRange(const Napi::CallbackInfo& info, Napi::ArrayBuffer* buffer, char** start, size_t* lengthBytes) {
  int64_t offset, length;
  if (!ReadMapping(info, buffer) || !ReadInteger(info, 1, 0, &offset) || !ReadInteger(info, 2, 0, &length)) {
    return false;
  }
  size_t total = buffer->ByteLength();
  long pageBytes = sysconf(_SC_PAGESIZE);
  if (total == 0 || offset % pageBytes != 0 || static_cast<size_t>(offset) > total ||
      static_cast<size_t>(length) > total - static_cast<size_t>(offset)) {
    return false;
  }
  *start = static_cast<char*>(buffer->Data()) + offset;
  *lengthBytes = static_cast<size_t>(length);
  return true;
}

// msync(mapping, offsetBytes, lengthBytes, synchronous)
Napi::Value Msync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer buffer;
  char* start;
  size_t lengthBytes;
  if (!ReadRange(info, &buffer, &start, &lengthBytes) || info.Length() < 4 || !info[3].IsBoolean()) {
    Napi::RangeError::New(env, "msync(liveMapping, pageAlignedOffset, length, synchronous)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int flags = info[3].As<Napi::Boolean>().Value() ? MS_SYNC : MS_ASYNC;
  if (lengthBytes > 0 && msync(start, lengthBytes, flags) != 0) return ThrowErrno(env, errno, "msync");
  return env.Undefined();
}

// madvise(mapping, offsetBytes, lengthBytes, advice)
Napi::Value Madvise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer buffer;
  char* start;
  size_t lengthBytes;
  int64_t advice;
  if (!ReadRange(info, &buffer, &start, &lengthBytes) || !ReadInteger(info, 3, 0, &advice)) {
    Napi::RangeError::New(env, "madvise(liveMapping, pageAlignedOffset, length, advice)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (lengthBytes > 0 && madvise(start, lengthBytes, static_cast<int>(advice)) != 0) {
    return ThrowErrno(env, errno, "madvise");
  }
  return env.Undefined();
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
  exports.Set("map", Napi::Function::New(env, Map));
  exports.Set("unmap", Napi::Function::New(env, Unmap));
  exports.Set("msync", Napi::Function::New(env, Msync));
  exports.Set("madvise", Napi::Function::New(env, Madvise));
  exports.Set("fallocate", Napi::Function::New(env, Fallocate));
  exports.Set("md5Many", Napi::Function::New(env, shardline::Md5Many));
  exports.Set("pageBytes", Napi::Number::New(env, static_cast<double>(sysconf(_SC_PAGESIZE))));
  Napi::Object advice = Napi::Object::New(env);
  advice.Set("NORMAL", Napi::Number::New(env, MADV_NORMAL));
  advice.Set("RANDOM", Napi::Number::New(env, MADV_RANDOM));
  advice.Set("SEQUENTIAL", Napi::Number::New(env, MADV_SEQUENTIAL));
  advice.Set("WILLNEED", Napi::Number::New(env, MADV_WILLNEED));
  advice.Set("DONTNEED", Napi::Number::New(env, MADV_DONTNEED));
  exports.Set("advice", advice);
  return exports;
}

}  // namespace

NODE_API_MODULE(shardline_native, Init)
