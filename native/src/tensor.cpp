// Tensor handles: lifetime, metadata, creation, dtype/device moves and scalar reads.
#include "common.h"

namespace {
// dd_tensor_free's work, which dd_tensor_free_all repeats without counting a call per handle.
void free_tensor(dd_tensor* t) {
  if (t == nullptr) return;
  dd::delete_handle(t);
  dd::live[DD_KIND_TENSOR].fetch_sub(1, std::memory_order_relaxed);
}
}  // namespace

extern "C" {

void dd_tensor_free(dd_tensor* t) {
  DD_COUNT_CALL();
  free_tensor(t);
}

void dd_tensor_free_all(dd_tensor* const* tensors, int64_t n) {
  DD_COUNT_CALL();
  if (tensors == nullptr) return;
  for (int64_t i = 0; i < n; ++i) free_tensor(tensors[i]);
}

void dd_tensor_info_get(dd_ctx* ctx, const dd_tensor* t, dd_tensor_info* out) {
  DD_TRY_QUERY(ctx, )
  const at::Tensor& x = dd::ref(t, "t");
  DD_CHECK(out != nullptr, "output record is NULL");
  DD_CHECK(x.defined(), "tensor is undefined");
  out->dtype = dd::dtype_code(x.scalar_type());
  out->device_type = x.device().is_cpu() ? DD_CPU : (x.device().is_cuda() ? DD_CUDA : -1);
  out->device_index = x.device().has_index() ? x.device().index() : -1;
  out->ndim = static_cast<int32_t>(x.dim());
  out->requires_grad = x.requires_grad() ? 1 : 0;
  out->is_leaf = x.is_leaf() ? 1 : 0;
  out->is_contiguous = x.is_contiguous() ? 1 : 0;
  // TensorImpl::grad, unlike Tensor::grad, does not warn when asked about a non-leaf.
  out->has_grad = x.unsafeGetTensorImpl()->grad().defined() ? 1 : 0;
  out->numel = x.numel();
  out->element_size = static_cast<int64_t>(x.element_size());
  out->storage_offset = x.storage_offset();
  out->data_ptr = x.numel() == 0 ? nullptr : x.data_ptr();
  DD_CATCH(ctx, )
}

int64_t dd_tensor_shape(dd_ctx* ctx, const dd_tensor* t, int64_t* sizes, int64_t* strides, int64_t capacity) {
  DD_TRY_QUERY(ctx, -1)
  const at::Tensor& x = dd::ref(t, "t");
  const int64_t n = x.dim();
  const int64_t m = std::min(n, capacity);
  for (int64_t i = 0; i < m; ++i) {
    if (sizes) sizes[i] = x.size(i);
    if (strides) strides[i] = x.stride(i);
  }
  return n;
  DD_CATCH(ctx, -1)
}

dd_tensor* dd_tensor_alias(dd_ctx* ctx, const dd_tensor* t) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t"));
  DD_CATCH(ctx, nullptr)
}

int32_t dd_tensor_is_alias_of(const dd_tensor* a, const dd_tensor* b) {
  DD_COUNT_CALL();
  if (a == nullptr || b == nullptr || !a->t.defined() || !b->t.defined()) return 0;
  // Compares storage identity only; never throws.
  return a->t.is_alias_of(b->t) ? 1 : 0;
}

int64_t dd_tensor_storage_nbytes(const dd_tensor* t) {
  DD_COUNT_CALL();
  if (t == nullptr || !t->t.defined() || !t->t.has_storage()) return 0;
  return static_cast<int64_t>(t->t.storage().nbytes());
}

// ------------------------------------------------------------------ creation

dd_tensor* dd_empty(dd_ctx* ctx, const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device_type, int32_t device_index) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::empty(dd::ints(shape, ndim, "shape"), dd::options(dtype, device_type, device_index)));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_full(dd_ctx* ctx, const int64_t* shape, int64_t ndim, double value, int32_t dtype, int32_t device_type, int32_t device_index) {
  DD_TRY(ctx, nullptr)
  auto opts = dd::options(dtype, device_type, device_index);
  auto size = dd::ints(shape, ndim, "shape");
  if (value == 0.0) return dd::wrap(at::zeros(size, opts));
  if (value == 1.0) return dd::wrap(at::ones(size, opts));
  return dd::wrap(at::full(size, value, opts));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_randn(dd_ctx* ctx, const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device_type, int32_t device_index, dd_generator* g) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::randn(dd::ints(shape, ndim, "shape"), dd::gen(g), dd::options(dtype, device_type, device_index)));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_rand(dd_ctx* ctx, const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device_type, int32_t device_index, dd_generator* g) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::rand(dd::ints(shape, ndim, "shape"), dd::gen(g), dd::options(dtype, device_type, device_index)));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_randint(dd_ctx* ctx, int64_t low, int64_t high, const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device_type, int32_t device_index, dd_generator* g) {
  DD_TRY(ctx, nullptr)
  DD_CHECK(low < high, "randint needs low < high, got low=" + std::to_string(low) + " high=" + std::to_string(high));
  return dd::wrap(at::randint(low, high, dd::ints(shape, ndim, "shape"), dd::gen(g), dd::options(dtype, device_type, device_index)));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_randperm(dd_ctx* ctx, int64_t n, int32_t dtype, int32_t device_type, int32_t device_index, dd_generator* g) {
  DD_TRY(ctx, nullptr)
  DD_CHECK(n >= 0, "randperm needs n >= 0, got " + std::to_string(n));
  return dd::wrap(at::randperm(n, dd::gen(g), dd::options(dtype, device_type, device_index)));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_arange(dd_ctx* ctx, double start, double end, double step, int32_t dtype, int32_t device_type, int32_t device_index) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::arange(start, end, step, dd::options(dtype, device_type, device_index)));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_linspace(dd_ctx* ctx, double start, double end, int64_t steps, int32_t dtype, int32_t device_type, int32_t device_index) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::linspace(start, end, steps, dd::options(dtype, device_type, device_index)));
  DD_CATCH(ctx, nullptr)
}

