/*
 * ddpm4j native shim: a pure C ABI over LibTorch.
 *
 * This header is the single source of truth for the Java bindings, which are
 * generated from it by jextract (see src/main/java/io/github/ddpm4j/ffi/jextract.args).
 *
 * Conventions
 *  - Every handle type is opaque and has exactly one *_free function.
 *  - Shapes travel as (const int64_t* values, int64_t length).
 *  - dtype and device travel as the small integer enums below. Every other
 *    choice among several (an op, a mode, a reduction) is an enumerator of one
 *    enum here too: the Java side uses the generated constants, and the shim
 *    switches over the enum type with every enumerator named (the build fails
 *    on a missing one), so adding an enumerator is one edit in this header plus
 *    the cases that the compiler then asks for.
 *  - Every function that can fail takes a dd_ctx* as its first argument. The
 *    caller owns that record (one per Java thread, virtual threads included).
 *    On failure the function stores a non-zero status, its own name and the
 *    C++ exception's message in it, and returns NULL / 0. A function never
 *    lets a C++ exception escape and never clears a status it did not set:
 *    the caller resets status after reading an error.
 *  - The context also carries the autograd mode (grad_mode) and the autocast
 *    mode (autocast) that apply to the call, so that LibTorch's thread-local
 *    modes are set inside the very downcall that needs them and never leak
 *    between threads. The process-wide intra-op thread count is applied the
 *    same way (dd_set_num_threads).
 *  - Functions that return a new handle transfer its ownership to the caller.
 *    Input handles are borrowed.
 */
#ifndef DDPM4J_H
#define DDPM4J_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define DD_API __declspec(dllexport)
#else
#define DD_API __attribute__((visibility("default")))
#endif

/* ---------------------------------------------------------------- handles */
typedef struct dd_tensor dd_tensor;       /* one at::Tensor */
typedef struct dd_generator dd_generator; /* one at::Generator */
typedef struct dd_optimizer dd_optimizer; /* one torch::optim::Optimizer */
typedef struct dd_bytes dd_bytes;         /* one owned byte buffer */
typedef struct dd_cuda_graph dd_cuda_graph; /* one at::cuda::CUDAGraph and its capture state */
typedef struct dd_process_group dd_process_group; /* one c10d process group and the store it met through */

/* ------------------------------------------------------------------ enums */
/* Functions take enum values as int32_t. Compiled as C++, each enum has int32_t as its
   fixed underlying type, so that the shim may convert any int32_t to it and switch over
   the enum type (an unknown code then matches no case). */
#ifdef __cplusplus
#define DD_ENUM(name) enum name : int32_t
#else
#define DD_ENUM(name) enum name
#endif

DD_ENUM(dd_dtype) {
  DD_FLOAT32 = 0, DD_FLOAT64 = 1, DD_BFLOAT16 = 2, DD_FLOAT16 = 3,
  DD_INT64 = 4, DD_INT32 = 5, DD_UINT8 = 6, DD_BOOL = 7, DD_INT8 = 8, DD_INT16 = 9
};

DD_ENUM(dd_device_type) { DD_CPU = 0, DD_CUDA = 1 };

DD_ENUM(dd_grad_mode) { DD_GRAD_ENABLED = 0, DD_GRAD_DISABLED = 1, DD_GRAD_INFERENCE = 2 };

/* Automatic mixed precision (torch.autocast) for one call, on CPU and CUDA alike. */
DD_ENUM(dd_autocast) { DD_AUTOCAST_OFF = 0, DD_AUTOCAST_BFLOAT16 = 1, DD_AUTOCAST_FLOAT16 = 2 };

DD_ENUM(dd_status) {
  DD_OK = 0,
  DD_ERR_TORCH = 1,    /* c10::Error raised by LibTorch */
  DD_ERR_STD = 2,      /* another std::exception */
  DD_ERR_UNKNOWN = 3,  /* anything else thrown */
  DD_ERR_ARGUMENT = 4, /* rejected by the shim's own checks */
  DD_ERR_OOM = 5       /* std::bad_alloc or c10::OutOfMemoryError */
};

