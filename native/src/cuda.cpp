// CUDA graphs (torch.cuda.CUDAGraph). Compiled for real only against a LibTorch built
// with CUDA (DD_WITH_CUDA, which CMakeLists.txt sets); elsewhere every function records
// an argument error, so the ABI and the Java bindings are the same for every build.
#include "common.h"

#ifdef DD_WITH_CUDA

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <memory>
#include <thread>

struct dd_cuda_graph {
  at::cuda::CUDAGraph graph;
  // Set from capture_begin to capture_end: the capturing thread's stream setting. A
  // capture spans many downcalls, so the guard lives here rather than on one call's stack.
  std::unique_ptr<c10::cuda::CUDAStreamGuard> capture_guard;
  std::thread::id capture_thread;
  bool captured = false;
};

namespace {
dd_cuda_graph& graph_ref(dd_cuda_graph* g) {
  DD_CHECK(g != nullptr, "CUDA graph argument 'graph' is NULL");
  return *g;
}
}  // namespace

extern "C" {

dd_cuda_graph* dd_cuda_graph_capture_begin(dd_ctx* ctx, int32_t device_index) {
  DD_TRY(ctx, nullptr)
  const c10::Device dev = dd::device(DD_CUDA, device_index);
  auto g = std::make_unique<dd_cuda_graph>();
  // CUDA graphs are captured on a stream other than the default one. The guard also
  // makes dev the thread's current device until capture_end.
  g->capture_guard = std::make_unique<c10::cuda::CUDAStreamGuard>(
      c10::cuda::getStreamFromPool(/*isHighPriority=*/false, dev.index()));
  g->capture_thread = std::this_thread::get_id();
  // The eager work that filled the static inputs, on other streams, is finished first.
  c10::cuda::device_synchronize();
  g->graph.capture_begin();
  dd::live[DD_KIND_CUDA_GRAPH].fetch_add(1, std::memory_order_relaxed);
  return g.release();
  DD_CATCH(ctx, nullptr)
}

void dd_cuda_graph_capture_end(dd_ctx* ctx, dd_cuda_graph* graph) {
  DD_TRY(ctx, )
  dd_cuda_graph& g = graph_ref(graph);
  DD_CHECK(g.capture_guard != nullptr, "this CUDA graph is not capturing");
  DD_CHECK(g.capture_thread == std::this_thread::get_id(),
           "a CUDA graph capture must end on the OS thread that began it");
  // Released when this call returns or throws: the thread gets its stream back even when
  // the capture failed. CUDAGraph::capture_end checks that the capture stream is still current.
  const std::unique_ptr<c10::cuda::CUDAStreamGuard> guard = std::move(g.capture_guard);
  g.graph.capture_end();
  g.captured = true;
  DD_CATCH(ctx, )
}

void dd_cuda_graph_replay(dd_ctx* ctx, dd_cuda_graph* graph) {
  DD_TRY(ctx, )
  dd_cuda_graph& g = graph_ref(graph);
  DD_CHECK(g.captured, "this CUDA graph has no completed capture to replay");
  g.graph.replay();
  DD_CATCH(ctx, )
}

void dd_cuda_graph_free(dd_cuda_graph* graph) {
  DD_COUNT_CALL();
  if (graph == nullptr) return;
  if (graph->capture_guard != nullptr) {
    // Another thread's stream setting cannot be restored from here: leave the graph be.
    if (graph->capture_thread != std::this_thread::get_id()) return;
    try {
      graph->graph.capture_end();
    } catch (...) {
      // An abandoned capture: its error has nowhere to go, and the graph is freed anyway.
    }
    graph->capture_guard.reset();
  }
  delete graph;
  dd::live[DD_KIND_CUDA_GRAPH].fetch_sub(1, std::memory_order_relaxed);
}

}  // extern "C"

#else  // a LibTorch built without CUDA

namespace {
constexpr const char* kNoCuda = "CUDA graphs need a LibTorch built with CUDA";
}

extern "C" {

dd_cuda_graph* dd_cuda_graph_capture_begin(dd_ctx* ctx, int32_t device_index) {
  DD_TRY(ctx, nullptr)
  throw dd::ArgumentError(kNoCuda);
  DD_CATCH(ctx, nullptr)
}

void dd_cuda_graph_capture_end(dd_ctx* ctx, dd_cuda_graph* graph) {
  DD_TRY(ctx, )
  throw dd::ArgumentError(kNoCuda);
  DD_CATCH(ctx, )
}

void dd_cuda_graph_replay(dd_ctx* ctx, dd_cuda_graph* graph) {
  DD_TRY(ctx, )
  throw dd::ArgumentError(kNoCuda);
  DD_CATCH(ctx, )
}

// No graph can exist in this build.
void dd_cuda_graph_free(dd_cuda_graph* graph) {
  DD_COUNT_CALL();
}

}  // extern "C"

#endif  // DD_WITH_CUDA
