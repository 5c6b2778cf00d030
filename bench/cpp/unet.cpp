#include "unet.h"

#include <cmath>
#include <stdexcept>

namespace nn = torch::nn;
using torch::Tensor;

namespace ddpm {

UNetConfig config_by_name(const std::string& name) {
  UNetConfig c;
  if (name == "cpu-default") {
    c.image_channels = 1;
    c.n_channels = 32;
    c.ch_mults = {1, 2, 2};
    c.is_attn = {false, false, true};
    c.n_blocks = 1;
    c.n_groups = 8;
    c.dropout = 0.1;
  } else if (name == "seed") {
    c.image_channels = 3;
    c.n_channels = 64;
    c.ch_mults = {1, 2, 2, 4};
    c.is_attn = {false, false, true, true};
    c.n_blocks = 2;
    c.n_groups = 32;
    c.dropout = 0.1;
  } else {
    throw std::invalid_argument("unknown config: " + name);
  }
  return c;
}

static nn::Conv2d conv3x3(int64_t in, int64_t out) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1));
}

// ------------------------------------------------------------------ TimeEmbedding

TimeEmbeddingImpl::TimeEmbeddingImpl(int64_t n_channels) : n_channels(n_channels) {
  lin1 = register_module("lin1", nn::Linear(n_channels / 4, n_channels));
  act = register_module("act", Swish());
  lin2 = register_module("lin2", nn::Linear(n_channels, n_channels));
}

Tensor TimeEmbeddingImpl::forward(const Tensor& t) {
  const int64_t half = n_channels / 8;
  const double step = std::log(10000.0) / static_cast<double>(half - 1);
  Tensor freqs = torch::exp(torch::arange(half, torch::TensorOptions().device(t.device())) * -step);
  Tensor angles = t.unsqueeze(1) * freqs.unsqueeze(0);
  Tensor feats = torch::cat({angles.sin(), angles.cos()}, 1);
  return lin2(act(lin1(feats)));
}

// ------------------------------------------------------------------ ResidualBlock

ResidualBlock::ResidualBlock(int64_t in_channels, int64_t out_channels, int64_t time_channels,
                             int64_t n_groups, double p) {
  // Same order as Python: norm1, conv1, norm2, conv2, shortcut, time_emb (seeded init).
  norm1 = register_module("norm1", nn::GroupNorm(n_groups, in_channels));
  act1 = register_module("act1", Swish());
  conv1 = register_module("conv1", conv3x3(in_channels, out_channels));
  norm2 = register_module("norm2", nn::GroupNorm(n_groups, out_channels));
  act2 = register_module("act2", Swish());
  conv2 = register_module("conv2", conv3x3(out_channels, out_channels));
  if (in_channels != out_channels) {
    shortcut = register_module("shortcut", nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, 1)));
  } else {
    register_module("shortcut", nn::Identity());
  }
  time_emb = register_module("time_emb", nn::Linear(time_channels, out_channels));
  time_act = register_module("time_act", Swish());
  dropout = register_module("dropout", nn::Dropout(nn::DropoutOptions(p)));
}

Tensor ResidualBlock::forward(const Tensor& x, const Tensor& t) {
  Tensor h = conv1(act1(norm1(x)));
  h += time_emb(time_act(t)).unsqueeze(-1).unsqueeze(-1);
  h = conv2(dropout(act2(norm2(h))));
  return h + (shortcut ? shortcut(x) : x);
}

// ------------------------------------------------------------------ AttentionBlock

AttentionBlock::AttentionBlock(int64_t n_channels, int64_t n_groups, int64_t n_heads_, int64_t d_k_)
    : n_heads(n_heads_), d_k(d_k_ < 0 ? n_channels : d_k_) {
  norm = register_module("norm", nn::GroupNorm(n_groups, n_channels));
  projection = register_module("projection", nn::Linear(n_channels, n_heads * d_k * 3));
  output = register_module("output", nn::Linear(n_heads * d_k, n_channels));
  scale = std::pow(static_cast<double>(d_k), -0.5);
}

Tensor AttentionBlock::forward(const Tensor& x, const Tensor& /*t*/) {
  const int64_t b = x.size(0), c = x.size(1), height = x.size(2), width = x.size(3);
  Tensor skip = x.view({b, c, -1}).permute({0, 2, 1});                 // [b, seq, c]
  Tensor normed = norm(x).view({b, c, -1}).permute({0, 2, 1});          // normalise first
  Tensor qkv = projection(normed).view({b, -1, n_heads, 3 * d_k});
  auto parts = torch::chunk(qkv.transpose(1, 2), 3, -1);               // each [b, heads, seq, d_k]
  Tensor attn = torch::matmul(parts[0], parts[1].transpose(-1, -2)) * scale;  // [b, heads, query, key]
  attn = attn.softmax(-1);
  Tensor res = torch::matmul(attn, parts[2]);                            // [b, heads, seq, d_k]
  res = res.transpose(1, 2).reshape({b, -1, n_heads * d_k});
  res = output(res);
  res += skip;
  return res.permute({0, 2, 1}).view({b, c, height, width});
}

// ------------------------------------------------------------------ Down/Up/Middle blocks