DD_ENUM(dd_handle_kind) {
  DD_KIND_ALL = -1, DD_KIND_TENSOR = 0, DD_KIND_GENERATOR = 1,
  DD_KIND_OPTIMIZER = 2, DD_KIND_BYTES = 3, DD_KIND_CUDA_GRAPH = 4, DD_KIND_PROCESS_GROUP = 5
};

DD_ENUM(dd_unary_op) {
  DD_NEG = 0, DD_ABS, DD_EXP, DD_LOG, DD_SQRT, DD_RSQRT, DD_SIN, DD_COS,
  DD_TANH, DD_SIGMOID, DD_RELU, DD_SILU, DD_GELU, DD_SQUARE, DD_SIGN,
  DD_FLOOR, DD_CEIL, DD_ROUND, DD_RECIPROCAL, DD_ERF, DD_LOG1P, DD_EXPM1,
  DD_LOGICAL_NOT, DD_ISNAN, DD_ISFINITE, DD_TRUNC
};

DD_ENUM(dd_binary_op) {
  DD_ADD = 0, DD_SUB, DD_MUL, DD_DIV, DD_POW, DD_MAXIMUM, DD_MINIMUM,
  DD_EQ, DD_NE, DD_LT, DD_LE, DD_GT, DD_GE, DD_LOGICAL_AND, DD_LOGICAL_OR,
  DD_REMAINDER, DD_ATAN2, DD_FLOOR_DIVIDE,
  DD_RSUB, /* scalar forms only: scalar - tensor */
  DD_RDIV, /* scalar forms only: scalar / tensor */
  DD_RPOW  /* scalar forms only: scalar ^ tensor */
};

DD_ENUM(dd_reduce_op) {
  DD_SUM = 0, DD_MEAN, DD_AMAX, DD_AMIN, DD_PROD, DD_LOGSUMEXP, DD_ALL, DD_ANY
};

DD_ENUM(dd_loss_reduction) { DD_REDUCTION_NONE = 0, DD_REDUCTION_MEAN = 1, DD_REDUCTION_SUM = 2 };

DD_ENUM(dd_interpolate_mode) { DD_NEAREST = 0, DD_BILINEAR = 1, DD_BICUBIC = 2 };

/* Ops that take a tensor and one list of int64 (sizes, dimensions or repeat counts). */
DD_ENUM(dd_shape_op) {
  DD_VIEW = 0, /* Tensor.view(shape) */
  DD_RESHAPE,  /* Tensor.reshape(shape) */
  DD_PERMUTE,  /* Tensor.permute(dims) */
  DD_EXPAND,   /* Tensor.expand(shape) */
  DD_REPEAT,   /* Tensor.repeat(repeats) */
  DD_FLIP      /* torch.flip(dims) */
};

/* How a tensor's elements are laid out (torch.memory_format). channels_last: a 4-d
   [N, C, H, W] tensor stored as N, H, W, C, which oneDNN's convolutions prefer. */
DD_ENUM(dd_memory_format) { DD_CONTIGUOUS_FORMAT = 0, DD_CHANNELS_LAST = 1 };

/* ------------------------------------------------------------- error/mode */
#define DD_FUNCTION_LEN 64
#define DD_MESSAGE_LEN 2048

/* Per-caller call context: the autograd and autocast modes in, the error record out. */
typedef struct dd_ctx {
  int32_t grad_mode;               /* enum dd_grad_mode, read by every call */
  int32_t autocast;                /* enum dd_autocast, read by every call */
  int32_t status;                  /* enum dd_status, DD_OK unless a call failed */
  char function[DD_FUNCTION_LEN];  /* NUL-terminated name of the failing function */
  char message[DD_MESSAGE_LEN];    /* NUL-terminated message, truncated if longer */
} dd_ctx;

/* Metadata of one tensor, filled by dd_tensor_info. */
typedef struct dd_tensor_info {
  int32_t dtype;          /* enum dd_dtype, or -1 for a dtype the shim does not map */
  int32_t device_type;    /* enum dd_device_type, or -1 */
  int32_t device_index;   /* -1 for CPU */
  int32_t ndim;
  int32_t requires_grad;
  int32_t is_leaf;
  int32_t is_contiguous;
  int32_t has_grad;
  int64_t numel;
  int64_t element_size;   /* bytes */
  int64_t storage_offset; /* elements */
  void* data_ptr;         /* first element; NULL for an empty tensor */
} dd_tensor_info;

