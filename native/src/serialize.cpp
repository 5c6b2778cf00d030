// torch.save-compatible writing of tensor dicts, and owned byte buffers.
#include "common.h"


extern "C" {

dd_bytes* dd_pickle_save_dict(dd_ctx* ctx, const char* const* names, const dd_tensor* const* tensors, int64_t n) {
  DD_TRY(ctx, nullptr)
  DD_CHECK(n == 0 || names != nullptr, "names array is NULL");
  std::vector<at::Tensor> ts = dd::tensors(tensors, n, "tensors");
  c10::Dict<std::string, at::Tensor> dict;
  for (int64_t i = 0; i < n; ++i) {
    DD_CHECK(names[i] != nullptr, "name " + std::to_string(i) + " is NULL");
    std::string key(names[i]);
    DD_CHECK(!dict.contains(key), "duplicate key '" + key + "'");
    dict.insert(std::move(key), ts[static_cast<size_t>(i)].detach().cpu());
  }
  return dd::wrap_bytes(torch::pickle_save(c10::IValue(dict)));
  DD_CATCH(ctx, nullptr)
}

const void* dd_bytes_data(const dd_bytes* b) {
  DD_COUNT_CALL();
  return b ? b->data.data() : nullptr;
}

int64_t dd_bytes_size(const dd_bytes* b) {
  DD_COUNT_CALL();
  return b ? static_cast<int64_t>(b->data.size()) : 0;
}

void dd_bytes_free(dd_bytes* b) {
  DD_COUNT_CALL();
  if (b == nullptr) return;
  delete b;
  dd::live[DD_KIND_BYTES].fetch_sub(1, std::memory_order_relaxed);
}

}  // extern "C"
