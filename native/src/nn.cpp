// Neural-network operators (torch.nn.functional equivalents).
#include "common.h"

namespace {

// at::Reduction's value for a code of enum dd_loss_reduction.
int64_t loss_reduction(int32_t reduction) {
  switch (static_cast<dd_loss_reduction>(reduction)) {
    case DD_REDUCTION_NONE: return at::Reduction::None;
    case DD_REDUCTION_MEAN: return at::Reduction::Mean;
    case DD_REDUCTION_SUM: return at::Reduction::Sum;
  }
  throw dd::unknown_code("reduction", reduction);
}

}  // namespace

extern "C" {

dd_tensor* dd_linear(dd_ctx* ctx, const dd_tensor* input, const dd_tensor* weight, const dd_tensor* bias) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::linear(dd::ref(input, "input"), dd::ref(weight, "weight"), dd::opt(bias)));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_conv2d(dd_ctx* ctx, const dd_tensor* input, const dd_tensor* weight, const dd_tensor* bias,
                     int64_t stride_h, int64_t stride_w, int64_t padding_h, int64_t padding_w,
                     int64_t dilation_h, int64_t dilation_w, int64_t groups) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::conv2d(dd::ref(input, "input"), dd::ref(weight, "weight"), dd::opt(bias),
                             {stride_h, stride_w}, {padding_h, padding_w}, {dilation_h, dilation_w}, groups));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_conv_transpose2d(dd_ctx* ctx, const dd_tensor* input, const dd_tensor* weight, const dd_tensor* bias,
                               int64_t stride_h, int64_t stride_w, int64_t padding_h, int64_t padding_w,
                               int64_t output_padding_h, int64_t output_padding_w,
                               int64_t dilation_h, int64_t dilation_w, int64_t groups) {
  DD_TRY(ctx, nullptr)
  return dd::wrap(at::conv_transpose2d(dd::ref(input, "input"), dd::ref(weight, "weight"), dd::opt(bias),
                                       {stride_h, stride_w}, {padding_h, padding_w},
                                       {output_padding_h, output_padding_w}, groups, {dilation_h, dilation_w}));
  DD_CATCH(ctx, nullptr)
}

// Under autocast, normalisation runs in float32 (LibTorch 2.x's autocast lists group_norm and
// layer_norm as float32 ops; 1.13's CPU autocast leaves them out, and a bfloat16 activation then
// meets float32 weights). Casting the input here gives both versions 2.x's behaviour.
static at::Tensor normalisation_input(const dd_ctx* ctx, const at::Tensor& x) {
  if (ctx->autocast == DD_AUTOCAST_OFF || (x.scalar_type() != at::kBFloat16 && x.scalar_type() != at::kHalf)) return x;
  return x.to(at::kFloat);
}

dd_tensor* dd_group_norm(dd_ctx* ctx, const dd_tensor* input, int64_t groups, const dd_tensor* weight, const dd_tensor* bias, double eps) {
  DD_TRY(ctx, nullptr)
  const at::Tensor x = normalisation_input(ctx, dd::ref(input, "input"));
  return dd::wrap(at::group_norm(x, groups, dd::opt(weight), dd::opt(bias), eps));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_layer_norm(dd_ctx* ctx, const dd_tensor* input, const int64_t* normalized_shape, int64_t ndim,
                         const dd_tensor* weight, const dd_tensor* bias, double eps) {
  DD_TRY(ctx, nullptr)
  const at::Tensor x = normalisation_input(ctx, dd::ref(input, "input"));
  return dd::wrap(at::layer_norm(x, dd::ints(normalized_shape, ndim, "normalized_shape"), dd::opt(weight), dd::opt(bias), eps));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_dropout(dd_ctx* ctx, const dd_tensor* input, double p, int32_t train) {
  DD_TRY(ctx, nullptr)
  DD_CHECK(p >= 0.0 && p <= 1.0, "dropout probability must be in [0, 1], got " + std::to_string(p));
  return dd::wrap(at::dropout(dd::ref(input, "input"), p, train != 0));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_mse_loss(dd_ctx* ctx, const dd_tensor* input, const dd_tensor* target, int32_t reduction) {
  DD_TRY(ctx, nullptr)
  const int64_t r = loss_reduction(reduction);
  const at::Tensor& a = dd::ref(input, "input");
  const at::Tensor& b = dd::ref(target, "target");
  DD_CHECK(a.sizes() == b.sizes(), "mse_loss input and target shapes differ: " + c10::str(a.sizes()) +
                                        " vs " + c10::str(b.sizes()));
  return dd::wrap(at::mse_loss(a, b, r));
  DD_CATCH(ctx, nullptr)
}

dd_tensor* dd_interpolate(dd_ctx* ctx, const dd_tensor* input, int64_t out_h, int64_t out_w, int32_t mode, int32_t align_corners) {
  DD_TRY(ctx, nullptr)
  const at::Tensor& x = dd::ref(input, "input");
  DD_CHECK(x.dim() == 4, "interpolate expects a 4-d [batch, channels, height, width] input, got " +
                              std::to_string(x.dim()) + " dimensions");
  DD_CHECK(out_h > 0 && out_w > 0, "interpolate output size must be positive");
  switch (static_cast<dd_interpolate_mode>(mode)) {
    case DD_NEAREST: return dd::wrap(at::upsample_nearest2d(x, {out_h, out_w}));
    case DD_BILINEAR: return dd::wrap(at::upsample_bilinear2d(x, {out_h, out_w}, align_corners != 0));
    case DD_BICUBIC: return dd::wrap(at::upsample_bicubic2d(x, {out_h, out_w}, align_corners != 0));
  }
  throw dd::unknown_code("interpolate mode", mode);
  DD_CATCH(ctx, nullptr)
}

}  // extern "C"