/* ----------------------------------------------------------- library state */
DD_API const char* dd_torch_version(void);
/* LibTorch's build configuration text (torch::show_config), NUL-terminated, truncated to capacity. */
DD_API int64_t dd_config_info(char* buffer, int64_t capacity);
/* File of the loaded LibTorch library that holds its CPU kernels (libtorch_cpu.so), NUL-terminated,
   truncated to capacity; returns the length written, 0 when unknown. */
DD_API int64_t dd_torch_library_path(char* buffer, int64_t capacity);
/* File of the library that provides the BLAS routine sgemm_ to this process (a system BLAS, or
   LibTorch's own when it links MKL statically), as above; 0 when no loaded library exports it. */
DD_API int64_t dd_blas_library_path(char* buffer, int64_t capacity);
/* Live handles of one kind (enum dd_handle_kind); DD_KIND_ALL sums every kind. */
DD_API int64_t dd_live_handles(int32_t kind);
/* Calls of exported dd_* functions so far in this process (this one excepted), counted only
   in a shim built with the CMake option DDPM4J_COUNT_CALLS=ON; -1 in any other build. */
DD_API int64_t dd_call_count(void);
DD_API int32_t dd_cuda_is_available(void);
DD_API int64_t dd_cuda_device_count(void);
DD_API void dd_cuda_synchronize(dd_ctx* ctx, int64_t device_index);
DD_API void dd_manual_seed(dd_ctx* ctx, uint64_t seed);
/* Sets LibTorch's intra-op thread count for the whole process. LibTorch keeps
   the OpenMP setting per OS thread, so every later call into the shim applies
   it to its own thread first if that thread still has another count. */
DD_API void dd_set_num_threads(dd_ctx* ctx, int32_t n);
/* The intra-op thread count of the calling thread, after applying the process-wide setting. */
DD_API int32_t dd_get_num_threads(void);

/* ---------------------------------------------------------- CPU block cache */
/* The shim installs a caching allocator for LibTorch's CPU tensors when it is
   loaded: freed blocks of at least min_block bytes stay mapped, up to `limit`
   idle bytes (least recently freed first out), and serve later requests of the
   same size (up to 1/8 larger), so steady loops stop page-faulting fresh memory.
   Smaller requests go to LibTorch's default allocator. Sizes are in bytes. */
typedef struct dd_cpu_cache_stats {
  int64_t limit;           /* most idle bytes kept; 0 turns caching off */
  int64_t min_block;       /* smallest request that goes through the cache */
  int64_t cached_bytes;    /* idle blocks held for reuse */
  int64_t cached_blocks;
  int64_t allocated_bytes; /* blocks handed out through the cache and not yet freed */
  int64_t hits;            /* requests served by an idle block */
  int64_t misses;          /* requests that allocated from the system */
  int64_t evictions;       /* idle blocks given back to the system */
} dd_cpu_cache_stats;
DD_API void dd_cpu_cache_stats_get(dd_cpu_cache_stats* out);
/* Sets the idle-byte limit, evicting down to it; bytes < 0 is an argument error. Default: a quarter of physical memory. */
DD_API void dd_cpu_cache_set_limit(dd_ctx* ctx, int64_t bytes);
/* Gives every idle block back to the system (like torch.cuda.empty_cache for the CPU). */
DD_API void dd_cpu_cache_empty(void);
/* Gives back the idle blocks that have not been reused for at least idle_ns nanoseconds
   (idle_ns <= 0: every idle block); returns the bytes given back. */
DD_API int64_t dd_cpu_cache_release_idle(int64_t idle_ns);

/* --------------------------------------------------------------- generator */
DD_API dd_generator* dd_generator_new(dd_ctx* ctx, uint64_t seed, int32_t device_type, int32_t device_index);
DD_API void dd_generator_free(dd_generator* g);
/* State as a uint8 CPU tensor. g == NULL means the default CPU generator. */
DD_API dd_tensor* dd_generator_get_state(dd_ctx* ctx, dd_generator* g);
DD_API void dd_generator_set_state(dd_ctx* ctx, dd_generator* g, const dd_tensor* state);

/* ---------------------------------------------------------- tensor handles */
DD_API void dd_tensor_free(dd_tensor* t);
/* dd_tensor_free for tensors[0], ..., tensors[n - 1] in that order (NULL entries are skipped):
   a closing scope frees its handles in one call. */
