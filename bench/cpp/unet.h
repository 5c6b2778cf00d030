// DDPM noise-prediction UNet on the LibTorch C++ API, for the ddpm4j benchmark baselines.
//
// Same module tree, parameter names (image_proj, time_emb.lin1, down.0.res.conv1, ...) and
// construction order as bench/python/unet.py, so torch::manual_seed(0) gives the same weights
// in both. Like the Python version it follows labml_nn/diffusion/ddpm/unet.py except that
// AttentionBlock applies its GroupNorm before the q/k/v projection.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace ddpm {

struct UNetConfig {
  int64_t image_channels = 3;
  int64_t n_channels = 64;
  std::vector<int64_t> ch_mults{1, 2, 2, 4};
  std::vector<bool> is_attn{false, false, true, true};
  int64_t n_blocks = 2;
  int64_t n_groups = 32;  // GroupNorm groups of residual and attention blocks
  double dropout = 0.1;
};

// "cpu-default" or "seed"; throws std::invalid_argument otherwise.
UNetConfig config_by_name(const std::string& name);
constexpr int64_t kImageSize = 32;

struct SwishImpl : torch::nn::Module {
  // x * sigmoid(x) as in the original, computed by the fused op as ddpm4j does
  torch::Tensor forward(const torch::Tensor& x) { return torch::silu(x); }
};
TORCH_MODULE(Swish);

// Blocks of the down/up paths: all take the image features and the time embedding.
struct TimedBlock : torch::nn::Module {
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) = 0;
};

struct TimeEmbeddingImpl : torch::nn::Module {
  explicit TimeEmbeddingImpl(int64_t n_channels);
  torch::Tensor forward(const torch::Tensor& t);

  int64_t n_channels;
  torch::nn::Linear lin1{nullptr};
  Swish act{nullptr};
  torch::nn::Linear lin2{nullptr};
};
TORCH_MODULE(TimeEmbedding);

struct ResidualBlock : TimedBlock {
  ResidualBlock(int64_t in_channels, int64_t out_channels, int64_t time_channels,
                int64_t n_groups, double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;

  torch::nn::GroupNorm norm1{nullptr};
  Swish act1{nullptr};
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::GroupNorm norm2{nullptr};
  Swish act2{nullptr};
  torch::nn::Conv2d conv2{nullptr};
  torch::nn::Conv2d shortcut{nullptr};  // null when registered as Identity
  torch::nn::Linear time_emb{nullptr};
  Swish time_act{nullptr};
  torch::nn::Dropout dropout{nullptr};
};

struct AttentionBlock : TimedBlock {
  AttentionBlock(int64_t n_channels, int64_t n_groups, int64_t n_heads = 1, int64_t d_k = -1);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t = {}) override;

  torch::nn::GroupNorm norm{nullptr};
  torch::nn::Linear projection{nullptr};
  torch::nn::Linear output{nullptr};
  double scale;
  int64_t n_heads;
  int64_t d_k;
};

// DownBlock and UpBlock: a ResidualBlock then an AttentionBlock or Identity.
struct ResAttnBlock : TimedBlock {
  ResAttnBlock(int64_t res_in, int64_t out_channels, int64_t time_channels, bool has_attn,
               int64_t n_groups, double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;

  std::shared_ptr<ResidualBlock> res;
  std::shared_ptr<AttentionBlock> attn;  // null when registered as Identity
};

struct DownBlock : ResAttnBlock {
  DownBlock(int64_t in_channels, int64_t out_channels, int64_t time_channels, bool has_attn,
            int64_t n_groups, double dropout)
      : ResAttnBlock(in_channels, out_channels, time_channels, has_attn, n_groups, dropout) {}
};

struct UpBlock : ResAttnBlock {
  // The input is the concatenation with the skip connection: in_channels + out_channels.
  UpBlock(int64_t in_channels, int64_t out_channels, int64_t time_channels, bool has_attn,
          int64_t n_groups, double dropout)
      : ResAttnBlock(in_channels + out_channels, out_channels, time_channels, has_attn, n_groups,
                     dropout) {}
};

struct MiddleBlock : TimedBlock {
  MiddleBlock(int64_t n_channels, int64_t time_channels, int64_t n_groups, double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;

  std::shared_ptr<ResidualBlock> res1;
  std::shared_ptr<AttentionBlock> attn;
  std::shared_ptr<ResidualBlock> res2;
};

struct Upsample : TimedBlock {
  explicit Upsample(int64_t n_channels);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;
  torch::nn::ConvTranspose2d conv{nullptr};
};

struct Downsample : TimedBlock {
  explicit Downsample(int64_t n_channels);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override;
  torch::nn::Conv2d conv{nullptr};
};

struct UNetImpl : torch::nn::Module {
  explicit UNetImpl(const UNetConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t);

  torch::nn::Conv2d image_proj{nullptr};
  TimeEmbedding time_emb{nullptr};
  torch::nn::ModuleList down{nullptr};
  std::shared_ptr<MiddleBlock> middle;
  torch::nn::ModuleList up{nullptr};
  torch::nn::GroupNorm norm{nullptr};
  Swish act{nullptr};
  torch::nn::Conv2d final{nullptr};

 private:
  // Typed views of `down` and `up`, so forward needs no casts.
  std::vector<std::shared_ptr<TimedBlock>> down_blocks_;
  std::vector<std::shared_ptr<TimedBlock>> up_blocks_;
  std::vector<bool> up_is_upsample_;
};
TORCH_MODULE(UNet);

}  // namespace ddpm