void dd_uniform_(dd_ctx* ctx, dd_tensor* t, double from, double to, dd_generator* g) {
  DD_TRY(ctx, )
  DD_CHECK(from <= to, "uniform_ needs from <= to");
  dd::mut(t, "t").uniform_(from, to, dd::gen(g));
  DD_CATCH(ctx, )
}

void dd_normal_(dd_ctx* ctx, dd_tensor* t, double mean, double std, dd_generator* g) {
  DD_TRY(ctx, )
  DD_CHECK(std >= 0.0, "normal_ needs std >= 0");
  dd::mut(t, "t").normal_(mean, std, dd::gen(g));
  DD_CATCH(ctx, )
}

dd_tensor* dd_from_blob(dd_ctx* ctx, void* data, const int64_t* shape, int64_t ndim, const int64_t* strides, int32_t dtype) {
  DD_TRY(ctx, nullptr)
  auto size = dd::ints(shape, ndim, "shape");
  for (int64_t s : size) DD_CHECK(s >= 0, "negative dimension " + std::to_string(s) + " in shape");
  auto opts = at::TensorOptions().dtype(dd::scalar_type(dtype)).device(c10::kCPU);
  int64_t numel = 1;
  for (int64_t s : size) numel *= s;
  DD_CHECK(data != nullptr || numel == 0, "data pointer is NULL");
  if (strides == nullptr) return dd::wrap(at::from_blob(data, size, opts));
  return dd::wrap(at::from_blob(data, size, dd::ints(strides, ndim, "strides"), opts));
  DD_CATCH(ctx, nullptr)
}

// --------------------------------------------------------- dtype and device

dd_tensor* dd_to(dd_ctx* ctx, const dd_tensor* t, int32_t dtype, int32_t device_type, int32_t device_index, int32_t non_blocking, int32_t copy) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t").to(dd::device(device_type, device_index), dd::scalar_type(dtype), non_blocking != 0, copy != 0));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_clone(dd_ctx* ctx, const dd_tensor* t) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t").clone());
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_contiguous(dd_ctx* ctx, const dd_tensor* t, int32_t memory_format) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t").contiguous(dd::memory_format(memory_format)));
  DD_CATCH(ctx, nullptr)
}

int32_t dd_is_contiguous(dd_ctx* ctx, const dd_tensor* t, int32_t memory_format) {
  DD_TRY(ctx, 0)
  return dd::ref(t, "t").is_contiguous(dd::memory_format(memory_format)) ? 1 : 0;
  DD_CATCH(ctx, 0)
}

dd_tensor* dd_detach(dd_ctx* ctx, const dd_tensor* t) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t").detach());
  DD_CATCH(ctx, nullptr)
}

void dd_copy_(dd_ctx* ctx, dd_tensor* dst, const dd_tensor* src) {
  DD_TRY(ctx, )
  dd::mut(dst, "dst").copy_(dd::ref(src, "src"));
  DD_CATCH(ctx, )
}

void dd_fill_(dd_ctx* ctx, dd_tensor* t, double value) {
  DD_TRY(ctx, )
  dd::mut(t, "t").fill_(value);
  DD_CATCH(ctx, )
}

double dd_item_double(dd_ctx* ctx, const dd_tensor* t) {
  DD_TRY(ctx, 0.0)
  return dd::ref(t, "t").item<double>();
  DD_CATCH(ctx, 0.0)
}

int64_t dd_item_int64(dd_ctx* ctx, const dd_tensor* t) {
  DD_TRY(ctx, 0)
  return dd::ref(t, "t").item<int64_t>();
  DD_CATCH(ctx, 0)
}

int32_t dd_equal(dd_ctx* ctx, const dd_tensor* a, const dd_tensor* b) {
  DD_TRY(ctx, 0)
  return at::equal(dd::ref(a, "a"), dd::ref(b, "b")) ? 1 : 0;
  DD_CATCH(ctx, 0)
}

}  // extern "C"
