// Every difference between the LibTorch versions the shim builds against (Debian's
// 1.13 and 2.x from torch wheels), in one place. Elsewhere the shim calls these
// names and never tests TORCH_VERSION itself.
//
// Not here, because they are not switches: the caching allocator declares both the
// const (1.x) and non-const (2.3+) allocate() and a copy_data() that 1.x ignores
// (allocator.cpp), and zero_grad is implemented by the shim on every version
// (common.cpp), so that 2.0's new default does not leak through.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

namespace dd::compat {

// The `correction` argument of at::var / at::std: an optional Scalar in 2.x, an optional int64 in 1.x.
#if TORCH_VERSION_MAJOR >= 2
using Correction = c10::optional<c10::Scalar>;
#else
using Correction = c10::optional<int64_t>;
#endif

// Autocast state per device type: one function per device type with the device in
// its name in 1.x; functions that take the device type from 2.4 on (the old names
// remain, deprecated).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
inline bool autocast_enabled(at::DeviceType d) { return at::autocast::is_autocast_enabled(d); }
inline void set_autocast_enabled(at::DeviceType d, bool on) { at::autocast::set_autocast_enabled(d, on); }
inline at::ScalarType autocast_dtype(at::DeviceType d) { return at::autocast::get_autocast_dtype(d); }
inline void set_autocast_dtype(at::DeviceType d, at::ScalarType t) { at::autocast::set_autocast_dtype(d, t); }
#else
inline bool autocast_enabled(at::DeviceType d) {
  return d == at::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
inline void set_autocast_enabled(at::DeviceType d, bool on) {
  if (d == at::kCPU) at::autocast::set_cpu_enabled(on);
  else at::autocast::set_enabled(on);
}
inline at::ScalarType autocast_dtype(at::DeviceType d) {
  return d == at::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
}
inline void set_autocast_dtype(at::DeviceType d, at::ScalarType t) {
  if (d == at::kCPU) at::autocast::set_autocast_cpu_dtype(t);
  else at::autocast::set_autocast_gpu_dtype(t);
}
#endif

}  // namespace dd::compat
