// Views, reshaping, joining and indexing.
#include "common.h"

extern "C" {

dd_tensor* dd_shape(dd_ctx* ctx, int32_t op, const dd_tensor* t, const int64_t* values, int64_t n) {
  DD_TRY(ctx, nullptr)
  const at::Tensor& x = dd::ref(t, "t");
  switch (static_cast<dd_shape_op>(op)) {
    case DD_VIEW: return dd::wrap(x.view(dd::ints(values, n, "shape")));
    case DD_RESHAPE: return dd::wrap(x.reshape(dd::ints(values, n, "shape")));
    case DD_PERMUTE: return dd::wrap(x.permute(dd::ints(values, n, "dims")));
    case DD_EXPAND: return dd::wrap(x.expand(dd::ints(values, n, "shape")));
    case DD_REPEAT: return dd::wrap(x.repeat(dd::ints(values, n, "repeats")));
    case DD_FLIP: return dd::wrap(x.flip(dd::ints(values, n, "dims")));
  }
  throw dd::unknown_code("shape op", op);
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_transpose(dd_ctx* ctx, const dd_tensor* t, int64_t dim0, int64_t dim1) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t").transpose(dim0, dim1));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_squeeze(dd_ctx* ctx, const dd_tensor* t, int64_t dim, int32_t all_dims) {
  DD_TRY(ctx, nullptr)
  const at::Tensor& x = dd::ref(t, "t");
  return dd::wrap(all_dims ? x.squeeze() : x.squeeze(dim));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_unsqueeze(dd_ctx* ctx, const dd_tensor* t, int64_t dim) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t").unsqueeze(dim));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_flatten(dd_ctx* ctx, const dd_tensor* t, int64_t start_dim, int64_t end_dim) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t").flatten(start_dim, end_dim));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_slice(dd_ctx* ctx, const dd_tensor* t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t").slice(dim, start, end, step));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_select(dd_ctx* ctx, const dd_tensor* t, int64_t dim, int64_t index) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t").select(dim, index));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_index_select(dd_ctx* ctx, const dd_tensor* t, int64_t dim, const dd_tensor* index) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t").index_select(dim, dd::ref(index, "index")));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_gather(dd_ctx* ctx, const dd_tensor* t, int64_t dim, const dd_tensor* index) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t").gather(dim, dd::ref(index, "index")));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_masked_fill(dd_ctx* ctx, const dd_tensor* t, const dd_tensor* mask, double value) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(dd::ref(t, "t").masked_fill(dd::ref(mask, "mask"), value));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_where(dd_ctx* ctx, const dd_tensor* condition, const dd_tensor* a, const dd_tensor* b) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::where(dd::ref(condition, "condition"), dd::ref(a, "a"), dd::ref(b, "b")));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_cat(dd_ctx* ctx, const dd_tensor* const* tensors, int64_t n, int64_t dim) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::cat(dd::tensors(tensors, n, "tensors"), dim));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_stack(dd_ctx* ctx, const dd_tensor* const* tensors, int64_t n, int64_t dim) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::stack(dd::tensors(tensors, n, "tensors"), dim));
  DD_CATCH(ctx, nullptr)
}

int64_t dd_chunk(dd_ctx* ctx, const dd_tensor* t, int64_t chunks, int64_t dim, dd_tensor** out) {
  DD_TRY(ctx, 0)
  DD_CHECK(out != nullptr, "output array is NULL");
  DD_CHECK(chunks > 0, "chunks must be positive, got " + std::to_string(chunks));
  std::vector<at::Tensor> parts = dd::ref(t, "t").chunk(chunks, dim);
  DD_CHECK(static_cast<int64_t>(parts.size()) <= chunks, "chunk produced more parts than requested");
  const auto n = static_cast<int64_t>(parts.size());
  for (int64_t i = 0; i < n; ++i) out[i] = dd::wrap(std::move(parts[static_cast<size_t>(i)]));
  return n;
  DD_CATCH(ctx, 0)
}

}  // extern "C"