DD_API void dd_tensor_free_all(dd_tensor* const* tensors, int64_t n);
DD_API void dd_tensor_info_get(dd_ctx* ctx, const dd_tensor* t, dd_tensor_info* out);
/* Writes min(ndim, capacity) sizes and strides (either may be NULL); returns ndim. */
DD_API int64_t dd_tensor_shape(dd_ctx* ctx, const dd_tensor* t, int64_t* sizes, int64_t* strides, int64_t capacity);
/* A new handle to the same tensor (shares storage and autograd identity). */
DD_API dd_tensor* dd_tensor_alias(dd_ctx* ctx, const dd_tensor* t);
/* 1 when a and b share one storage (at::Tensor::is_alias_of), else 0; 0 when either is NULL or undefined. */
DD_API int32_t dd_tensor_is_alias_of(const dd_tensor* a, const dd_tensor* b);
/* Bytes of the storage behind t (a view reports its whole base storage); 0 for NULL or no storage. */
DD_API int64_t dd_tensor_storage_nbytes(const dd_tensor* t);

/* ---------------------------------------------------------------- creation */
DD_API dd_tensor* dd_empty(dd_ctx* ctx, const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device_type, int32_t device_index);
DD_API dd_tensor* dd_full(dd_ctx* ctx, const int64_t* shape, int64_t ndim, double value, int32_t dtype, int32_t device_type, int32_t device_index);
/* g may be NULL: the default generator of the device. */
DD_API dd_tensor* dd_randn(dd_ctx* ctx, const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device_type, int32_t device_index, dd_generator* g);
DD_API dd_tensor* dd_rand(dd_ctx* ctx, const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device_type, int32_t device_index, dd_generator* g);
DD_API dd_tensor* dd_randint(dd_ctx* ctx, int64_t low, int64_t high, const int64_t* shape, int64_t ndim, int32_t dtype, int32_t device_type, int32_t device_index, dd_generator* g);
DD_API dd_tensor* dd_randperm(dd_ctx* ctx, int64_t n, int32_t dtype, int32_t device_type, int32_t device_index, dd_generator* g);
DD_API dd_tensor* dd_arange(dd_ctx* ctx, double start, double end, double step, int32_t dtype, int32_t device_type, int32_t device_index);
DD_API dd_tensor* dd_linspace(dd_ctx* ctx, double start, double end, int64_t steps, int32_t dtype, int32_t device_type, int32_t device_index);
/* In-place sampling (Tensor.uniform_ / Tensor.normal_), as torch.nn.init uses. g may be NULL. */
DD_API void dd_uniform_(dd_ctx* ctx, dd_tensor* t, double from, double to, dd_generator* g);
DD_API void dd_normal_(dd_ctx* ctx, dd_tensor* t, double mean, double std, dd_generator* g);
/* A CPU tensor over caller-owned memory, without copying. strides may be NULL
 * (contiguous). The memory must outlive the tensor and every view of it. */
DD_API dd_tensor* dd_from_blob(dd_ctx* ctx, void* data, const int64_t* shape, int64_t ndim, const int64_t* strides, int32_t dtype);

/* -------------------------------------------------------- dtype and device */
DD_API dd_tensor* dd_to(dd_ctx* ctx, const dd_tensor* t, int32_t dtype, int32_t device_type, int32_t device_index, int32_t non_blocking, int32_t copy);
DD_API dd_tensor* dd_clone(dd_ctx* ctx, const dd_tensor* t);
/* Tensor.contiguous(memory_format=): t itself (a new handle) when already laid out so. */
DD_API dd_tensor* dd_contiguous(dd_ctx* ctx, const dd_tensor* t, int32_t memory_format);
/* 1 when t is laid out in memory_format (Tensor.is_contiguous(memory_format=)), else 0. */
DD_API int32_t dd_is_contiguous(dd_ctx* ctx, const dd_tensor* t, int32_t memory_format);
DD_API dd_tensor* dd_detach(dd_ctx* ctx, const dd_tensor* t);
DD_API void dd_copy_(dd_ctx* ctx, dd_tensor* dst, const dd_tensor* src);
DD_API void dd_fill_(dd_ctx* ctx, dd_tensor* t, double value);
DD_API double dd_item_double(dd_ctx* ctx, const dd_tensor* t);
DD_API int64_t dd_item_int64(dd_ctx* ctx, const dd_tensor* t);
/* 1 when both have the same size and elements (torch.equal), else 0. */
DD_API int32_t dd_equal(dd_ctx* ctx, const dd_tensor* a, const dd_tensor* b);

