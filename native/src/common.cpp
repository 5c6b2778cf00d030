// Error recording, mode guard, counters and enum conversions.
#include "common.h"
#include "compat.h"

#include <cstring>

namespace dd {

std::atomic<int64_t> live[kHandleKinds];
std::atomic<int32_t> num_threads{0};
#ifdef DD_COUNT_CALLS
std::atomic<int64_t> calls{0};
#endif

namespace {
// The count this OS thread last applied. initial-exec: one int of static TLS,
// read on every call, without a __tls_get_addr call.
__attribute__((tls_model("initial-exec"))) thread_local int32_t applied_threads = 0;
}  // namespace

void apply_num_threads() {
  const int32_t wanted = num_threads.load(std::memory_order_relaxed);
  if (wanted > 0 && applied_threads != wanted) {
    at::set_num_threads(wanted);
    applied_threads = wanted;
  }
}

namespace {
void store(dd_ctx* ctx, int32_t status, const char* function, const char* message) noexcept {
  ctx->status = status;
  std::strncpy(ctx->function, function, DD_FUNCTION_LEN - 1);
  ctx->function[DD_FUNCTION_LEN - 1] = '\0';
  std::strncpy(ctx->message, message ? message : "", DD_MESSAGE_LEN - 1);
  ctx->message[DD_MESSAGE_LEN - 1] = '\0';
}
}  // namespace

void record_error(dd_ctx* ctx, const char* function) noexcept {
  if (ctx == nullptr) return;
  try {
    throw;
  } catch (const c10::OutOfMemoryError& e) {
    store(ctx, DD_ERR_OOM, function, e.what_without_backtrace());
  } catch (const c10::Error& e) {
    store(ctx, DD_ERR_TORCH, function, e.what_without_backtrace());
  } catch (const ArgumentError& e) {
    store(ctx, DD_ERR_ARGUMENT, function, e.what());
  } catch (const std::bad_alloc& e) {
    store(ctx, DD_ERR_OOM, function, e.what());
  } catch (const std::exception& e) {
    store(ctx, DD_ERR_STD, function, e.what());
  } catch (...) {
    store(ctx, DD_ERR_UNKNOWN, function, "unknown C++ exception");
  }
}

ModeGuard::ModeGuard(const dd_ctx* ctx) {
  apply_num_threads();
  enter_grad_mode(ctx->grad_mode);
  enter_autocast(ctx->autocast);
}

void ModeGuard::enter_grad_mode(int32_t mode) {
  // A guard is only entered when the thread's mode differs: reading the
  // thread-local mode is cheaper than setting and restoring it on every call.
  switch (static_cast<dd_grad_mode>(mode)) {
    case DD_GRAD_ENABLED:
      if (!at::GradMode::is_enabled()) grad_.emplace(true);
      return;
    case DD_GRAD_DISABLED:
      if (at::GradMode::is_enabled()) grad_.emplace(false);
      return;
    case DD_GRAD_INFERENCE:
      if (!c10::InferenceMode::is_enabled()) inference_.emplace(true);
      return;
  }
  throw unknown_code("grad_mode", mode);
}

void ModeGuard::enter_autocast(int32_t mode) {
  switch (static_cast<dd_autocast>(mode)) {
    case DD_AUTOCAST_OFF: return;
    case DD_AUTOCAST_BFLOAT16: autocast_.emplace(at::kBFloat16); return;
    case DD_AUTOCAST_FLOAT16: autocast_.emplace(at::kHalf); return;
  }
  throw unknown_code("autocast mode", mode);
}

AutocastGuard::AutocastGuard(at::ScalarType dtype)
    : cpu_(compat::autocast_enabled(at::kCPU)),
      cuda_(compat::autocast_enabled(at::kCUDA)),
      cache_(at::autocast::is_autocast_cache_enabled()),
      cpu_dtype_(compat::autocast_dtype(at::kCPU)),
      cuda_dtype_(compat::autocast_dtype(at::kCUDA)) {
  compat::set_autocast_dtype(at::kCPU, dtype);
  compat::set_autocast_dtype(at::kCUDA, dtype);
  compat::set_autocast_enabled(at::kCPU, true);
  compat::set_autocast_enabled(at::kCUDA, true);
  at::autocast::set_autocast_cache_enabled(false);
}

AutocastGuard::~AutocastGuard() {
  at::autocast::set_autocast_cache_enabled(cache_);
  compat::set_autocast_enabled(at::kCUDA, cuda_);
  compat::set_autocast_enabled(at::kCPU, cpu_);
  compat::set_autocast_dtype(at::kCUDA, cuda_dtype_);
  compat::set_autocast_dtype(at::kCPU, cpu_dtype_);
}

at::ScalarType scalar_type(int32_t dtype) {
  switch (static_cast<dd_dtype>(dtype)) {
    case DD_FLOAT32: return at::kFloat;
    case DD_FLOAT64: return at::kDouble;
    case DD_BFLOAT16: return at::kBFloat16;
    case DD_FLOAT16: return at::kHalf;
    case DD_INT64: return at::kLong;
    case DD_INT32: return at::kInt;
    case DD_UINT8: return at::kByte;
    case DD_BOOL: return at::kBool;
    case DD_INT8: return at::kChar;
    case DD_INT16: return at::kShort;
  }
  throw unknown_code("dtype", dtype);
}

int32_t dtype_code(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return DD_FLOAT32;
    case at::kDouble: return DD_FLOAT64;
    case at::kBFloat16: return DD_BFLOAT16;
    case at::kHalf: return DD_FLOAT16;
    case at::kLong: return DD_INT64;
    case at::kInt: return DD_INT32;
    case at::kByte: return DD_UINT8;
    case at::kBool: return DD_BOOL;
    case at::kChar: return DD_INT8;
    case at::kShort: return DD_INT16;
    default: return -1;
  }
}

