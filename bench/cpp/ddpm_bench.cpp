// LibTorch C++ baseline for the ddpm4j benchmarks; protocol in bench/README.md.
//
//   bench/cpp/build/ddpm_bench --workload forward --config seed --batch 16 --threads 2 --warmup 2 --reps 5
//
// prints one JSON line to stdout. --check prints the parity line instead.
#include "unet.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using torch::Tensor;

namespace {

constexpr int64_t kAdd16OpsPerRep = 10000;
constexpr uint64_t kSeed = 0;

struct Args {
  std::string workload;  // add16 | forward | train
  std::string config = "cpu-default";
  int64_t batch = 1;
  int threads = 1;
  int warmup = 2;
  int reps = 5;
  std::string device = "cpu";
  int blas_threads = 0;
  bool check = false;
  bool list_params = false;
};

[[noreturn]] void usage(const std::string& msg) {
  std::cerr << "ddpm_bench: " << msg << "\n"
            << "usage: ddpm_bench --workload {add16,forward,train} [--config {cpu-default,seed}] [--batch N]\n"
            << "                  [--threads T] [--warmup W] [--reps R] [--device {cpu,cuda}] [--blas-threads N]\n"
            << "       ddpm_bench --check [--threads T] [--device {cpu,cuda}]\n"
            << "       ddpm_bench --list-params [--config C]\n";
  std::exit(2);
}

long parse_int(const std::string& name, const std::string& v) {
  try {
    size_t pos = 0;
    long r = std::stol(v, &pos);
    if (pos != v.size()) throw std::invalid_argument(v);
    return r;
  } catch (const std::exception&) {
    usage(name + ": not an integer: " + v);
  }
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string key = argv[i], val;
    if (key == "-h" || key == "--help") usage("help");
    if (key == "--check") { a.check = true; continue; }
    if (key == "--list-params") { a.list_params = true; continue; }
    auto eq = key.find('=');
    if (eq != std::string::npos) {
      val = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else {
      if (i + 1 >= argc) usage(key + " needs a value");
      val = argv[++i];
    }
    if (key == "--workload") a.workload = val;
    else if (key == "--config") a.config = val;
    else if (key == "--batch") a.batch = parse_int(key, val);
    else if (key == "--threads") a.threads = static_cast<int>(parse_int(key, val));
    else if (key == "--warmup") a.warmup = static_cast<int>(parse_int(key, val));
    else if (key == "--reps") a.reps = static_cast<int>(parse_int(key, val));
    else if (key == "--device") a.device = val;
    else if (key == "--blas-threads") a.blas_threads = static_cast<int>(parse_int(key, val));
    else usage("unknown option " + key);
  }
  if (!a.check && !a.list_params && a.workload != "add16" && a.workload != "forward" && a.workload != "train")
    usage("--workload must be add16, forward or train (or use --check)");
  if (a.config != "cpu-default" && a.config != "seed") usage("--config must be cpu-default or seed");
  if (a.device != "cpu" && a.device != "cuda") usage("--device must be cpu or cuda");
  if (a.threads < 1 || a.batch < 1 || a.reps < 1 || a.warmup < 0)
    usage("--threads, --batch, --reps must be >= 1 and --warmup >= 0");
  return a;
}

// ------------------------------------------------------------------ JSON

std::string json_str(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string json_num(double v) {
  char buf[32];
  if (v == static_cast<double>(static_cast<int64_t>(v)) && std::abs(v) < 9e15)
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  else
    for (int prec = 15; prec <= 17; ++prec) {  // shortest text that reads back as v
      std::snprintf(buf, sizeof buf, "%.*g", prec, v);
      if (std::strtod(buf, nullptr) == v) break;
    }
  return buf;
}

// ------------------------------------------------------------------ BLAS reporting

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t-"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The BLAS/LAPACK entries of at::show_config(); same parsing as the Python baseline.
std::string blas_info() {
  std::istringstream in(at::show_config());
  std::vector<std::string> parts;
  const std::string marker = "Build settings:";
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    auto m = line.find(marker);
    if (m != std::string::npos) {
      std::istringstream items(line.substr(m + marker.size()));
      for (std::string item; std::getline(items, item, ',');) {
        item = trim(item);
        if (item.rfind("BLAS_INFO=", 0) == 0 || item.rfind("LAPACK_INFO=", 0) == 0) parts.push_back(item);
      }
    } else if (line.find("BLAS") != std::string::npos || line.find("LAPACK") != std::string::npos) {
      parts.push_back(line);
    }
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "; " : "") + parts[i];
  return out;
}

// Real paths of the BLAS/LAPACK libraries mapped into this process.
std::vector<std::string> loaded_blas_libs() {
  std::vector<std::string> libs;
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    std::string base = path.substr(path.rfind('/') + 1);
    std::transform(base.begin(), base.end(), base.begin(), ::tolower);
    if (base.find("blas") == std::string::npos && base.find("lapack") == std::string::npos &&
        base.find("mkl") == std::string::npos)
      continue;
    char real[PATH_MAX];
    std::string r = realpath(path.c_str(), real) ? std::string(real) : path;
    if (std::find(libs.begin(), libs.end(), r) == libs.end()) libs.push_back(r);
  }
  return libs;
}

