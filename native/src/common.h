// Shared machinery of the shim: handle structs, the catch-all error macros,
// the per-call autograd mode guard, and enum conversions.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "ddpm4j.h"

struct dd_tensor {
  at::Tensor t;
};
struct dd_generator {
  at::Generator g;
};
struct dd_bytes {
  std::vector<char> data;
};
// dd_optimizer is defined in optim.cpp, the only file that touches it.

// Throws dd::ArgumentError with the message (any expression convertible to
// std::string) when cond is false. A macro so that the message, which often
// concatenates strings, is only built on failure: hot calls stay allocation-free.
#define DD_CHECK(cond, ...)                                             \
  do {                                                                  \
    if (!(cond)) throw ::dd::ArgumentError(std::string(__VA_ARGS__)); \
  } while (0)

namespace dd {

// An argument the shim rejects before LibTorch sees it.
struct ArgumentError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// The error for a code that names no enumerator of its enum ("unknown unary op code 99").
// Every switch over a header enum names each enumerator and has no default, so that
// -Werror=switch turns a forgotten one into a build error; a code outside the enum
// matches no case and reaches `throw unknown_code(...)` after the switch.
inline ArgumentError unknown_code(const char* what, int32_t code) {
  return ArgumentError(std::string("unknown ") + what + " code " + std::to_string(code));
}


// Live-handle counters, one per enum dd_handle_kind but DD_KIND_ALL (the kinds are 0, 1, ...).
constexpr int kHandleKinds = DD_KIND_PROCESS_GROUP + 1;
extern std::atomic<int64_t> live[kHandleKinds];

// Stores the in-flight exception in ctx; must be called from a catch block.
void record_error(dd_ctx* ctx, const char* function) noexcept;

// The intra-op thread count last set with dd_set_num_threads (0: never set).
extern std::atomic<int32_t> num_threads;

// Applies num_threads to the calling OS thread if it still runs with another
// count: LibTorch keeps the OpenMP setting per thread.
void apply_num_threads();

// Turns autocast on for CPU and CUDA with one lower-precision dtype, and its weight
// cache off (the cache lives until autocast is left, which here is every call, and
// would hand out stale casts after an optimizer step); restores all of it after.
class AutocastGuard {
 public:
  explicit AutocastGuard(at::ScalarType dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;
 private:
  bool cpu_, cuda_, cache_;
  at::ScalarType cpu_dtype_, cuda_dtype_;
};

// Applies ctx->grad_mode and ctx->autocast for the duration of one call, and the
// process-wide thread count to the calling thread.
class ModeGuard {
 public:
  explicit ModeGuard(const dd_ctx* ctx);
 private:
  void enter_grad_mode(int32_t mode);
  void enter_autocast(int32_t mode);
  c10::optional<c10::InferenceMode> inference_;
  c10::optional<at::AutoGradMode> grad_;
  c10::optional<AutocastGuard> autocast_;
};

at::ScalarType scalar_type(int32_t dtype);
int32_t dtype_code(at::ScalarType type);
c10::Device device(int32_t device_type, int32_t device_index);
at::TensorOptions options(int32_t dtype, int32_t device_type, int32_t device_index);
at::MemoryFormat memory_format(int32_t format);

inline const at::Tensor& ref(const dd_tensor* t, const char* name) {
  DD_CHECK(t != nullptr, std::string("tensor argument '") + name + "' is NULL");
  return t->t;
}
inline at::Tensor& mut(dd_tensor* t, const char* name) {
  DD_CHECK(t != nullptr, std::string("tensor argument '") + name + "' is NULL");
  return t->t;
}
inline c10::optional<at::Tensor> opt(const dd_tensor* t) {
  return t ? c10::optional<at::Tensor>(t->t) : c10::nullopt;
}
inline c10::optional<at::Generator> gen(dd_generator* g) {
  return g ? c10::optional<at::Generator>(g->g) : c10::nullopt;
}
inline at::IntArrayRef ints(const int64_t* values, int64_t n, const char* name) {
  DD_CHECK(n >= 0, std::string("length of '") + name + "' is negative");
  DD_CHECK(n == 0 || values != nullptr, std::string("array argument '") + name + "' is NULL");
  return at::IntArrayRef(values, static_cast<size_t>(n));
}
std::vector<at::Tensor> tensors(const dd_tensor* const* ts, int64_t n, const char* name);

// A handle for t: a dd_tensor object that this thread freed earlier if it has one, else a new one.
dd_tensor* new_handle(at::Tensor&& t);
// Releases the handle's tensor and keeps the object for this thread's next new_handle (up to a
// small number per thread; beyond that it is deleted). Never throws.
void delete_handle(dd_tensor* h) noexcept;

inline dd_tensor* wrap(at::Tensor t) {
  dd_tensor* h = new_handle(std::move(t));
  live[DD_KIND_TENSOR].fetch_add(1, std::memory_order_relaxed);
  return h;
}
dd_bytes* wrap_bytes(std::vector<char> data);

// Optimizer.zero_grad for one tensor, the same on every LibTorch version (2.x's
// Optimizer::zero_grad sets gradients to none by default, 1.x's zeroes them).
void zero_grad(at::Tensor& t, bool set_to_none);

}  // namespace dd

// DD_COUNT_CALL() counts one call of an exported function in dd::calls, which
// dd_call_count reads, when the shim is built with -DDDPM4J_COUNT_CALLS=ON; otherwise
// it is nothing at all. DD_TRY and DD_TRY_QUERY start with it; an exported function that
// uses neither (frees, queries that cannot fail) calls it first (NativeCallCountTest
// checks that every one does).
#ifdef DD_COUNT_CALLS
namespace dd {
extern std::atomic<int64_t> calls;
}  // namespace dd
#define DD_COUNT_CALL() ::dd::calls.fetch_add(1, std::memory_order_relaxed)
#else
#define DD_COUNT_CALL() static_cast<void>(0)
#endif

// Every exported function body sits between DD_TRY(ctx, fail) and
// DD_CATCH(ctx, fail). Any exception is recorded in ctx and `fail` is
// returned; for a void function leave `fail` empty.
#define DD_TRY(ctx, fail)            \
  DD_COUNT_CALL();                   \
  if ((ctx) == nullptr) return fail; \
  try {                              \
    ::dd::ModeGuard dd_mode_guard_(ctx);

// DD_TRY for the metadata queries (dd_tensor_info_get, dd_tensor_shape), which Java calls
// as critical downcalls: no autograd-mode or thread-count guard, which they do not need
// and which could change LibTorch's thread pool inside a call that must stay short.
#define DD_TRY_QUERY(ctx, fail)      \
  DD_COUNT_CALL();                   \
  if ((ctx) == nullptr) return fail; \
  try {

#define DD_CATCH(ctx, fail)                  \
  }                                          \
  catch (...) {                              \
    ::dd::record_error((ctx), __func__);     \
    return fail;                             \
  }
