// Optimizers (LibTorch's own Adam/AdamW), their state archives, and gradient clipping.
#include "common.h"

#include <sstream>

struct dd_optimizer {
  std::unique_ptr<torch::optim::Optimizer> opt;
};

extern "C" {

dd_optimizer* dd_adam_new(dd_ctx* ctx, const dd_tensor* const* params, int64_t n, double lr, double beta1,
                          double beta2, double eps, double weight_decay, int32_t amsgrad, int32_t decoupled) {
  DD_TRY(ctx, nullptr)
  DD_CHECK(lr >= 0.0, "learning rate must be >= 0, got " + std::to_string(lr));
  DD_CHECK(beta1 >= 0.0 && beta1 < 1.0, "beta1 must be in [0, 1), got " + std::to_string(beta1));
  DD_CHECK(beta2 >= 0.0 && beta2 < 1.0, "beta2 must be in [0, 1), got " + std::to_string(beta2));
  DD_CHECK(eps >= 0.0, "eps must be >= 0, got " + std::to_string(eps));
  DD_CHECK(weight_decay >= 0.0, "weight_decay must be >= 0, got " + std::to_string(weight_decay));
  std::vector<at::Tensor> ps = dd::tensors(params, n, "params");
  for (const auto& p : ps) DD_CHECK(p.is_leaf() && p.requires_grad(), "every optimized tensor must be a leaf that requires grad");
  std::unique_ptr<torch::optim::Optimizer> opt;
  if (decoupled) {
    opt = std::make_unique<torch::optim::AdamW>(
        ps, torch::optim::AdamWOptions(lr).betas({beta1, beta2}).eps(eps).weight_decay(weight_decay).amsgrad(amsgrad != 0));
  } else {
    opt = std::make_unique<torch::optim::Adam>(
        ps, torch::optim::AdamOptions(lr).betas({beta1, beta2}).eps(eps).weight_decay(weight_decay).amsgrad(amsgrad != 0));
  }
  auto* h = new dd_optimizer{std::move(opt)};
  dd::live[DD_KIND_OPTIMIZER].fetch_add(1, std::memory_order_relaxed);
  return h;
  DD_CATCH(ctx, nullptr)
}

void dd_optimizer_free(dd_optimizer* opt) {
  DD_COUNT_CALL();
  if (opt == nullptr) return;
  delete opt;
  dd::live[DD_KIND_OPTIMIZER].fetch_sub(1, std::memory_order_relaxed);
}

static torch::optim::Optimizer& get(dd_optimizer* opt) {
  DD_CHECK(opt != nullptr && opt->opt != nullptr, "optimizer handle is NULL");
  return *opt->opt;
}

void dd_optimizer_step(dd_ctx* ctx, dd_optimizer* opt) {
  DD_TRY(ctx, )
  at::NoGradGuard no_grad;
  get(opt).step();
  DD_CATCH(ctx, )
}

void dd_optimizer_zero_grad(dd_ctx* ctx, dd_optimizer* opt, int32_t set_to_none) {
  DD_TRY(ctx, )
  for (auto& group : get(opt).param_groups()) {
    for (auto& p : group.params()) dd::zero_grad(p, set_to_none != 0);
  }
  DD_CATCH(ctx, )
}

void dd_optimizer_set_lr(dd_ctx* ctx, dd_optimizer* opt, double lr) {
  DD_TRY(ctx, )
  DD_CHECK(lr >= 0.0, "learning rate must be >= 0, got " + std::to_string(lr));
  for (auto& group : get(opt).param_groups()) group.options().set_lr(lr);
  DD_CATCH(ctx, )
}

double dd_optimizer_get_lr(dd_ctx* ctx, const dd_optimizer* opt) {
  DD_TRY(ctx, 0.0)
  auto& o = get(const_cast<dd_optimizer*>(opt));
  DD_CHECK(!o.param_groups().empty(), "optimizer has no parameter groups");
  return o.param_groups().front().options().get_lr();
  DD_CATCH(ctx, 0.0)
}

dd_bytes* dd_optimizer_save(dd_ctx* ctx, const dd_optimizer* opt) {
  DD_TRY(ctx, nullptr)
  auto& o = get(const_cast<dd_optimizer*>(opt));
  torch::serialize::OutputArchive archive;
  o.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  const std::string s = out.str();
  return dd::wrap_bytes(std::vector<char>(s.begin(), s.end()));
  DD_CATCH(ctx, nullptr)
}

void dd_optimizer_load(dd_ctx* ctx, dd_optimizer* opt, const void* data, int64_t length) {
  DD_TRY(ctx, )
  DD_CHECK(data != nullptr && length > 0, "optimizer state buffer is empty");
  auto& o = get(opt);
  torch::serialize::InputArchive archive;
  archive.load_from(static_cast<const char*>(data), static_cast<size_t>(length));
  o.load(archive);
  DD_CATCH(ctx, )
}

double dd_clip_grad_norm(dd_ctx* ctx, const dd_tensor* const* params, int64_t n, double max_norm, double norm_type) {
  DD_TRY(ctx, 0.0)
  DD_CHECK(max_norm > 0.0, "max_norm must be > 0, got " + std::to_string(max_norm));
  return torch::nn::utils::clip_grad_norm_(dd::tensors(params, n, "params"), max_norm, norm_type);
  DD_CATCH(ctx, 0.0)
}

}  // extern "C"
