// Library-wide state: version, configuration, handle counters, CUDA, seeding, threads.
#include "common.h"

#include <dlfcn.h>

#include <cstring>

extern "C" {

const char* dd_torch_version(void) {
  DD_COUNT_CALL();
  return TORCH_VERSION;
}

int64_t dd_config_info(char* buffer, int64_t capacity) {
  DD_COUNT_CALL();
  if (buffer == nullptr || capacity <= 0) return 0;
  try {
    const std::string text = at::show_config();
    const auto n = std::min<int64_t>(static_cast<int64_t>(text.size()), capacity - 1);
    std::memcpy(buffer, text.data(), static_cast<size_t>(n));
    buffer[n] = '\0';
    return n;
  } catch (...) {
    buffer[0] = '\0';
    return 0;
  }
}

namespace {
// Writes the file of the loaded object that holds `address` into buffer.
int64_t object_path(const void* address, char* buffer, int64_t capacity) {
  if (buffer == nullptr || capacity <= 0) return 0;
  buffer[0] = '\0';
  Dl_info info;
  if (address == nullptr || dladdr(address, &info) == 0 || info.dli_fname == nullptr) return 0;
  const auto n = std::min<int64_t>(static_cast<int64_t>(std::strlen(info.dli_fname)), capacity - 1);
  std::memcpy(buffer, info.dli_fname, static_cast<size_t>(n));
  buffer[n] = '\0';
  return n;
}
}  // namespace

int64_t dd_torch_library_path(char* buffer, int64_t capacity) {
  DD_COUNT_CALL();
  // at::get_num_threads lives in libtorch_cpu on every LibTorch version.
  int (*in_torch)() = &at::get_num_threads;
  return object_path(reinterpret_cast<const void*>(in_torch), buffer, capacity);
}

int64_t dd_blas_library_path(char* buffer, int64_t capacity) {
  DD_COUNT_CALL();
  return object_path(dlsym(RTLD_DEFAULT, "sgemm_"), buffer, capacity);
}

int64_t dd_live_handles(int32_t kind) {
  DD_COUNT_CALL();
  switch (static_cast<dd_handle_kind>(kind)) {
    case DD_KIND_ALL: {
      int64_t total = 0;
      for (auto& counter : dd::live) total += counter.load(std::memory_order_relaxed);
      return total;
    }
    case DD_KIND_TENSOR:
    case DD_KIND_GENERATOR:
    case DD_KIND_OPTIMIZER:
    case DD_KIND_BYTES:
    case DD_KIND_CUDA_GRAPH:
    case DD_KIND_PROCESS_GROUP:
      return dd::live[kind].load(std::memory_order_relaxed);
  }
  return -1;
}

// Not counted itself, so that the difference of two readings is exactly the calls between them.
int64_t dd_call_count(void) {
#ifdef DD_COUNT_CALLS
  return dd::calls.load(std::memory_order_relaxed);
#else
  return -1;
#endif
}

int32_t dd_cuda_is_available(void) {
  DD_COUNT_CALL();
  try {
    return torch::cuda::is_available() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

int64_t dd_cuda_device_count(void) {
  DD_COUNT_CALL();
  try {
    return static_cast<int64_t>(torch::cuda::device_count());
  } catch (...) {
    return 0;
  }
}

void dd_cuda_synchronize(dd_ctx* ctx, int64_t device_index) {
  DD_TRY(ctx, )
  dd::device(DD_CUDA, static_cast<int32_t>(device_index));
  torch::cuda::synchronize(device_index);
  DD_CATCH(ctx, )
}

void dd_manual_seed(dd_ctx* ctx, uint64_t seed) {
  DD_TRY(ctx, )
  torch::manual_seed(seed);
  DD_CATCH(ctx, )
}

void dd_set_num_threads(dd_ctx* ctx, int32_t n) {
  DD_TRY(ctx, )
  DD_CHECK(n > 0, "thread count must be positive, got " + std::to_string(n));
  dd::num_threads.store(n, std::memory_order_relaxed);
  dd::apply_num_threads();
  DD_CATCH(ctx, )
}

int32_t dd_get_num_threads(void) {
  DD_COUNT_CALL();
  try {
    dd::apply_num_threads();
    return at::get_num_threads();
  } catch (...) {
    return -1;
  }
}

// ------------------------------------------------------------------ generator

dd_generator* dd_generator_new(dd_ctx* ctx, uint64_t seed, int32_t device_type, int32_t device_index) {
  DD_TRY(ctx, nullptr)
  const auto dev = dd::device(device_type, device_index);
  at::Generator base = at::globalContext().defaultGenerator(dev);
  at::Generator g;
  {
    std::lock_guard<std::mutex> lock(base.mutex());
    g = base.clone();
  }
  g.set_current_seed(seed);
  auto* h = new dd_generator{std::move(g)};
  dd::live[DD_KIND_GENERATOR].fetch_add(1, std::memory_order_relaxed);
  return h;
  DD_CATCH(ctx, nullptr)
}

void dd_generator_free(dd_generator* g) {
  DD_COUNT_CALL();
  if (g == nullptr) return;
  delete g;
  dd::live[DD_KIND_GENERATOR].fetch_sub(1, std::memory_order_relaxed);
}

static at::Generator generator_or_default(dd_generator* g) {
  return g ? g->g : at::globalContext().defaultGenerator(c10::Device(c10::kCPU));
}

dd_tensor* dd_generator_get_state(dd_ctx* ctx, dd_generator* g) {
  DD_TRY(ctx, nullptr)
  at::Generator gen = generator_or_default(g);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return dd::wrap(gen.get_state());
  DD_CATCH(ctx, nullptr)
}

void dd_generator_set_state(dd_ctx* ctx, dd_generator* g, const dd_tensor* state) {
  DD_TRY(ctx, )
  const at::Tensor& s = dd::ref(state, "state");
  DD_CHECK(s.scalar_type() == at::kByte && s.device().is_cpu(),
            "generator state must be a uint8 CPU tensor");
  at::Generator gen = generator_or_default(g);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(s);
  DD_CATCH(ctx, )
}

}  // extern "C"
