{
  "targets": [
    {
      "target_name": "shardline_native",
      "sources": ["src/native/addon.cc", "src/native/md5.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "shardline_mapping",
      "sources": ["src/native/mapping.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-cast-function-type"]
    }
  ]
}
