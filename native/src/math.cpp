// Elementwise math, reductions, matrix products and softmax.
#include "common.h"
#include "compat.h"

#include <algorithm>
#include <type_traits>

namespace {

at::Tensor unary(int32_t op, const at::Tensor& x) {
  switch (static_cast<dd_unary_op>(op)) {
    case DD_NEG: return at::neg(x);
    case DD_ABS: return at::abs(x);
    case DD_EXP: return at::exp(x);
    case DD_LOG: return at::log(x);
    case DD_SQRT: return at::sqrt(x);
    case DD_RSQRT: return at::rsqrt(x);
    case DD_SIN: return at::sin(x);
    case DD_COS: return at::cos(x);
    case DD_TANH: return at::tanh(x);
    case DD_SIGMOID: return at::sigmoid(x);
    case DD_RELU: return at::relu(x);
    case DD_SILU: return at::silu(x);
    case DD_GELU: return at::gelu(x);
    case DD_SQUARE: return at::square(x);
    case DD_SIGN: return at::sign(x);
    case DD_FLOOR: return at::floor(x);
    case DD_CEIL: return at::ceil(x);
    case DD_ROUND: return at::round(x);
    case DD_RECIPROCAL: return at::reciprocal(x);
    case DD_ERF: return at::erf(x);
    case DD_LOG1P: return at::log1p(x);
    case DD_EXPM1: return at::expm1(x);
    case DD_LOGICAL_NOT: return at::logical_not(x);
    case DD_ISNAN: return at::isnan(x);
    case DD_ISFINITE: return at::isfinite(x);
    case DD_TRUNC: return at::trunc(x);
  }
  throw dd::unknown_code("unary op", op);
}

void unary_(int32_t op, at::Tensor& x) {
  switch (static_cast<dd_unary_op>(op)) {
    case DD_NEG: x.neg_(); return;
    case DD_ABS: x.abs_(); return;
    case DD_EXP: x.exp_(); return;
    case DD_LOG: x.log_(); return;
    case DD_SQRT: x.sqrt_(); return;
    case DD_RSQRT: x.rsqrt_(); return;
    case DD_SIN: x.sin_(); return;
    case DD_COS: x.cos_(); return;
    case DD_TANH: x.tanh_(); return;
    case DD_SIGMOID: x.sigmoid_(); return;
    case DD_RELU: x.relu_(); return;
    case DD_SILU: at::silu_(x); return;
    case DD_SQUARE: x.square_(); return;
    case DD_SIGN: x.sign_(); return;
    case DD_FLOOR: x.floor_(); return;
    case DD_CEIL: x.ceil_(); return;
    case DD_ROUND: x.round_(); return;
    case DD_RECIPROCAL: x.reciprocal_(); return;
    case DD_ERF: x.erf_(); return;
    case DD_LOG1P: x.log1p_(); return;
    case DD_EXPM1: x.expm1_(); return;
    case DD_TRUNC: x.trunc_(); return;
    case DD_GELU:
    case DD_LOGICAL_NOT:
    case DD_ISNAN:
    case DD_ISFINITE:
      throw dd::ArgumentError("unary op code " + std::to_string(op) + " has no in-place form");
  }
  throw dd::unknown_code("unary op", op);
}

// A 0-dim tensor marked as a wrapped number: it takes part in type promotion
// exactly as a Python scalar operand does.
at::Tensor wrapped(const c10::Scalar& s, const at::Tensor& like) {
  at::Tensor t = c10::scalar_to_tensor(s, like.device());
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

c10::Scalar scalar(double value, int32_t integral) {
  return integral ? c10::Scalar(static_cast<int64_t>(value)) : c10::Scalar(value);
}

// The operand of an op that ATen offers only for two tensors: a scalar becomes a
// wrapped-number tensor, a tensor stays itself.
const at::Tensor& as_tensor(const at::Tensor& b, const at::Tensor&) { return b; }
at::Tensor as_tensor(const c10::Scalar& b, const at::Tensor& like) { return wrapped(b, like); }

// dd_binary and dd_binary_scalar: B is at::Tensor or c10::Scalar. The reversed ops
// (RSUB, RDIV, RPOW) exist only with a scalar operand.
template <typename B>
at::Tensor binary(int32_t op, const at::Tensor& a, const B& b) {
  constexpr bool with_scalar = std::is_same_v<B, c10::Scalar>;
  switch (static_cast<dd_binary_op>(op)) {
    case DD_ADD: return at::add(a, b);
    case DD_SUB: return at::sub(a, b);
    case DD_MUL: return at::mul(a, b);
    case DD_DIV: return at::div(a, b);
    case DD_POW: return at::pow(a, b);
    case DD_EQ: return at::eq(a, b);
    case DD_NE: return at::ne(a, b);
    case DD_LT: return at::lt(a, b);
    case DD_LE: return at::le(a, b);
    case DD_GT: return at::gt(a, b);
    case DD_GE: return at::ge(a, b);
    case DD_REMAINDER: return at::remainder(a, b);
    case DD_MAXIMUM: return at::maximum(a, as_tensor(b, a));
    case DD_MINIMUM: return at::minimum(a, as_tensor(b, a));
    case DD_LOGICAL_AND: return at::logical_and(a, as_tensor(b, a));
    case DD_LOGICAL_OR: return at::logical_or(a, as_tensor(b, a));
    case DD_ATAN2: return at::atan2(a, as_tensor(b, a));
    case DD_FLOOR_DIVIDE: return at::div(a, as_tensor(b, a), "floor");
    case DD_RSUB:
      if constexpr (with_scalar) return at::rsub(a, b);
      break;
    case DD_RDIV:
      if constexpr (with_scalar) return at::div(wrapped(b, a), a);
      break;
    case DD_RPOW:
      if constexpr (with_scalar) return at::pow(b, a);
      break;
  }
  if (op == DD_RSUB || op == DD_RDIV || op == DD_RPOW) {
    throw dd::ArgumentError("binary op code " + std::to_string(op) + " takes no tensor operand");
  }
  throw dd::unknown_code("binary op", op);
}

// dd_binary_ and dd_binary_scalar_: ATen's in-place op where it has one for this
// operand type; otherwise the out-of-place result is converted into a (which also
// reports unknown codes and the reversed ops' missing tensor form).
template <typename B>
void binary_(int32_t op, at::Tensor& a, const B& b) {
  constexpr bool with_tensor = std::is_same_v<B, at::Tensor>;
  switch (static_cast<dd_binary_op>(op)) {
    case DD_ADD: a.add_(b); return;
    case DD_SUB: a.sub_(b); return;
    case DD_MUL: a.mul_(b); return;
    case DD_DIV: a.div_(b); return;
    case DD_POW: a.pow_(b); return;
    case DD_REMAINDER: a.remainder_(b); return;
    case DD_ATAN2:
      if constexpr (with_tensor) { a.atan2_(b); return; }
      break;
    case DD_FLOOR_DIVIDE:
      if constexpr (with_tensor) { a.div_(b, "floor"); return; }
      break;
    case DD_MAXIMUM:
    case DD_MINIMUM:
    case DD_EQ:
    case DD_NE:
    case DD_LT:
    case DD_LE:
    case DD_GT:
    case DD_GE:
    case DD_LOGICAL_AND:
    case DD_LOGICAL_OR:
    case DD_RSUB:
    case DD_RDIV:
    case DD_RPOW:
      break;
  }
  a.copy_(binary(op, a, b));
}

std::vector<int64_t> dims_or_all(const at::Tensor& t, const int64_t* dims, int64_t ndims) {
  if (ndims == 0) {
    std::vector<int64_t> all(static_cast<size_t>(t.dim()));
    for (int64_t i = 0; i < t.dim(); ++i) all[static_cast<size_t>(i)] = i;
    return all;
  }
  auto ref = dd::ints(dims, ndims, "dims");
  return std::vector<int64_t>(ref.begin(), ref.end());
}

// Applies a one-dimension reduction over several dimensions, highest first.
template <typename F>
at::Tensor reduce_each(const at::Tensor& t, std::vector<int64_t> dims, bool keepdim, F f) {
  for (auto& d : dims) d = c10::maybe_wrap_dim(d, t.dim());
  std::sort(dims.rbegin(), dims.rend());
  DD_CHECK(std::adjacent_find(dims.begin(), dims.end()) == dims.end(), "a dimension appears twice in dims");
  if (dims.empty()) return t.clone();  // a 0-d input: never hand back the input itself
  at::Tensor out = t;
  for (int64_t d : dims) out = f(out, d, keepdim);
  return out;
}

}  // namespace

extern "C" {

dd_tensor* dd_unary(dd_ctx* ctx, int32_t op, const dd_tensor* t) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(unary(op, dd::ref(t, "t")));
  DD_CATCH(ctx, nullptr)
}

void dd_unary_(dd_ctx* ctx, int32_t op, dd_tensor* t) {
  DD_TRY(ctx, )
  unary_(op, dd::mut(t, "t"));
  DD_CATCH(ctx, )
}

dd_tensor* dd_binary(dd_ctx* ctx, int32_t op, const dd_tensor* a, const dd_tensor* b) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(binary(op, dd::ref(a, "a"), dd::ref(b, "b")));
  DD_CATCH(ctx, nullptr)
}

