// shardline's mappings: mmap, munmap, msync and madvise for JavaScript.
//
// Written against V8 and Node directly, not Node-API, for one reason: an ArrayBuffer made by
// Node-API over external memory has a deleter, and V8 counts such a buffer's whole length as
// memory the heap keeps alive, collecting garbage as that grows. A shard maps its active segment
// at its full size (128 MiB by default), so a thousand shards looked like 128 GB and the heap was
// marked hundreds of times while they opened. A mapping's pages belong to the page cache, not
// the heap, so its buffer is made with V8's empty deleter, which V8 does not count.
//
// unmap() calls munmap and then detaches the ArrayBuffer, so every view of it (Buffer, DataView,
// typed array) reads as empty and throws on access instead of touching unmapped memory. A mapping
// never unmapped explicitly is unmapped when its buffer is garbage-collected (a weak handle), or
// when its thread's environment ends (a worker that exits or crashes): never leaked.

#include <node.h>
#include <uv.h>
#include <v8.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <unordered_map>

namespace {

using v8::ArrayBuffer;
using v8::FunctionCallbackInfo;
using v8::Isolate;
using v8::Local;
using v8::Value;

struct Mapping;

// One per Node environment (the main thread and each worker): its live mappings by address.
// Only that environment's thread touches it, so it needs no lock.
struct Mappings {
  std::unordered_map<void*, Mapping*> live;
};

struct Mapping {
  void* address;
  size_t lengthBytes;
  Mappings* owner;
  v8::Global<ArrayBuffer> buffer;
};

// munmap, then forget the mapping: its weak handle no longer fires.
void Release(Mapping* mapping) {
  munmap(mapping->address, mapping->lengthBytes);
  mapping->owner->live.erase(mapping->address);
  mapping->buffer.Reset();
  delete mapping;
}

void OnCollected(const v8::WeakCallbackInfo<Mapping>& info) { Release(info.GetParameter()); }

void OnEnvironmentEnd(void* data) {
  Mappings* mappings = static_cast<Mappings*>(data);
  while (!mappings->live.empty()) Release(mappings->live.begin()->second);
  delete mappings;
}

Mappings* MappingsOf(const FunctionCallbackInfo<Value>& info) {
  return static_cast<Mappings*>(info.Data().As<v8::External>()->Value());
}

void Throw(Isolate* isolate, bool range, const char* message) {
  Local<v8::String> text = v8::String::NewFromUtf8(isolate, message).ToLocalChecked();
  isolate->ThrowException(range ? v8::Exception::RangeError(text) : v8::Exception::TypeError(text));
}

void ThrowErrno(Isolate* isolate, int err, const char* syscall) {
  Local<v8::Context> context = isolate->GetCurrentContext();
  std::string message = std::string(syscall) + " failed: " + uv_strerror(-err);
  Local<v8::Object> error =
      v8::Exception::Error(v8::String::NewFromUtf8(isolate, message.c_str()).ToLocalChecked()).As<v8::Object>();
  auto set = [&](const char* key, Local<Value> value) {
    error->Set(context, v8::String::NewFromUtf8(isolate, key).ToLocalChecked(), value).Check();
  };
  set("code", v8::String::NewFromUtf8(isolate, uv_err_name(-err)).ToLocalChecked());
  set("errno", v8::Number::New(isolate, -err));
  set("syscall", v8::String::NewFromUtf8(isolate, syscall).ToLocalChecked());
  isolate->ThrowException(error);
}

bool ReadInteger(const FunctionCallbackInfo<Value>& info, int index, int64_t min, int64_t* out) {
  if (info.Length() <= index || !info[index]->IsNumber()) return false;
  double value = info[index].As<v8::Number>()->Value();
  if (!std::isfinite(value) || value != std::trunc(value) || value < static_cast<double>(min) || value > 9.0e15) return false;
  *out = static_cast<int64_t>(value);
  return true;
}

// map(fd, lengthBytes, writable) -> ArrayBuffer over bytes [0, lengthBytes) of the file.
void Map(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  int64_t fd, lengthBytes;
  if (!ReadInteger(info, 0, 0, &fd) || !ReadInteger(info, 1, 1, &lengthBytes) || info.Length() < 3 || !info[2]->IsBoolean()) {
    Throw(isolate, false, "map(fd, lengthBytes >= 1, writable)");
    return;
  }
  int protection = PROT_READ | (info[2]->IsTrue() ? PROT_WRITE : 0);
  void* address = mmap(nullptr, static_cast<size_t>(lengthBytes), protection, MAP_SHARED, static_cast<int>(fd), 0);
  if (address == MAP_FAILED) {
    ThrowErrno(isolate, errno, "mmap");
    return;
  }
  std::unique_ptr<v8::BackingStore> store =
      ArrayBuffer::NewBackingStore(address, static_cast<size_t>(lengthBytes), v8::BackingStore::EmptyDeleter, nullptr);
  Local<ArrayBuffer> buffer = ArrayBuffer::New(isolate, std::move(store));
  Mappings* mappings = MappingsOf(info);
  Mapping* mapping = new Mapping{address, static_cast<size_t>(lengthBytes), mappings, v8::Global<ArrayBuffer>(isolate, buffer)};
  mapping->buffer.SetWeak(mapping, OnCollected, v8::WeakCallbackType::kParameter);
  mappings->live[address] = mapping;
  info.GetReturnValue().Set(buffer);
}

// unmap(arrayBuffer): munmap, then detach so that stale views fail safely. Idempotent.
void Unmap(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  if (info.Length() < 1 || !info[0]->IsArrayBuffer()) {
    Throw(isolate, false, "unmap(arrayBuffer)");
    return;
  }
  Local<ArrayBuffer> buffer = info[0].As<ArrayBuffer>();
  if (buffer->Data() == nullptr || buffer->ByteLength() == 0) return;  // already detached
  Mappings* mappings = MappingsOf(info);
  auto it = mappings->live.find(buffer->Data());
  if (it == mappings->live.end()) {
    Throw(isolate, false, "unmap: not a live mapping");
    return;
  }
  Release(it->second);
  buffer->Detach(Local<Value>()).Check();
}

// Reads (mapping, offsetBytes, lengthBytes) and checks the range lies inside the mapping and
// starts on a page boundary, as msync and madvise require.
bool ReadRange(const FunctionCallbackInfo<Value>& info, char** start, size_t* lengthBytes) {
  int64_t offset, length;
  if (info.Length() < 1 || !info[0]->IsArrayBuffer() || !ReadInteger(info, 1, 0, &offset) || !ReadInteger(info, 2, 0, &length)) {
    return false;
  }
  Local<ArrayBuffer> buffer = info[0].As<ArrayBuffer>();
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
void Msync(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  char* start;
  size_t lengthBytes;
  if (!ReadRange(info, &start, &lengthBytes) || info.Length() < 4 || !info[3]->IsBoolean()) {
    Throw(isolate, true, "msync(liveMapping, pageAlignedOffset, length, synchronous)");
    return;
  }
  int flags = info[3]->IsTrue() ? MS_SYNC : MS_ASYNC;
  if (lengthBytes > 0 && msync(start, lengthBytes, flags) != 0) ThrowErrno(isolate, errno, "msync");
}

// madvise(mapping, offsetBytes, lengthBytes, advice)
void Madvise(const FunctionCallbackInfo<Value>& info) {
  Isolate* isolate = info.GetIsolate();
  char* start;
  size_t lengthBytes;
  int64_t advice;
  if (!ReadRange(info, &start, &lengthBytes) || !ReadInteger(info, 3, 0, &advice)) {
    Throw(isolate, true, "madvise(liveMapping, pageAlignedOffset, length, advice)");
    return;
  }
  if (lengthBytes > 0 && madvise(start, lengthBytes, static_cast<int>(advice)) != 0) ThrowErrno(isolate, errno, "madvise");
}

void SetNumber(Isolate* isolate, Local<v8::Object> target, const char* key, double value) {
  target->Set(isolate->GetCurrentContext(), v8::String::NewFromUtf8(isolate, key).ToLocalChecked(), v8::Number::New(isolate, value))
      .Check();
}

void SetFunction(Isolate* isolate, Local<v8::Object> target, const char* key, v8::FunctionCallback call, Local<Value> data) {
  Local<v8::Context> context = isolate->GetCurrentContext();
  Local<v8::Function> function = v8::Function::New(context, call, data).ToLocalChecked();
  target->Set(context, v8::String::NewFromUtf8(isolate, key).ToLocalChecked(), function).Check();
}

}  // namespace

// Context-aware: each worker thread loads its own instance with its own Mappings.
NODE_MODULE_INIT() {
  Isolate* isolate = context->GetIsolate();
  Mappings* mappings = new Mappings();
  node::AddEnvironmentCleanupHook(isolate, OnEnvironmentEnd, mappings);
  Local<Value> data = v8::External::New(isolate, mappings);
  SetFunction(isolate, exports, "map", Map, data);
  SetFunction(isolate, exports, "unmap", Unmap, data);
  SetFunction(isolate, exports, "msync", Msync, data);
  SetFunction(isolate, exports, "madvise", Madvise, data);
  SetNumber(isolate, exports, "pageBytes", static_cast<double>(sysconf(_SC_PAGESIZE)));
  Local<v8::Object> advice = v8::Object::New(isolate);
  SetNumber(isolate, advice, "NORMAL", MADV_NORMAL);
  SetNumber(isolate, advice, "RANDOM", MADV_RANDOM);
  SetNumber(isolate, advice, "SEQUENTIAL", MADV_SEQUENTIAL);
  SetNumber(isolate, advice, "WILLNEED", MADV_WILLNEED);
  SetNumber(isolate, advice, "DONTNEED", MADV_DONTNEED);
  exports->Set(context, v8::String::NewFromUtf8(isolate, "advice").ToLocalChecked(), advice).Check();
}
