// iwpl_stdio.node: dup/dup2 for Node (which has neither), so src/backend/quiet-load.ts can point
// fd 2 at /dev/null while libtensorflow prints its load banner, whatever stderr is (a socket too).
// Built by scripts/setup-native.sh next to the tfjs-node binding (N-API 8, no node-gyp needed).
#include <node_api.h>
#include <unistd.h>

static int32_t arg(napi_env env, napi_value* argv, size_t i) {
  int32_t v = -1;
  napi_get_value_int32(env, argv[i], &v);
  return v;
}

static napi_value result(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

// dup(fd) -> new fd, or -1
static napi_value Dup(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return result(env, argc < 1 ? -1 : dup(arg(env, argv, 0)));
}

// dup2(from, to) -> to, or -1
static napi_value Dup2(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return result(env, argc < 2 ? -1 : dup2(arg(env, argv, 0), arg(env, argv, 1)));
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"dup", nullptr, Dup, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"dup2", nullptr, Dup2, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}