void dd_binary_(dd_ctx* ctx, int32_t op, dd_tensor* a, const dd_tensor* b) {
  DD_TRY(ctx, )
  binary_(op, dd::mut(a, "a"), dd::ref(b, "b"));
  DD_CATCH(ctx, )
}

dd_tensor* dd_binary_scalar(dd_ctx* ctx, int32_t op, const dd_tensor* a, double value, int32_t integral) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(binary(op, dd::ref(a, "a"), scalar(value, integral)));
  DD_CATCH(ctx, nullptr)
}

void dd_binary_scalar_(dd_ctx* ctx, int32_t op, dd_tensor* a, double value, int32_t integral) {
  DD_TRY(ctx, )
  binary_(op, dd::mut(a, "a"), scalar(value, integral));
  DD_CATCH(ctx, )
}

dd_tensor* dd_add_scaled(dd_ctx* ctx, const dd_tensor* a, const dd_tensor* b, double alpha) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::add(dd::ref(a, "a"), dd::ref(b, "b"), alpha));
  DD_CATCH(ctx, nullptr)
}

void dd_add_scaled_(dd_ctx* ctx, dd_tensor* a, const dd_tensor* b, double alpha) {
  DD_TRY(ctx, )
  dd::mut(a, "a").add_(dd::ref(b, "b"), alpha);
  DD_CATCH(ctx, )
}

