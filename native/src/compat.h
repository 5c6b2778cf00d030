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

// ------------------------------------------------------------------------------ c10d
// What torch.distributed's Python front end of each version does around a process group
// (torch/distributed/distributed_c10d.py and rendezvous.py of that version), so that a
// Python rank of the same LibTorch joins a group that the shim creates. Only
// native/src/distributed.cpp compiles this part: it includes c10d's headers and then
// defines DD_COMPAT_C10D.
#ifdef DD_COMPAT_C10D

#include <thread>

namespace dd::compat {

#if TORCH_VERSION_MAJOR >= 2
// 2.0 split the process group into a front (c10d::ProcessGroup) and one Backend per device
// type; the collectives are the backend's.
using CollectiveBackend = c10d::Backend;

// _new_process_group_helper: PrefixStore(f"{group_name}/", store), then one
// PrefixStore(f"{device}/", ...) per backend; the default group's name is "0".
inline std::vector<std::string> group_prefixes(const std::string& device_type) {
  return {"0/", device_type + "/"};
}

// _create_c10d_store under a torchelastic agent's store: the bare TCPStore.
inline std::string agent_store_prefix(int32_t restart_count) { return ""; }

// TCPStore::waitForWorkers on the server throws once its timeout has passed ("Timed out after 3
// seconds waiting for clients. 1/2 clients joined."), measured on 2.13.
constexpr bool kServerWaitThrows = true;

// init_process_group's store-based barrier, run only when TORCH_DIST_INIT_BARRIER=1:
// _store_based_barrier(rank, store, group_name="0", world_size, timeout).
inline void store_based_barrier(c10d::Store& store, int32_t world_size, std::chrono::milliseconds timeout) {
  const std::string key = "store_based_barrier_key:0";
  const std::string last_worker = key + ":last_worker";
  if (store.add(key, 1) == world_size) store.set(last_worker, std::vector<uint8_t>{'1'});
  store.wait({last_worker}, timeout);
}

// After the backend exists: its sequence number, then the barrier if asked for.
template <class Backend>
void after_group_created(Backend& backend, c10d::Store& store, int32_t world_size,
                         std::chrono::milliseconds timeout, bool init_barrier) {
  backend.setSequenceNumberForGroup();
  if (init_barrier) store_based_barrier(store, world_size, timeout);
}
#else
using CollectiveBackend = c10d::ProcessGroup;

// _new_process_group_helper: PrefixStore(group_name, store), the default group's name "0".
inline std::vector<std::string> group_prefixes(const std::string& device_type) { return {"0"}; }

// _create_c10d_store under a torchelastic agent's store.
inline std::string agent_store_prefix(int32_t restart_count) {
  return "/worker/attempt_" + std::to_string(restart_count);
}

// TCPStore::waitForWorkers on the server stops waiting once its timeout has passed, and returns
// as if every rank had come (1.13): the Gloo rendezvous after it then waits another timeout.
constexpr bool kServerWaitThrows = false;

// init_process_group's store-based barrier, always run: _store_based_barrier(rank, store,
// timeout) on key "store_based_barrier_key:{_group_count}", 1 after the default group.
inline void store_based_barrier(c10d::Store& store, int32_t world_size, std::chrono::milliseconds timeout) {
  const std::string key = "store_based_barrier_key:1";
  store.add(key, 1);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t joined = store.add(key, 0); joined != world_size; joined = store.add(key, 0)) {
    if (std::chrono::steady_clock::now() - start > timeout) {
      throw std::runtime_error("Timed out initializing process group in store based barrier for key: " + key +
                               " (world_size=" + std::to_string(world_size) + ", worker_count=" +
                               std::to_string(joined) + ", timeout=" + std::to_string(timeout.count()) + " ms)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// After the group exists: the barrier (1.x has no TORCH_DIST_INIT_BARRIER), then the sequence number.
template <class Backend>
void after_group_created(Backend& backend, c10d::Store& store, int32_t world_size,
                         std::chrono::milliseconds timeout, bool init_barrier) {
  store_based_barrier(store, world_size, timeout);
  backend.setSequenceNumberForGroup();
}
#endif

#ifdef DD_WITH_GLOO
// Gloo's transport device, as the ProcessGroupGloo(store, rank, size, timeout) binding of
// torch._C makes it: one per interface in GLOO_SOCKET_IFNAME, else the default device (the
// host name's address if it can bind it, else loopback). 2.8 added lazy connection setup
// (TORCH_GLOO_LAZY_INIT), which every rank must agree on.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 8)
inline auto gloo_device_for_interface(const std::string& name) {
  return c10d::ProcessGroupGloo::createDeviceForInterface(name, c10d::getDefaultGlooLazyInit());
}
inline auto gloo_default_device() {
  return c10d::ProcessGroupGloo::createDefaultDevice(c10d::getDefaultGlooLazyInit());
}
#else
inline auto gloo_device_for_interface(const std::string& name) {
  return c10d::ProcessGroupGloo::createDeviceForInterface(name);
}
inline auto gloo_default_device() { return c10d::ProcessGroupGloo::createDefaultDevice(); }
#endif
#endif  // DD_WITH_GLOO

}  // namespace dd::compat

#endif  // DD_COMPAT_C10D