ResAttnBlock::ResAttnBlock(int64_t res_in, int64_t out_channels, int64_t time_channels,
                           bool has_attn, int64_t n_groups, double p) {
  res = register_module("res", std::make_shared<ResidualBlock>(res_in, out_channels, time_channels,
                                                               n_groups, p));
  if (has_attn) {
    attn = register_module("attn", std::make_shared<AttentionBlock>(out_channels, n_groups));
  } else {
    register_module("attn", nn::Identity());
  }
}

Tensor ResAttnBlock::forward(const Tensor& x, const Tensor& t) {
  Tensor h = res->forward(x, t);
  return attn ? attn->forward(h, t) : h;
}

MiddleBlock::MiddleBlock(int64_t n_channels, int64_t time_channels, int64_t n_groups, double p) {
  res1 = register_module("res1", std::make_shared<ResidualBlock>(n_channels, n_channels, time_channels,
                                                                 n_groups, p));
  attn = register_module("attn", std::make_shared<AttentionBlock>(n_channels, n_groups));
  res2 = register_module("res2", std::make_shared<ResidualBlock>(n_channels, n_channels, time_channels,
                                                                 n_groups, p));
}

Tensor MiddleBlock::forward(const Tensor& x, const Tensor& t) {
  return res2->forward(attn->forward(res1->forward(x, t), t), t);
}

Upsample::Upsample(int64_t n_channels) {
  conv = register_module(
      "conv", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(n_channels, n_channels, 4).stride(2).padding(1)));
}

Tensor Upsample::forward(const Tensor& x, const Tensor& /*t*/) { return conv(x); }

Downsample::Downsample(int64_t n_channels) {
  conv = register_module("conv",
                         nn::Conv2d(nn::Conv2dOptions(n_channels, n_channels, 3).stride(2).padding(1)));
}

Tensor Downsample::forward(const Tensor& x, const Tensor& /*t*/) { return conv(x); }

// ------------------------------------------------------------------ UNet

UNetImpl::UNetImpl(const UNetConfig& cfg) {
  const int64_t n_res = static_cast<int64_t>(cfg.ch_mults.size());
  const int64_t time_ch = cfg.n_channels * 4;
  image_proj = register_module("image_proj", conv3x3(cfg.image_channels, cfg.n_channels));
  time_emb = register_module("time_emb", TimeEmbedding(time_ch));

  // Built into a plain ModuleList registered afterwards; construction order is what counts
  // for the seeded init, registration order for the parameter order.
  nn::ModuleList down_list;
  int64_t in_ch = cfg.n_channels, out_ch = cfg.n_channels;
  for (int64_t i = 0; i < n_res; ++i) {
    out_ch = in_ch * cfg.ch_mults[i];
    for (int64_t j = 0; j < cfg.n_blocks; ++j) {
      auto blk = std::make_shared<DownBlock>(in_ch, out_ch, time_ch, cfg.is_attn[i], cfg.n_groups, cfg.dropout);
      down_list->push_back(blk);
      down_blocks_.push_back(blk);
      in_ch = out_ch;
    }
    if (i < n_res - 1) {
      auto ds = std::make_shared<Downsample>(in_ch);
      down_list->push_back(ds);
      down_blocks_.push_back(ds);
    }
  }
  down = register_module("down", down_list);

  middle = register_module("middle", std::make_shared<MiddleBlock>(out_ch, time_ch, cfg.n_groups, cfg.dropout));

  nn::ModuleList up_list;
  in_ch = out_ch;
  for (int64_t i = n_res - 1; i >= 0; --i) {
    out_ch = in_ch;
    for (int64_t j = 0; j < cfg.n_blocks; ++j) {
      auto blk = std::make_shared<UpBlock>(in_ch, out_ch, time_ch, cfg.is_attn[i], cfg.n_groups, cfg.dropout);
      up_list->push_back(blk);
      up_blocks_.push_back(blk);
      up_is_upsample_.push_back(false);
    }
    out_ch = in_ch / cfg.ch_mults[i];
    auto blk = std::make_shared<UpBlock>(in_ch, out_ch, time_ch, cfg.is_attn[i], cfg.n_groups, cfg.dropout);
    up_list->push_back(blk);
    up_blocks_.push_back(blk);
    up_is_upsample_.push_back(false);
    in_ch = out_ch;
    if (i > 0) {
      auto us = std::make_shared<Upsample>(in_ch);
      up_list->push_back(us);
      up_blocks_.push_back(us);
      up_is_upsample_.push_back(true);
    }
  }
  up = register_module("up", up_list);

  norm = register_module("norm", nn::GroupNorm(8, cfg.n_channels));
  act = register_module("act", Swish());
  final = register_module("final", conv3x3(in_ch, cfg.image_channels));
}

Tensor UNetImpl::forward(const Tensor& x_in, const Tensor& t_in) {
  Tensor t = time_emb(t_in);
  Tensor x = image_proj(x_in);
  std::vector<Tensor> skips;
  skips.reserve(down_blocks_.size() + 1);
  skips.push_back(x);
  for (auto& m : down_blocks_) {
    x = m->forward(x, t);
    skips.push_back(x);
  }
  x = middle->forward(x, t);
  for (size_t i = 0; i < up_blocks_.size(); ++i) {
    if (up_is_upsample_[i]) {
      x = up_blocks_[i]->forward(x, t);
    } else {
      Tensor s = std::move(skips.back());
      skips.pop_back();
      x = up_blocks_[i]->forward(torch::cat({x, s}, 1), t);
    }
  }
  return final(act(norm(x)));
}

}  // namespace ddpm