void dd_lerp_(dd_ctx* ctx, dd_tensor* a, const dd_tensor* b, double weight) {
  DD_TRY(ctx, )
  dd::mut(a, "a").lerp_(dd::ref(b, "b"), weight);
  DD_CATCH(ctx, )
}

dd_tensor* dd_clamp(dd_ctx* ctx, const dd_tensor* t, double min, double max, int32_t has_min, int32_t has_max) {
  DD_TRY(ctx, nullptr)
  DD_CHECK(has_min || has_max, "clamp needs at least one of min and max");
  c10::optional<c10::Scalar> lo = has_min ? c10::optional<c10::Scalar>(min) : c10::nullopt;
  c10::optional<c10::Scalar> hi = has_max ? c10::optional<c10::Scalar>(max) : c10::nullopt;
  return dd::wrap(at::clamp(dd::ref(t, "t"), lo, hi));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_reduce(dd_ctx* ctx, int32_t op, const dd_tensor* t, const int64_t* dims, int64_t ndims, int32_t keepdim) {
  DD_TRY(ctx, nullptr)
  const at::Tensor& x = dd::ref(t, "t");
  const bool keep = keepdim != 0;
  const bool whole = ndims == 0;
  auto ds = dims_or_all(x, dims, ndims);
  switch (static_cast<dd_reduce_op>(op)) {
    case DD_SUM: return dd::wrap(whole && !keep ? at::sum(x) : at::sum(x, ds, keep));
    case DD_MEAN: return dd::wrap(whole && !keep ? at::mean(x) : at::mean(x, ds, keep));
    case DD_AMAX: return dd::wrap(at::amax(x, ds, keep));
    case DD_AMIN: return dd::wrap(at::amin(x, ds, keep));
    case DD_LOGSUMEXP: return dd::wrap(at::logsumexp(x, ds, keep));
    case DD_PROD:
      if (whole && !keep) return dd::wrap(at::prod(x));
      return dd::wrap(reduce_each(x, ds, keep, [](const at::Tensor& v, int64_t d, bool k) { return at::prod(v, d, k); }));
    case DD_ALL:
      if (whole && !keep) return dd::wrap(at::all(x));
      return dd::wrap(reduce_each(x, ds, keep, [](const at::Tensor& v, int64_t d, bool k) { return at::all(v, d, k); }));
    case DD_ANY:
      if (whole && !keep) return dd::wrap(at::any(x));
      return dd::wrap(reduce_each(x, ds, keep, [](const at::Tensor& v, int64_t d, bool k) { return at::any(v, d, k); }));
  }
  throw dd::unknown_code("reduce op", op);
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_var(dd_ctx* ctx, const dd_tensor* t, const int64_t* dims, int64_t ndims, int64_t correction, int32_t keepdim, int32_t std) {
  DD_TRY(ctx, nullptr)
  const at::Tensor& x = dd::ref(t, "t");
  at::OptionalIntArrayRef ds = ndims == 0 ? at::OptionalIntArrayRef() : at::OptionalIntArrayRef(dd::ints(dims, ndims, "dims"));
  const dd::compat::Correction corr(correction);
  return dd::wrap(std ? at::std(x, ds, corr, keepdim != 0) : at::var(x, ds, corr, keepdim != 0));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_norm(dd_ctx* ctx, const dd_tensor* t, double p, const int64_t* dims, int64_t ndims, int32_t keepdim) {
  DD_TRY(ctx, nullptr)
  const at::Tensor& x = dd::ref(t, "t");
  if (ndims == 0 && !keepdim) return dd::wrap(at::norm(x, p));
  return dd::wrap(at::norm(x, p, dims_or_all(x, dims, ndims), keepdim != 0));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_argmax(dd_ctx* ctx, const dd_tensor* t, int64_t dim, int32_t has_dim, int32_t keepdim, int32_t min) {
  DD_TRY(ctx, nullptr)
  const at::Tensor& x = dd::ref(t, "t");
  c10::optional<int64_t> d = has_dim ? c10::optional<int64_t>(dim) : c10::nullopt;
  return dd::wrap(min ? at::argmin(x, d, keepdim != 0) : at::argmax(x, d, keepdim != 0));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_cumulative(dd_ctx* ctx, const dd_tensor* t, int64_t dim, int32_t product) {
  DD_TRY(ctx, nullptr)
  const at::Tensor& x = dd::ref(t, "t");
  return dd::wrap(product ? at::cumprod(x, dim) : at::cumsum(x, dim));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_matmul(dd_ctx* ctx, const dd_tensor* a, const dd_tensor* b) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::matmul(dd::ref(a, "a"), dd::ref(b, "b")));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_bmm(dd_ctx* ctx, const dd_tensor* a, const dd_tensor* b) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::bmm(dd::ref(a, "a"), dd::ref(b, "b")));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_einsum(dd_ctx* ctx, const char* equation, const dd_tensor* const* tensors, int64_t n) {
  DD_TRY(ctx, nullptr)
  DD_CHECK(equation != nullptr, "einsum equation is NULL");
  return dd::wrap(at::einsum(equation, dd::tensors(tensors, n, "tensors")));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_softmax(dd_ctx* ctx, const dd_tensor* t, int64_t dim, int32_t log) {
  DD_TRY(ctx, nullptr)
  const at::Tensor& x = dd::ref(t, "t");
  return dd::wrap(log ? at::log_softmax(x, dim) : at::softmax(x, dim));
  DD_CATCH(ctx, nullptr)
}

}  // extern "C"