using openblas_get_fn = int (*)();
using openblas_set_fn = void (*)(int);

struct OpenBlas {
  openblas_get_fn get = nullptr;
  openblas_set_fn set = nullptr;
};

OpenBlas find_openblas(const std::vector<std::string>& libs) {
  OpenBlas ob;
  for (const auto& path : libs) {
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (!h) continue;
    ob.get = reinterpret_cast<openblas_get_fn>(dlsym(h, "openblas_get_num_threads"));
    ob.set = reinterpret_cast<openblas_set_fn>(dlsym(h, "openblas_set_num_threads"));
    if (ob.get && ob.set) return ob;
    ob = OpenBlas{};
  }
  return ob;
}

// ------------------------------------------------------------------ workloads

using Clock = std::chrono::steady_clock;

inline int64_t ns_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

inline void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize(d.has_index() ? d.index() : -1);
}

std::vector<double> bench_add16(const torch::Device& dev, int warmup, int reps) {
  auto opts = torch::TensorOptions().device(dev);
  Tensor a = torch::randn({16}, opts);
  Tensor b = torch::randn({16}, opts);
  auto one_rep = [&]() -> double {
    sync(dev);
    auto start = Clock::now();
    for (int64_t i = 0; i < kAdd16OpsPerRep; ++i) {
      auto c = a + b;
    }
    sync(dev);
    return static_cast<double>(ns_since(start)) / kAdd16OpsPerRep;
  };
  for (int i = 0; i < warmup; ++i) one_rep();
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) times.push_back(one_rep());
  return times;
}

std::pair<Tensor, Tensor> model_inputs(const ddpm::UNetConfig& cfg, int64_t batch, const torch::Device& dev) {
  Tensor x = torch::randn({batch, cfg.image_channels, ddpm::kImageSize, ddpm::kImageSize},
                          torch::TensorOptions().device(dev));
  Tensor t = torch::randint(0, 1000, {batch}, torch::TensorOptions().dtype(torch::kLong).device(dev));
  return {x, t};
}

std::vector<double> bench_forward(const std::string& config, int64_t batch, const torch::Device& dev,
                                  int warmup, int reps) {
  auto cfg = ddpm::config_by_name(config);
  torch::manual_seed(kSeed);
  ddpm::UNet model(cfg);
  model->to(dev);
  model->eval();
  auto [x, t] = model_inputs(cfg, batch, dev);
  std::vector<double> times;
  c10::InferenceMode guard;
  for (int i = 0; i < warmup + reps; ++i) {
    sync(dev);
    auto start = Clock::now();
    {
      Tensor eps = model->forward(x, t);
      sync(dev);
    }
    int64_t elapsed = ns_since(start);
    if (i >= warmup) times.push_back(static_cast<double>(elapsed));
  }
  return times;
}

std::vector<double> bench_train(const std::string& config, int64_t batch, const torch::Device& dev,
                                int warmup, int reps) {
  auto cfg = ddpm::config_by_name(config);
  torch::manual_seed(kSeed);
  ddpm::UNet model(cfg);
  model->to(dev);
  model->train();
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(2e-5));
  auto [x, t] = model_inputs(cfg, batch, dev);
  Tensor noise = torch::randn_like(x);
  std::vector<double> times;
  for (int i = 0; i < warmup + reps; ++i) {
    sync(dev);
    auto start = Clock::now();
    {
      Tensor eps = model->forward(x, t);
      Tensor loss = torch::mse_loss(eps, noise);
      loss.backward();
      opt.step();
      opt.zero_grad();  // 1.13: zeroes the gradients in place, like Python's default
      sync(dev);
    }
    int64_t elapsed = ns_since(start);
    if (i >= warmup) times.push_back(static_cast<double>(elapsed));
  }
  return times;
}

