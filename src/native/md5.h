#pragma once

#include <napi.h>

namespace shardline {

Napi::Value Md5Many(const Napi::CallbackInfo& info);

}  // namespace shardline