/* ------------------------------------------------------- views and indexing */
/* One op of enum dd_shape_op on t with the list values[0..n). */
DD_API dd_tensor* dd_shape(dd_ctx* ctx, int32_t op, const dd_tensor* t, const int64_t* values, int64_t n);
DD_API dd_tensor* dd_transpose(dd_ctx* ctx, const dd_tensor* t, int64_t dim0, int64_t dim1);
/* all_dims != 0 squeezes every size-1 dimension and ignores dim. */
DD_API dd_tensor* dd_squeeze(dd_ctx* ctx, const dd_tensor* t, int64_t dim, int32_t all_dims);
DD_API dd_tensor* dd_unsqueeze(dd_ctx* ctx, const dd_tensor* t, int64_t dim);
DD_API dd_tensor* dd_flatten(dd_ctx* ctx, const dd_tensor* t, int64_t start_dim, int64_t end_dim);
DD_API dd_tensor* dd_slice(dd_ctx* ctx, const dd_tensor* t, int64_t dim, int64_t start, int64_t end, int64_t step);
DD_API dd_tensor* dd_select(dd_ctx* ctx, const dd_tensor* t, int64_t dim, int64_t index);
DD_API dd_tensor* dd_index_select(dd_ctx* ctx, const dd_tensor* t, int64_t dim, const dd_tensor* index);
DD_API dd_tensor* dd_gather(dd_ctx* ctx, const dd_tensor* t, int64_t dim, const dd_tensor* index);
DD_API dd_tensor* dd_masked_fill(dd_ctx* ctx, const dd_tensor* t, const dd_tensor* mask, double value);
DD_API dd_tensor* dd_where(dd_ctx* ctx, const dd_tensor* condition, const dd_tensor* a, const dd_tensor* b);
DD_API dd_tensor* dd_cat(dd_ctx* ctx, const dd_tensor* const* tensors, int64_t n, int64_t dim);
DD_API dd_tensor* dd_stack(dd_ctx* ctx, const dd_tensor* const* tensors, int64_t n, int64_t dim);
/* Writes up to `chunks` new handles to out and returns how many it wrote. */
DD_API int64_t dd_chunk(dd_ctx* ctx, const dd_tensor* t, int64_t chunks, int64_t dim, dd_tensor** out);