void run_check(const Args& args, const torch::Device& dev) {
  torch::manual_seed(kSeed);
  ddpm::UNet model(ddpm::config_by_name("cpu-default"));
  model->to(dev);
  model->eval();
  int64_t n_params = 0;
  double psum = 0, pabs = 0;
  auto params = model->parameters();
  for (const auto& p : params) {
    Tensor d = p.detach().to(torch::kDouble);
    n_params += p.numel();
    psum += d.sum().item<double>();
    pabs += d.abs().sum().item<double>();
  }
  torch::manual_seed(1);
  Tensor x = torch::randn({2, 1, ddpm::kImageSize, ddpm::kImageSize}).to(dev);
  Tensor t = torch::tensor({10, 500}, torch::TensorOptions().dtype(torch::kLong).device(dev));
  Tensor out;
  {
    c10::InferenceMode guard;
    out = model->forward(x, t).to(torch::kDouble).cpu();
  }
  std::string shape;
  for (int64_t i = 0; i < out.dim(); ++i) shape += (i ? ", " : "") + std::to_string(out.size(i));
  std::cout << "{\"runtime\": \"cpp\", \"check\": \"cpu-default\", \"threads\": " << args.threads
            << ", \"device\": " << json_str(dev.is_cuda() ? "cuda" : "cpu")
            << ", \"n_params\": " << n_params << ", \"n_tensors\": " << params.size()
            << ", \"param_sum\": " << json_num(psum) << ", \"param_abs_sum\": " << json_num(pabs)
            << ", \"input_sum\": " << json_num(x.to(torch::kDouble).sum().item<double>())
            << ", \"out_shape\": [" << shape << "]"
            << ", \"out_sum\": " << json_num(out.sum().item<double>())
            << ", \"out_abs_sum\": " << json_num(out.abs().sum().item<double>()) << "}" << std::endl;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv);
  try {
    if (args.device == "cuda" && !torch::cuda::is_available()) {
      std::cerr << "ddpm_bench: --device cuda but this LibTorch has no usable CUDA\n";
      return 1;
    }
    torch::Device dev(args.device == "cuda" ? torch::kCUDA : torch::kCPU);
    at::set_num_threads(args.threads);

    auto libs = loaded_blas_libs();
    OpenBlas ob = find_openblas(libs);
    if (ob.set && args.blas_threads > 0) ob.set(args.blas_threads);

    if (args.check) {
      run_check(args, dev);
      return 0;
    }
    if (args.list_params) {
      torch::manual_seed(kSeed);
      ddpm::UNet model(ddpm::config_by_name(args.config));
      for (const auto& item : model->named_parameters()) {
        std::string shape;
        for (int64_t i = 0; i < item.value().dim(); ++i) shape += (i ? "x" : "") + std::to_string(item.value().size(i));
        char sum[64];
        std::snprintf(sum, sizeof sum, "%.9e", item.value().detach().to(torch::kDouble).sum().item<double>());
        std::cout << item.key() << " " << shape << " " << sum << "\n";
      }
      return 0;
    }

    std::vector<double> times;
    if (args.workload == "add16") times = bench_add16(dev, args.warmup, args.reps);
    else if (args.workload == "forward") times = bench_forward(args.config, args.batch, dev, args.warmup, args.reps);
    else times = bench_train(args.config, args.batch, dev, args.warmup, args.reps);

    const bool add16 = args.workload == "add16";
    std::ostringstream o;
    o << "{\"runtime\": \"cpp\", \"workload\": " << json_str(args.workload)
      << ", \"config\": " << (add16 ? "null" : json_str(args.config))
      << ", \"batch\": " << (add16 ? "null" : std::to_string(args.batch))
      << ", \"threads\": " << args.threads << ", \"times_ns\": [";
    for (size_t i = 0; i < times.size(); ++i) o << (i ? ", " : "") << json_num(times[i]);
    o << "], \"median_ns\": " << json_num(median(times)) << ", \"blas\": " << json_str(blas_info())
      << ", \"device\": " << json_str(dev.is_cuda() ? "cuda" : "cpu") << ", \"warmup\": " << args.warmup
      << ", \"reps\": " << args.reps << ", \"ops_per_rep\": " << (add16 ? kAdd16OpsPerRep : 1)
      << ", \"torch_version\": " << json_str(TORCH_VERSION) << ", \"num_threads\": " << at::get_num_threads()
      << ", \"blas_libs\": [";
    for (size_t i = 0; i < libs.size(); ++i) o << (i ? ", " : "") << json_str(libs[i]);
    o << "], \"blas_threads\": " << (ob.get ? std::to_string(ob.get()) : std::string("null")) << "}";
    std::cout << o.str() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "ddpm_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
