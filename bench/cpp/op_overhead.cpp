// Per-op overhead of add16 (two 16-element float32 CPU tensors), counted rather than timed,
// on three paths:
//   aten           at::add(a, b), the result destroyed: what ddpm_bench's add16 does
//   shim-unscoped  the dd_* calls that Java makes for c = a.add(b); c.close() with no Scope open
//   shim-scoped    the same inside an open Scope
// The shim is the libddpm4j.so given with --lib, loaded with dlopen; it must be built against
// the LibTorch this program links (bench/run builds both per LibTorch).
//
//   op_overhead --lib target/native-count-2.13.0/libddpm4j.so [--ops N] [--warmup W] [--threads T]
//
// prints one JSON line. Per path:
//   allocs_per_op      native heap allocations per op: this executable defines malloc, calloc,
//                      realloc, posix_memalign, aligned_alloc, memalign, valloc and pvalloc (and
//                      free), counts each call and forwards it to glibc's __libc_* functions. It
//                      exports them (ENABLE_EXPORTS), so every library in the process, LibTorch and
//                      the shim included, binds to them; operator new and c10's posix_memalign
//                      land here. A realloc counts as one allocation.
//   frees_per_op       calls of free with a non-null pointer, per op
//   downcalls_per_op   dd_call_count's difference per op on the shim paths, when --lib is a
//                      counting build (DDPM4J_COUNT_CALLS=ON), else null; 0 for aten
// aten runs before the shim is loaded, since loading it installs the shim's caching CPU
// allocator for every tensor after (Java's paths go through it, C++ programs do not).
// Under valgrind --tool=callgrind (best with --instr-atstart=no), each path's measured ops are
// one dump of their own (CALLGRIND_ZERO_STATS before, CALLGRIND_DUMP_STATS_AT("<path>") after),
// whose "totals:" line divided by --ops is instructions per op; bench/compare.py reads them.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <errno.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include "ddpm4j.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define OP_OVERHEAD_CALLGRIND 1
#else
#define OP_OVERHEAD_CALLGRIND 0
#define RUNNING_ON_VALGRIND 0
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(name)
#endif

// ------------------------------------------------------------ malloc counting

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void* __libc_valloc(size_t size);
void* __libc_pvalloc(size_t size);
void __libc_free(void* p);
}