/* ------------------------------------------------------------------- math */
DD_API dd_tensor* dd_unary(dd_ctx* ctx, int32_t op, const dd_tensor* t);
DD_API void dd_unary_(dd_ctx* ctx, int32_t op, dd_tensor* t);
DD_API dd_tensor* dd_binary(dd_ctx* ctx, int32_t op, const dd_tensor* a, const dd_tensor* b);
DD_API void dd_binary_(dd_ctx* ctx, int32_t op, dd_tensor* a, const dd_tensor* b);
/* integral != 0 passes the scalar as an int64 (like a Python int), else as a double (a Python float). */
DD_API dd_tensor* dd_binary_scalar(dd_ctx* ctx, int32_t op, const dd_tensor* a, double scalar, int32_t integral);
DD_API void dd_binary_scalar_(dd_ctx* ctx, int32_t op, dd_tensor* a, double scalar, int32_t integral);
/* a + alpha * b (torch.add with alpha). */
DD_API dd_tensor* dd_add_scaled(dd_ctx* ctx, const dd_tensor* a, const dd_tensor* b, double alpha);
DD_API void dd_add_scaled_(dd_ctx* ctx, dd_tensor* a, const dd_tensor* b, double alpha);
/* a + weight * (b - a), in place on a (torch.Tensor.lerp_). */
DD_API void dd_lerp_(dd_ctx* ctx, dd_tensor* a, const dd_tensor* b, double weight);
DD_API dd_tensor* dd_clamp(dd_ctx* ctx, const dd_tensor* t, double min, double max, int32_t has_min, int32_t has_max);
/* ndims == 0 reduces over every dimension. */
DD_API dd_tensor* dd_reduce(dd_ctx* ctx, int32_t op, const dd_tensor* t, const int64_t* dims, int64_t ndims, int32_t keepdim);
/* Variance (std != 0: standard deviation) with Bessel-style correction. */
DD_API dd_tensor* dd_var(dd_ctx* ctx, const dd_tensor* t, const int64_t* dims, int64_t ndims, int64_t correction, int32_t keepdim, int32_t std);
DD_API dd_tensor* dd_norm(dd_ctx* ctx, const dd_tensor* t, double p, const int64_t* dims, int64_t ndims, int32_t keepdim);
/* has_dim == 0: index into the flattened tensor. min != 0: argmin. */
DD_API dd_tensor* dd_argmax(dd_ctx* ctx, const dd_tensor* t, int64_t dim, int32_t has_dim, int32_t keepdim, int32_t min);
/* product != 0: cumprod, else cumsum. */
DD_API dd_tensor* dd_cumulative(dd_ctx* ctx, const dd_tensor* t, int64_t dim, int32_t product);
DD_API dd_tensor* dd_matmul(dd_ctx* ctx, const dd_tensor* a, const dd_tensor* b);
DD_API dd_tensor* dd_bmm(dd_ctx* ctx, const dd_tensor* a, const dd_tensor* b);
DD_API dd_tensor* dd_einsum(dd_ctx* ctx, const char* equation, const dd_tensor* const* tensors, int64_t n);
/* log != 0: log_softmax. */
DD_API dd_tensor* dd_softmax(dd_ctx* ctx, const dd_tensor* t, int64_t dim, int32_t log);

/* ------------------------------------------------------ neural-network ops */
/* bias may be NULL in every op below. */
DD_API dd_tensor* dd_linear(dd_ctx* ctx, const dd_tensor* input, const dd_tensor* weight, const dd_tensor* bias);
DD_API dd_tensor* dd_conv2d(dd_ctx* ctx, const dd_tensor* input, const dd_tensor* weight, const dd_tensor* bias,
                            int64_t stride_h, int64_t stride_w, int64_t padding_h, int64_t padding_w,
                            int64_t dilation_h, int64_t dilation_w, int64_t groups);
DD_API dd_tensor* dd_conv_transpose2d(dd_ctx* ctx, const dd_tensor* input, const dd_tensor* weight, const dd_tensor* bias,
                                      int64_t stride_h, int64_t stride_w, int64_t padding_h, int64_t padding_w,
                                      int64_t output_padding_h, int64_t output_padding_w,
                                      int64_t dilation_h, int64_t dilation_w, int64_t groups);
DD_API dd_tensor* dd_group_norm(dd_ctx* ctx, const dd_tensor* input, int64_t groups, const dd_tensor* weight, const dd_tensor* bias, double eps);
DD_API dd_tensor* dd_layer_norm(dd_ctx* ctx, const dd_tensor* input, const int64_t* normalized_shape, int64_t ndim,
                                const dd_tensor* weight, const dd_tensor* bias, double eps);
DD_API dd_tensor* dd_dropout(dd_ctx* ctx, const dd_tensor* input, double p, int32_t train);
DD_API dd_tensor* dd_mse_loss(dd_ctx* ctx, const dd_tensor* input, const dd_tensor* target, int32_t reduction);
/* Resize the last two dimensions of [N, C, H, W] to out_h x out_w (torch.nn.functional.interpolate). */
DD_API dd_tensor* dd_interpolate(dd_ctx* ctx, const dd_tensor* input, int64_t out_h, int64_t out_w, int32_t mode, int32_t align_corners);

/* ---------------------------------------------------------------- autograd */
DD_API void dd_set_requires_grad(dd_ctx* ctx, dd_tensor* t, int32_t requires_grad);
/* The accumulated gradient as a new handle, or NULL (status DD_OK) when it is undefined. */
DD_API dd_tensor* dd_grad(dd_ctx* ctx, const dd_tensor* t);
/* grad == NULL undefines the gradient. */
DD_API void dd_set_grad(dd_ctx* ctx, dd_tensor* t, const dd_tensor* grad);
/* set_to_none != 0 undefines the gradient, else zeroes it in place. */
DD_API void dd_zero_grad(dd_ctx* ctx, dd_tensor* t, int32_t set_to_none);
/* gradient may be NULL for a scalar t. */
DD_API void dd_backward(dd_ctx* ctx, const dd_tensor* t, const dd_tensor* gradient, int32_t retain_graph);