namespace {
c10::Device cuda_device(int32_t device_index) {
  DD_CHECK(torch::cuda::is_available(),
        "CUDA was requested but is not available: this LibTorch build has no CUDA support "
        "or no CUDA device is visible");
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  DD_CHECK(device_index >= 0 && device_index < count,
        "CUDA device index " + std::to_string(device_index) + " is out of range [0, " +
            std::to_string(count) + ")");
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(device_index));
}
}  // namespace

c10::Device device(int32_t device_type, int32_t device_index) {
  switch (static_cast<dd_device_type>(device_type)) {
    case DD_CPU: return c10::Device(c10::kCPU);
    case DD_CUDA: return cuda_device(device_index);
  }
  throw unknown_code("device type", device_type);
}

at::MemoryFormat memory_format(int32_t format) {
  switch (static_cast<dd_memory_format>(format)) {
    case DD_CONTIGUOUS_FORMAT: return at::MemoryFormat::Contiguous;
    case DD_CHANNELS_LAST: return at::MemoryFormat::ChannelsLast;
  }
  throw unknown_code("memory format", format);
}

at::TensorOptions options(int32_t dtype, int32_t device_type, int32_t device_index) {
  return at::TensorOptions().dtype(scalar_type(dtype)).device(device(device_type, device_index));
}

std::vector<at::Tensor> tensors(const dd_tensor* const* ts, int64_t n, const char* name) {
  DD_CHECK(n >= 0, std::string("length of '") + name + "' is negative");
  DD_CHECK(n == 0 || ts != nullptr, std::string("array argument '") + name + "' is NULL");
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    DD_CHECK(ts[i] != nullptr, std::string("element ") + std::to_string(i) + " of '" + name + "' is NULL");
    out.push_back(ts[i]->t);
  }
  return out;
}

void zero_grad(at::Tensor& t, bool set_to_none) {
  at::Tensor& g = t.mutable_grad();
  if (!g.defined()) return;
  if (set_to_none) {
    g.reset();
    return;
  }
  if (g.grad_fn()) g = g.detach();
  g.zero_();
}

namespace {
// Freed dd_tensor objects kept by the thread that freed them. Every op returns a new handle and
// most are freed soon after, so reusing the 8-byte objects saves a malloc/free pair per op (about
// 200 of the shim's 450 instructions over a bare ATen add16, by callgrind). Objects move freely
// between threads: one made on a thread may be kept by another. The cache is bounded, and its
// objects are deleted when the thread ends.
constexpr int kHandleCacheSize = 64;
struct HandleCache {
  dd_tensor* items[kHandleCacheSize];
  int size = 0;
  ~HandleCache() {
    while (size > 0) delete items[--size];
  }
};
thread_local HandleCache handle_cache;
}  // namespace

dd_tensor* new_handle(at::Tensor&& t) {
  HandleCache& cache = handle_cache;
  if (cache.size == 0) return new dd_tensor{std::move(t)};
  dd_tensor* h = cache.items[--cache.size];
  h->t = std::move(t);
  return h;
}

void delete_handle(dd_tensor* h) noexcept {
  h->t.reset();
  HandleCache& cache = handle_cache;
  if (cache.size < kHandleCacheSize) {
    cache.items[cache.size++] = h;
  } else {
    delete h;
  }
}

dd_bytes* wrap_bytes(std::vector<char> data) {
  auto* b = new dd_bytes{std::move(data)};
  live[DD_KIND_BYTES].fetch_add(1, std::memory_order_relaxed);
  return b;
}

}  // namespace dd