namespace {
std::atomic<int64_t> g_allocs{0};
std::atomic<int64_t> g_frees{0};
std::atomic<int64_t> g_bytes{0};

inline void counted(size_t size) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  g_bytes.fetch_add(static_cast<int64_t>(size), std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(size_t size) noexcept {
  counted(size);
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) noexcept {
  counted(count * size);
  return __libc_calloc(count, size);
}
void* realloc(void* p, size_t size) noexcept {
  counted(size);
  return __libc_realloc(p, size);
}
void* memalign(size_t alignment, size_t size) noexcept {
  counted(size);
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) noexcept {
  counted(size);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  counted(size);
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(size_t size) noexcept {
  counted(size);
  return __libc_valloc(size);
}
void* pvalloc(size_t size) noexcept {
  counted(size);
  return __libc_pvalloc(size);
}
void free(void* p) noexcept {
  if (p != nullptr) g_frees.fetch_add(1, std::memory_order_relaxed);
  __libc_free(p);
}
}  // extern "C"

namespace {

// ------------------------------------------------------------------ the shim

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "op_overhead: " << msg << "\n";
  std::exit(1);
}

struct Shim {
  decltype(&dd_binary) binary;
  decltype(&dd_tensor_storage_nbytes) storage_nbytes;
  decltype(&dd_tensor_is_alias_of) is_alias_of;
  decltype(&dd_tensor_free) tensor_free;
  decltype(&dd_randn) randn;
  decltype(&dd_set_num_threads) set_num_threads;
  decltype(&dd_torch_version) torch_version;
  decltype(&dd_call_count) call_count;  // null in a shim that predates it

  explicit Shim(const std::string& path) {
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) die(std::string("cannot load the shim: ") + dlerror());
    binary = find<decltype(binary)>(lib, "dd_binary");
    storage_nbytes = find<decltype(storage_nbytes)>(lib, "dd_tensor_storage_nbytes");
    is_alias_of = find<decltype(is_alias_of)>(lib, "dd_tensor_is_alias_of");
    tensor_free = find<decltype(tensor_free)>(lib, "dd_tensor_free");
    randn = find<decltype(randn)>(lib, "dd_randn");
    set_num_threads = find<decltype(set_num_threads)>(lib, "dd_set_num_threads");
    torch_version = find<decltype(torch_version)>(lib, "dd_torch_version");
    call_count = reinterpret_cast<decltype(call_count)>(dlsym(lib, "dd_call_count"));
  }

  template <typename F>
  static F find(void* lib, const char* name) {
    void* f = dlsym(lib, name);
    if (f == nullptr) die(std::string("the shim lacks ") + name);
    return reinterpret_cast<F>(f);
  }

  /** @return dd_call_count, or -1 when the shim does not count */
  int64_t calls() const { return call_count ? call_count() : -1; }
};

// Java reads the error record after every call that takes the context (Native.check).
inline void check(const dd_ctx& ctx) {
  if (ctx.status != DD_OK) die(std::string(ctx.function) + ": " + ctx.message);
}

// ----------------------------------------------------------------------------
// The dd_* calls that Java makes for one add16, c = a.add(b); c.close(), as read off
// src/main/java/io/github/ddpm4j/torch/{Tensor,NativeHandle,Native,Scope,Critical}.java. When that
// path changes, change these two functions (and nothing else):
//   Tensor.add -> Tensor.binary: dd_binary, then Native.check reads ctx.status.
//   Tensor.result -> backingOf: dd_tensor_is_alias_of only for an input over Java-owned
//     memory (Torch.fromSegment), which add16's operands are not: no call.
//   new Tensor: with no scope open, NativeHandle.backstop registers the Cleaner and reads
//     dd_tensor_storage_nbytes (Critical.tensorStorageNbytes) for NativeMemory's accounting;
//     in a scope, Scope.add only.
//   Tensor.close -> NativeHandle.close/run: dd_tensor_free (in a scope too: the scope's
//     dd_tensor_free_all only frees what is still open when the scope closes).
// Java's downcall overhead itself (FFM's thread-state transitions) has no counterpart here.
void java_add16_unscoped(const Shim& s, dd_ctx& ctx, const dd_tensor* a, const dd_tensor* b) {
  dd_tensor* c = s.binary(&ctx, DD_ADD, a, b);
  check(ctx);
  s.storage_nbytes(c);
  s.tensor_free(c);
}

void java_add16_scoped(const Shim& s, dd_ctx& ctx, const dd_tensor* a, const dd_tensor* b) {
  dd_tensor* c = s.binary(&ctx, DD_ADD, a, b);
  check(ctx);
  s.tensor_free(c);
}
// ----------------------------------------------------------------------------

struct Counts {
  const char* path = "";
  double allocs = 0, frees = 0, bytes = 0, downcalls = 0;  // per op; downcalls < 0: not counted
};

// Runs `op` warmup times, then ops times between two readings of every counter; under
// callgrind the measured ops are one dump named after the path. shim: the loaded shim, whose
// calls are counted, or null for a path that makes none.
template <typename Op>
Counts measure(const char* path, const Shim* shim, int64_t warmup, int64_t ops, Op op) {
  for (int64_t i = 0; i < warmup; ++i) op();
  CALLGRIND_ZERO_STATS;
  const int64_t calls0 = shim ? shim->calls() : 0;
  const int64_t allocs0 = g_allocs.load(std::memory_order_relaxed);
  const int64_t frees0 = g_frees.load(std::memory_order_relaxed);
  const int64_t bytes0 = g_bytes.load(std::memory_order_relaxed);
  for (int64_t i = 0; i < ops; ++i) op();
  const int64_t allocs1 = g_allocs.load(std::memory_order_relaxed);
  const int64_t frees1 = g_frees.load(std::memory_order_relaxed);
  const int64_t bytes1 = g_bytes.load(std::memory_order_relaxed);
  const int64_t calls1 = shim ? shim->calls() : 0;
  CALLGRIND_DUMP_STATS_AT(path);
  const double n = static_cast<double>(ops);
  return {path, (allocs1 - allocs0) / n, (frees1 - frees0) / n, (bytes1 - bytes0) / n,
          calls0 < 0 ? -1.0 : (calls1 - calls0) / n};
}

int64_t parse_int(const char* name, const char* v) {
  char* end = nullptr;
  errno = 0;
  long long r = std::strtoll(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || r < 0) die(std::string(name) + ": not a count: " + v);
  return r;
}

std::string num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::string lib;
  int64_t ops = 100000, warmup = 1000, threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) die("usage: op_overhead --lib LIBDDPM4J [--ops N] [--warmup W] [--threads T]");
    const char* v = argv[++i];
    if (a == "--lib") lib = v;
    else if (a == "--ops") ops = parse_int("--ops", v);
    else if (a == "--warmup") warmup = parse_int("--warmup", v);
    else if (a == "--threads") threads = parse_int("--threads", v);
    else die("unknown argument " + a);
  }
  if (lib.empty()) die("--lib is required");
  if (ops < 1 || threads < 1) die("--ops and --threads must be at least 1");

  at::set_num_threads(static_cast<int>(threads));
  CALLGRIND_START_INSTRUMENTATION;
  // Bare ATen first, before the shim is loaded: loading it installs its caching CPU
  // allocator (native/src/allocator.cpp), which every later tensor then goes through.
  Counts aten;
  {
    const at::Tensor a = at::randn({16});
    const at::Tensor b = at::randn({16});
    aten = measure("aten", nullptr, warmup, ops, [&] { at::Tensor c = at::add(a, b); });
  }

  Shim shim(lib);
  if (std::strcmp(shim.torch_version(), TORCH_VERSION) != 0) {
    die(std::string("the shim is built against LibTorch ") + shim.torch_version() + ", this program against " + TORCH_VERSION);
  }
  dd_ctx ctx;
  std::memset(&ctx, 0, sizeof ctx);  // as Java's: DD_GRAD_ENABLED, no autocast, DD_OK
  shim.set_num_threads(&ctx, static_cast<int32_t>(threads));
  check(ctx);
  const int64_t shape[] = {16};
  dd_tensor* sa = shim.randn(&ctx, shape, 1, DD_FLOAT32, DD_CPU, -1, nullptr);
  check(ctx);
  dd_tensor* sb = shim.randn(&ctx, shape, 1, DD_FLOAT32, DD_CPU, -1, nullptr);
  check(ctx);
  const Counts counts[] = {
      aten,
      measure("shim-unscoped", &shim, warmup, ops, [&] { java_add16_unscoped(shim, ctx, sa, sb); }),
      measure("shim-scoped", &shim, warmup, ops, [&] { java_add16_scoped(shim, ctx, sa, sb); }),
  };
  shim.tensor_free(sa);
  shim.tensor_free(sb);

  std::ostringstream o;
  o << "{\"runtime\": \"cpp\", \"workload\": \"add16\", \"ops\": " << ops << ", \"warmup\": " << warmup
    << ", \"threads\": " << threads << ", \"torch_version\": \"" << TORCH_VERSION << "\", \"callgrind\": "
    << (RUNNING_ON_VALGRIND && OP_OVERHEAD_CALLGRIND ? "true" : "false") << ", \"paths\": [";
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; ++i) {
    const Counts& c = counts[i];
    o << (i ? ", " : "") << "{\"path\": \"" << c.path << "\", \"allocs_per_op\": " << num(c.allocs)
      << ", \"frees_per_op\": " << num(c.frees) << ", \"alloc_bytes_per_op\": " << num(c.bytes)
      << ", \"downcalls_per_op\": " << (c.downcalls < 0 ? std::string("null") : num(c.downcalls)) << "}";
  }
  o << "]}";
  std::cout << o.str() << std::endl;
  return 0;
}