/* -------------------------------------------------------------- optimizers */
/* Adam (decoupled == 0) or AdamW (decoupled != 0), LibTorch's implementation. */
DD_API dd_optimizer* dd_adam_new(dd_ctx* ctx, const dd_tensor* const* params, int64_t n, double lr, double beta1,
                                 double beta2, double eps, double weight_decay, int32_t amsgrad, int32_t decoupled);
DD_API void dd_optimizer_free(dd_optimizer* opt);
DD_API void dd_optimizer_step(dd_ctx* ctx, dd_optimizer* opt);
/* Optimizer.zero_grad(set_to_none): the same on every LibTorch version (its own default changed in 2.0). */
DD_API void dd_optimizer_zero_grad(dd_ctx* ctx, dd_optimizer* opt, int32_t set_to_none);
DD_API void dd_optimizer_set_lr(dd_ctx* ctx, dd_optimizer* opt, double lr);
DD_API double dd_optimizer_get_lr(dd_ctx* ctx, const dd_optimizer* opt);
/* LibTorch's own archive of the optimizer state (torch::save(optimizer)). */
DD_API dd_bytes* dd_optimizer_save(dd_ctx* ctx, const dd_optimizer* opt);
DD_API void dd_optimizer_load(dd_ctx* ctx, dd_optimizer* opt, const void* data, int64_t length);
/* torch.nn.utils.clip_grad_norm_; returns the total norm before clipping. */
DD_API double dd_clip_grad_norm(dd_ctx* ctx, const dd_tensor* const* params, int64_t n, double max_norm, double norm_type);

/* ------------------------------------------------------------- CUDA graphs */
/* torch.cuda.CUDAGraph. In a LibTorch built without CUDA every function that takes a
   context records DD_ERR_ARGUMENT "CUDA graphs need a LibTorch built with CUDA".
   capture_begin waits for the device (as torch.cuda.graph does), makes the calling OS
   thread's current stream a side stream from LibTorch's pool, and begins capturing on it
   into the graph's own memory pool: until capture_end, the ops that this OS thread issues
   on that device are recorded, not run. The returned handle holds the thread's stream
   setting until capture_end, which must run on the same OS thread and restores it, also
   when the capture failed (an op that synchronised with the host, for one). */
DD_API dd_cuda_graph* dd_cuda_graph_capture_begin(dd_ctx* ctx, int32_t device_index);
DD_API void dd_cuda_graph_capture_end(dd_ctx* ctx, dd_cuda_graph* graph);
/* Launches the captured work on the calling thread's current stream of the graph's device. */
DD_API void dd_cuda_graph_replay(dd_ctx* ctx, dd_cuda_graph* graph);
/* Frees the graph and its memory pool (blocks that live tensors still use stay until they
   are freed). Freeing a graph still capturing ends the capture first when called on the
   capturing thread; on another thread it cannot restore that thread's stream, and leaves
   the graph allocated (it stays counted in dd_live_handles). */
DD_API void dd_cuda_graph_free(dd_cuda_graph* graph);

/* ------------------------------------------------------------- distributed */
/* Process groups and collectives, as torch.distributed (c10d) runs them, speaking c10d's own
   protocol: a torch.distributed process of the same LibTorch version can be a rank of the
   same group. Every blocking call is bounded by the group's timeout; a failure or timeout is
   recorded in ctx like any error (status DD_ERR_TORCH or DD_ERR_STD, c10d's or Gloo's
   message), never a hang or a crash. Calls on one group must not overlap (the caller
   serialises them), and every rank must issue the same collectives in the same order. */

/* The communication backends (torch.distributed.Backend). */
DD_ENUM(dd_dist_backend) { DD_DIST_GLOO = 0, DD_DIST_NCCL = 1 };

/* torch.distributed.ReduceOp. Gloo has no AVG: it runs as SUM, then a division by the world size. */
DD_ENUM(dd_dist_reduce_op) { DD_DIST_SUM = 0, DD_DIST_AVG = 1, DD_DIST_MAX = 2, DD_DIST_MIN = 3 };

