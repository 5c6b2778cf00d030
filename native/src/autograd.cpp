// Autograd: requires_grad, gradients, backward.
#include "common.h"

extern "C" {

void dd_set_requires_grad(dd_ctx* ctx, dd_tensor* t, int32_t requires_grad) {
  DD_TRY(ctx, )
  dd::mut(t, "t").set_requires_grad(requires_grad != 0);
  DD_CATCH(ctx, )
}

dd_tensor* dd_grad(dd_ctx* ctx, const dd_tensor* t) {
  DD_TRY(ctx, nullptr)
  const at::Tensor& g = dd::ref(t, "t").grad();
  return g.defined() ? dd::wrap(g) : nullptr;
  DD_CATCH(ctx, nullptr)
}

void dd_set_grad(dd_ctx* ctx, dd_tensor* t, const dd_tensor* grad) {
  DD_TRY(ctx, )
  at::Tensor& x = dd::mut(t, "t");
  if (grad == nullptr) {
    x.mutable_grad().reset();
    return;
  }
  const at::Tensor& g = grad->t;
  DD_CHECK(g.sizes() == x.sizes(), "gradient shape " + c10::str(g.sizes()) + " differs from tensor shape " +
                                        c10::str(x.sizes()));
  DD_CHECK(g.scalar_type() == x.scalar_type() && g.device() == x.device(),
            "gradient dtype/device must match the tensor's");
  x.mutable_grad() = g;
  DD_CATCH(ctx, )
}

void dd_zero_grad(dd_ctx* ctx, dd_tensor* t, int32_t set_to_none) {
  DD_TRY(ctx, )
  dd::zero_grad(dd::mut(t, "t"), set_to_none != 0);
  DD_CATCH(ctx, )
}

void dd_backward(dd_ctx* ctx, const dd_tensor* t, const dd_tensor* gradient, int32_t retain_graph) {
  DD_TRY(ctx, )
  const at::Tensor& x = dd::ref(t, "t");
  DD_CHECK(x.requires_grad(), "backward called on a tensor that does not require grad and has no grad_fn");
  x.backward(gradient ? gradient->t : at::Tensor(), retain_graph != 0, false);
  DD_CATCH(ctx, )
}

}  // extern "C"