/* 1 when this shim can create groups of the backend (Gloo: LibTorch's c10d built with Gloo and
   the shim compiled against gloo's headers; NCCL: a LibTorch built with CUDA and NCCL), else 0.
   When 0, why is written to reason (NUL-terminated, truncated to capacity; reason may be NULL). */
DD_API int32_t dd_dist_backend_available(int32_t backend, char* reason, int64_t capacity);

/* torch.distributed.init_process_group(backend, init_method="tcp://host:port", rank=, world_size=,
   timeout=): every rank connects to a c10d TCPStore at host:port, which rank 0 hosts (all ranks
   are clients when agent_store != 0: a torchelastic agent hosts it, TORCHELASTIC_USE_AGENT_STORE;
   restart_count is then TORCHELASTIC_RESTART_COUNT, which LibTorch 1.x's key prefix names). Rank 0
   waits for world_size ranks to join. init_barrier is TORCH_DIST_INIT_BARRIER (LibTorch 2.x runs
   the store-based barrier after creating the group only when it is 1; 1.x always runs it).
   device_index: the CUDA device of an NCCL group's own tensors (allGather), ignored by Gloo.
   timeout_ms > 0 bounds the rendezvous and every later collective. */
DD_API dd_process_group* dd_dist_group_tcp(dd_ctx* ctx, int32_t backend, const char* host, int32_t port, int32_t rank,
                                           int32_t world_size, int64_t timeout_ms, int32_t agent_store,
                                           int32_t restart_count, int32_t init_barrier, int32_t device_index);
/* The same through a c10d FileStore at path (init_method="file://path"), shared by every rank. */
DD_API dd_process_group* dd_dist_group_file(dd_ctx* ctx, int32_t backend, const char* path, int32_t rank,
                                            int32_t world_size, int64_t timeout_ms, int32_t init_barrier,
                                            int32_t device_index);
/* torch.distributed.destroy_process_group for this group: waits for its work in flight (bounded
   by the timeout), closes its connections, and on rank 0 stops the store it hosts. */
DD_API void dd_dist_group_free(dd_process_group* group);
/* The rank of the peer that the group's last failed collective lost, -1 when unknown: Gloo names a
   lost peer by its address, which the shim looks up among the addresses the ranks published at
   rendezvous; when the store that rank 0 hosts is unreachable too, that is rank 0. */
DD_API int32_t dd_dist_group_lost_rank(const dd_process_group* group);
/* torch.distributed.all_reduce of tensors[0..n), in place, op of enum dd_dist_reduce_op. The
   tensors are reduced in buckets as DistributedDataParallel does: consecutive tensors of one
   dtype and device share a flat buffer of at most bucket_bytes (a larger tensor has a bucket of its
   own; a bucket of one contiguous tensor is reduced in place, without a copy), one collective each. */
DD_API void dd_dist_all_reduce(dd_ctx* ctx, dd_process_group* group, dd_tensor* const* tensors, int64_t n, int32_t op,
                               int64_t bucket_bytes);
/* torch.distributed.broadcast of tensors[0..n) from rank src, in place, bucketed as above. */
DD_API void dd_dist_broadcast(dd_ctx* ctx, dd_process_group* group, dd_tensor* const* tensors, int64_t n, int32_t src,
                              int64_t bucket_bytes);
/* torch.distributed.barrier. */
DD_API void dd_dist_barrier(dd_ctx* ctx, dd_process_group* group);
/* torch.distributed.all_gather of one float64 per rank: out[r] is rank r's value; capacity >= world size. */
DD_API void dd_dist_all_gather_double(dd_ctx* ctx, dd_process_group* group, double value, double* out, int64_t capacity);

/* ----------------------------------------------------------- serialization */
/* A dict {names[i]: tensors[i]} in torch.save's zip format (torch::pickle_save). */
DD_API dd_bytes* dd_pickle_save_dict(dd_ctx* ctx, const char* const* names, const dd_tensor* const* tensors, int64_t n);
DD_API const void* dd_bytes_data(const dd_bytes* b);
DD_API int64_t dd_bytes_size(const dd_bytes* b);
DD_API void dd_bytes_free(dd_bytes* b);

#ifdef __cplusplus
}
#endif

#endif /* DDPM4J_H */
