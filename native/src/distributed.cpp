// Process groups and collectives (torch.distributed) over LibTorch's c10d: a store (TCPStore,
// or FileStore), the Gloo backend (NCCL in a LibTorch built with CUDA), and all_reduce,
// broadcast, barrier and all_gather with the group's timeout. The protocol around the group
// is torch.distributed's own (compat.h), so that a Python rank of the same LibTorch can join.
//
// Built for real when CMake found c10d's Gloo backend usable (DD_WITH_GLOO: gloo's headers,
// which a torch wheel does not ship, and a LibTorch built with Gloo) or NCCL (DD_WITH_NCCL);
// without either, every function records an argument error that says why, so the ABI and
// the Java bindings are the same in every build.
#include "common.h"

#include <cstring>

#if defined(DD_WITH_GLOO) || defined(DD_WITH_NCCL)
#define DD_WITH_C10D 1
#endif

namespace {
// Why a backend is unavailable in this build, or nullptr when it is available.
const char* unavailable(int32_t backend) {
  switch (static_cast<dd_dist_backend>(backend)) {
    case DD_DIST_GLOO:
#ifdef DD_WITH_GLOO
      return nullptr;
#else
      return "the Gloo backend is not in this build of the ddpm4j shim: its build found no gloo headers "
             "(gloo/config.h; on Debian the package libgloo-dev) or a LibTorch without Gloo";
#endif
    case DD_DIST_NCCL:
#ifdef DD_WITH_NCCL
      return torch::cuda::is_available() ? nullptr : "the NCCL backend needs a CUDA device, and none is visible";
#elif defined(DD_WITH_CUDA)
      return "the NCCL backend is not in this build of the ddpm4j shim: its LibTorch has CUDA, but the build found no nccl.h";
#else
      return "the NCCL backend needs a LibTorch built with CUDA and NCCL; this shim was built against a CPU LibTorch "
             "(use gloo)";
#endif
  }
  throw dd::unknown_code("distributed backend", backend);
}

void copy_text(const char* text, char* buffer, int64_t capacity) {
  if (buffer == nullptr || capacity <= 0) return;
  const auto n = std::min<int64_t>(static_cast<int64_t>(std::strlen(text)), capacity - 1);
  std::memcpy(buffer, text, static_cast<size_t>(n));
  buffer[n] = '\0';
}
}  // namespace

extern "C" {

int32_t dd_dist_backend_available(int32_t backend, char* reason, int64_t capacity) {
  DD_COUNT_CALL();
  copy_text("", reason, capacity);
  try {
    const char* why = unavailable(backend);
    if (why == nullptr) return 1;
    copy_text(why, reason, capacity);
  } catch (const std::exception& e) {
    copy_text(e.what(), reason, capacity);
  }
  return 0;
}

}  // extern "C"

#ifdef DD_WITH_C10D

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef DD_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef DD_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#define DD_COMPAT_C10D
#include "compat.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

struct dd_process_group {
  // The store the ranks met through (rank 0's TCPStore hosts the server), and the backend's
  // own view of it (under the prefixes of init_process_group), where Gloo's rendezvous wrote
  // each rank's addresses.
  c10::intrusive_ptr<c10d::Store> root;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<dd::compat::CollectiveBackend> backend;
  int32_t rank;
  int32_t world_size;
  std::chrono::milliseconds timeout;
  at::Device device;
  bool rank0_hosts_store;
  // Each rank's rendezvous record in Gloo's store (empty: not read), for naming a lost peer.
  std::vector<std::vector<uint8_t>> gloo_records;
  // The rank that the last failed collective lost, -1 when unknown.
  std::atomic<int32_t> lost_rank{-1};
};

namespace {

using std::chrono::milliseconds;

// How long a collective may take beyond the backend's own timeout before the shim stops
// waiting: the backend reports its own timeout (with its own message) first.
constexpr milliseconds kWaitGrace{1000};

milliseconds checked_timeout(int64_t timeout_ms) {
  DD_CHECK(timeout_ms > 0, "timeout must be > 0 ms, got " + std::to_string(timeout_ms));
  return milliseconds(timeout_ms);
}

void check_ranks(int32_t rank, int32_t world_size) {
  DD_CHECK(world_size >= 1, "world_size must be >= 1, got " + std::to_string(world_size));
  DD_CHECK(rank >= 0 && rank < world_size,
           "rank must be in [0, " + std::to_string(world_size) + "), got " + std::to_string(rank));
}

dd_process_group& group_ref(dd_process_group* g) {
  DD_CHECK(g != nullptr, "process group argument 'group' is NULL");
  return *g;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// ------------------------------------------------------------------ the lost rank
// Gloo names a peer it lost by the remote address of its connection to it, "[127.0.0.1]:41395"
// (printing the port in network byte order). Which address that is depends on which side opened
// the connection, which Gloo decides by comparing the two ranks' addresses:
//  - the peer's listening address, when this rank connected to it. Every rank published its
//    listening addresses at rendezvous, in its record under the key "0/<rank>" of the backend's
//    store (Gloo's PrefixStore of its first context), as raw socket addresses;
//  - the address the peer connected from, when it connected here. Every ddpm4j rank publishes the
//    local addresses of its connections once the group exists, under "ddpm4j/connections/<rank>"
//    (from /proc/self/net/tcp and tcp6), and the shim reads them after a failure.
// The records are read when the group is created (up to kMaxRecordedRanks ranks; a larger group
// reads them after a failure), since the store dies with rank 0 when rank 0 hosts it: that
// loss is recognised as rank 0's. A Python rank publishes no connections. Best effort: what
// cannot be found stays unknown (-1).

constexpr int32_t kMaxRecordedRanks = 64;
constexpr size_t kMaxPublishedConnections = 256;

std::string record_key(int32_t rank) { return "0/" + std::to_string(rank); }
std::string connections_key(int32_t rank) { return "ddpm4j/connections/" + std::to_string(rank); }

struct SocketAddress {
  int family = 0;
  uint16_t port = 0;  // host byte order
  unsigned char addr[16] = {};

  std::string str() const {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(port);
  }
  SocketAddress swapped() const {
    SocketAddress s = *this;
    s.port = static_cast<uint16_t>((port >> 8) | (port << 8));
    return s;
  }
};

bool parse_peer(const std::string& message, SocketAddress& out) {
  static const std::regex pattern(R"(\[([0-9A-Fa-f:.]+)\]:([0-9]{1,5}))");
  for (std::sregex_iterator it(message.begin(), message.end(), pattern), end; it != end; ++it) {
    const std::string host = (*it)[1];
    const long port = std::stol((*it)[2]);
    if (port <= 0 || port > 65535) continue;
    if (inet_pton(AF_INET, host.c_str(), out.addr) == 1) {
      out.family = AF_INET;
    } else if (inet_pton(AF_INET6, host.c_str(), out.addr) == 1) {
      out.family = AF_INET6;
    } else {
      continue;
    }
    out.port = static_cast<uint16_t>(port);
    return true;
  }
  return false;
}

// Whether a rendezvous record holds the peer's address as a raw sockaddr_in/sockaddr_in6.
bool holds_address(const std::vector<uint8_t>& bytes, const SocketAddress& peer) {
  const size_t addr_offset = peer.family == AF_INET ? offsetof(sockaddr_in, sin_addr) : offsetof(sockaddr_in6, sin6_addr);
  const size_t addr_len = peer.family == AF_INET ? 4 : 16;
  const sa_family_t family = static_cast<sa_family_t>(peer.family);
  const uint16_t port = htons(peer.port);
  for (size_t i = 0; i + addr_offset + addr_len <= bytes.size(); ++i) {
    if (std::memcmp(&bytes[i], &family, sizeof family) == 0 &&
        std::memcmp(&bytes[i + offsetof(sockaddr_in, sin_port)], &port, sizeof port) == 0 &&
        std::memcmp(&bytes[i + addr_offset], peer.addr, addr_len) == 0) {
      return true;
    }
  }
  return false;
}

// The local addresses of this process's established TCP connections, "ip:port" each.
std::vector<std::string> own_connections() {
  std::set<std::string> inodes;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd", std::filesystem::directory_options::skip_permission_denied)) {
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (!ec && target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::vector<std::string> out;
  for (const auto& [file, family] : {std::pair<const char*, int>{"/proc/self/net/tcp", AF_INET}, {"/proc/self/net/tcp6", AF_INET6}}) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line) && out.size() < kMaxPublishedConnections) {
      // "sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ..."
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      if (state != "01" || inodes.count(inode) == 0) continue;  // 01: ESTABLISHED
      const size_t colon = local.find(':');
      if (colon == std::string::npos || colon % 8 != 0) continue;
      SocketAddress a;
      a.family = family;
      // The address as the kernel holds it, printed 32 bits at a time in host byte order.
      for (size_t w = 0; w < colon / 8 && w < 4; ++w) {
        const uint32_t word = static_cast<uint32_t>(std::stoul(local.substr(w * 8, 8), nullptr, 16));
        std::memcpy(a.addr + 4 * w, &word, 4);
      }
      a.port = static_cast<uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
      out.push_back(a.str());
    }
  }
  return out;
}

// Once the group exists: reads the ranks' records (small groups) and publishes this rank's connections.
void record_peers(dd_process_group& g) {
  try {
    if (g.world_size <= kMaxRecordedRanks) {
      std::vector<std::vector<uint8_t>> records(static_cast<size_t>(g.world_size));
      for (int32_t r = 0; r < g.world_size; ++r) {
        if (r != g.rank && g.store->check({record_key(r)})) records[r] = g.store->get(record_key(r));
      }
      g.gloo_records = std::move(records);
    }
    std::string list;
    for (const auto& c : own_connections()) list += (list.empty() ? "" : ",") + c;
    g.store->set(connections_key(g.rank), std::vector<uint8_t>(list.begin(), list.end()));
  } catch (const std::exception&) {
    // Only the naming of a lost peer suffers.
  }
}

int32_t find_lost_rank(dd_process_group& g, const std::string& message) {
  SocketAddress peer;
  if (!parse_peer(message, peer)) return -1;
  // Gloo prints the port in network byte order: on a little-endian host, swapped.
  const SocketAddress candidates[] = {peer.swapped(), peer};
  for (int32_t r = 0; r < static_cast<int32_t>(g.gloo_records.size()); ++r) {
    for (const auto& c : candidates) {
      if (holds_address(g.gloo_records[r], c)) return r;
    }
  }
  try {
    // A store that hangs must not hold the failure back for another full timeout.
    g.root->setTimeout(std::min(g.timeout, milliseconds(2000)));
    for (int32_t r = 0; r < g.world_size; ++r) {
      if (r == g.rank) continue;
      if (g.gloo_records.empty() && g.store->check({record_key(r)})) {
        const auto record = g.store->get(record_key(r));
        for (const auto& c : candidates) {
          if (holds_address(record, c)) return r;
        }
      }
      if (!g.store->check({connections_key(r)})) continue;
      const auto bytes = g.store->get(connections_key(r));
      const std::string list = "," + std::string(bytes.begin(), bytes.end()) + ",";
      for (const auto& c : candidates) {
        if (list.find("," + c.str() + ",") != std::string::npos) return r;
      }
    }
  } catch (const std::exception&) {
    // The store is unreachable as well: on every rank but 0 that means rank 0, which hosts it, is gone.
    if (g.rank != 0 && g.rank0_hosts_store) return 0;
  }
  return -1;
}

// ------------------------------------------------------------------ creation

milliseconds remaining(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
}

// Returns once host:port accepts a TCP connection, retrying every 100 ms; throws once the
// deadline has passed, with the reason of the last attempt.
void await_listener(const std::string& host, uint16_t port, std::chrono::steady_clock::time_point deadline,
                    milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) throw std::runtime_error("cannot resolve the store's address '" + host + "': " + gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> addresses(found, freeaddrinfo);
  std::string last = "no address";
  while (true) {
    for (addrinfo* a = addresses.get(); a != nullptr; a = a->ai_next) {
      const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      int error = 0;
      if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        error = errno;
        if (error == EINPROGRESS) {
          pollfd p{fd, POLLOUT, 0};
          const auto wait = std::clamp<int64_t>(remaining(deadline).count(), 1, 1000);
          error = poll(&p, 1, static_cast<int>(wait)) == 1 ? 0 : ETIMEDOUT;
          socklen_t len = sizeof error;
          if (error == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
        }
      }
      close(fd);
      if (error == 0) return;
      last = std::strerror(error);
    }
    if (remaining(deadline).count() <= 0) {
      throw std::runtime_error("Timed out after " + std::to_string(timeout.count()) + " ms connecting to the store at " +
                               host + ":" + std::to_string(port) + ": " + last);
    }
    std::this_thread::sleep_for(std::min(milliseconds(100), std::max(remaining(deadline), milliseconds(1))));
  }
}

c10::intrusive_ptr<dd::compat::CollectiveBackend> make_backend(int32_t backend, const c10::intrusive_ptr<c10d::Store>& store,
                                                               int32_t rank, int32_t world_size, milliseconds timeout) {
  switch (static_cast<dd_dist_backend>(backend)) {
    case DD_DIST_GLOO: {
#ifdef DD_WITH_GLOO
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      // As torch._C's ProcessGroupGloo(store, rank, size, timeout) does.
      const std::string ifnames = env("GLOO_SOCKET_IFNAME");
      if (ifnames.size() > 1) {
        std::stringstream names(ifnames);
        for (std::string name; std::getline(names, name, ',');) {
          options->devices.push_back(dd::compat::gloo_device_for_interface(name));
        }
      } else {
        options->devices.push_back(dd::compat::gloo_default_device());
      }
      options->threads = static_cast<int>(options->devices.size() * 2);
      return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options);
#else
      break;
#endif
    }
    case DD_DIST_NCCL: {
#ifdef DD_WITH_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      options->is_high_priority_stream = false;
      return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world_size, options);
#else
      break;
#endif
    }
  }
  throw dd::unknown_code("distributed backend", backend);
}

// init_process_group after the rendezvous store exists: PrefixStore("default_pg"), the group's
// prefixes, the backend, and what the Python front end of this version does next.
dd_process_group* create(int32_t backend, c10::intrusive_ptr<c10d::Store> root, int32_t rank, int32_t world_size,
                         milliseconds timeout, bool init_barrier, int32_t device_index, bool rank0_hosts_store) {
  const bool nccl = backend == DD_DIST_NCCL;
  root->setTimeout(timeout);
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::PrefixStore>("default_pg", root);
  c10::intrusive_ptr<c10d::Store> backend_store = store;
  for (const auto& prefix : dd::compat::group_prefixes(nccl ? "cuda" : "cpu")) {
    backend_store = c10::make_intrusive<c10d::PrefixStore>(prefix, backend_store);
  }
  auto pg = make_backend(backend, backend_store, rank, world_size, timeout);
  dd::compat::after_group_created(*pg, *store, world_size, timeout, init_barrier);
  auto* g = new dd_process_group{root,
                                 backend_store,
                                 std::move(pg),
                                 rank,
                                 world_size,
                                 timeout,
                                 nccl ? at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_index)) : at::Device(at::kCPU),
                                 rank0_hosts_store,
                                 {}};
  std::unique_ptr<dd_process_group> owned(g);
  if (!nccl) record_peers(*g);
  dd::live[DD_KIND_PROCESS_GROUP].fetch_add(1, std::memory_order_relaxed);
  return owned.release();
}

void check_backend(int32_t backend) {
  const char* why = unavailable(backend);
  if (why != nullptr) throw dd::ArgumentError(why);
}

// Runs one collective: waits for it (the backend's timeout, plus a grace), and on failure
// looks up which rank was lost before the exception goes on to the caller.
template <class Launch>
void collective(dd_process_group& g, Launch&& launch) {
  g.lost_rank.store(-1, std::memory_order_relaxed);
  try {
    c10::intrusive_ptr<c10d::Work> work = launch();
    work->wait(g.timeout + kWaitGrace);
  } catch (const std::exception& e) {
    g.lost_rank.store(find_lost_rank(g, e.what()), std::memory_order_relaxed);
    throw;
  }
}

// Consecutive tensors of one dtype and device, at most cap bytes together (or one larger tensor).
std::vector<std::vector<at::Tensor>> buckets(const std::vector<at::Tensor>& tensors, int64_t cap) {
  std::vector<std::vector<at::Tensor>> out;
  int64_t bytes = 0;
  for (const auto& t : tensors) {
    const int64_t n = static_cast<int64_t>(t.nbytes());
    const bool fits = !out.empty() && out.back().front().scalar_type() == t.scalar_type() &&
                      out.back().front().device() == t.device() && bytes + n <= cap;
    if (!fits) {
      out.emplace_back();
      bytes = 0;
    }
    out.back().push_back(t);
    bytes += n;
  }
  return out;
}

// Runs op on each bucket's flat buffer: the tensor itself for a bucket of one contiguous
// tensor, else the bucket's tensors concatenated, copied back afterwards when copy_back says so.
template <class Op, class CopyBack>
void bucketed(const dd_tensor* const* handles, int64_t n, int64_t bucket_bytes, Op&& op,
              CopyBack&& copy_back) {
  DD_CHECK(bucket_bytes > 0, "bucket_bytes must be > 0, got " + std::to_string(bucket_bytes));
  const std::vector<at::Tensor> tensors = dd::tensors(handles, n, "tensors");
  for (const auto& t : tensors) {
    DD_CHECK(t.defined(), "a tensor of the list is undefined");
    DD_CHECK(t.layout() == at::kStrided, "collectives need dense (strided) tensors");
  }
  at::NoGradGuard no_grad;
  for (auto& bucket : buckets(tensors, bucket_bytes)) {
    if (bucket.size() == 1 && bucket.front().is_contiguous()) {
      op(bucket.front());
      continue;
    }
    std::vector<at::Tensor> flat_parts;
    flat_parts.reserve(bucket.size());
    for (const auto& t : bucket) flat_parts.push_back(t.reshape({-1}));
    at::Tensor flat = at::cat(flat_parts);
    op(flat);
    if (!copy_back()) continue;
    int64_t offset = 0;
    for (auto& t : bucket) {
      t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

c10d::ReduceOp reduce_op(int32_t op) {
  switch (static_cast<dd_dist_reduce_op>(op)) {
    case DD_DIST_SUM:
    case DD_DIST_AVG: return c10d::ReduceOp::SUM;  // AVG: divided by the world size after
    case DD_DIST_MAX: return c10d::ReduceOp::MAX;
    case DD_DIST_MIN: return c10d::ReduceOp::MIN;
  }
  throw dd::unknown_code("reduce op", op);
}

}  // namespace

extern "C" {

dd_process_group* dd_dist_group_tcp(dd_ctx* ctx, int32_t backend, const char* host, int32_t port, int32_t rank,
                                    int32_t world_size, int64_t timeout_ms, int32_t agent_store, int32_t restart_count,
                                    int32_t init_barrier, int32_t device_index) {
  DD_TRY(ctx, nullptr)
  check_backend(backend);
  DD_CHECK(host != nullptr && host[0] != '\0', "master address is empty");
  DD_CHECK(port >= 1 && port <= 65535, "master port must be in [1, 65535], got " + std::to_string(port));
  check_ranks(rank, world_size);
  const milliseconds timeout = checked_timeout(timeout_ms);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const bool server = rank == 0 && agent_store == 0;
  // A client first waits for the store to listen, exactly until the deadline: c10d's own connect
  // loop retries after its timeout has passed (a wrong port failed after 6.4 s of a 3 s timeout).
  if (!server) await_listener(host, static_cast<uint16_t>(port), deadline, timeout);
  // torch.distributed.rendezvous's _create_c10d_store, waiting for the ranks separately below.
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(port);
  options.isServer = server;
  options.numWorkers = static_cast<size_t>(world_size);
  options.waitWorkers = false;
  options.timeout = std::max(remaining(deadline), milliseconds(1));
  options.multiTenant = agent_store == 0;
  auto tcp = c10::make_intrusive<c10d::TCPStore>(host, options);
  // waitWorkers: every rank counts itself in (a Python rank 0 waits for that count), and rank 0
  // waits for world_size. c10d counts that wait in whole seconds and gives up only once they
  // exceed its timeout, up to a second late: a timeout of the whole seconds left, less one, makes
  // it give up by the deadline (0 would mean no timeout at all). Where it gives up without
  // saying so (1.x), rank 0 does not wait here: the Gloo rendezvous, which waits for every rank's
  // record until the deadline, fails instead.
  if (!server || dd::compat::kServerWaitThrows) {
    const int64_t whole_seconds = remaining(deadline).count() / 1000;
    tcp->setTimeout(milliseconds(std::max<int64_t>(1, (whole_seconds - 1) * 1000)));
    tcp->waitForWorkers();
  }
  c10::intrusive_ptr<c10d::Store> store = tcp;
  const std::string prefix = agent_store != 0 ? dd::compat::agent_store_prefix(restart_count) : std::string();
  if (!prefix.empty()) store = c10::make_intrusive<c10d::PrefixStore>(prefix, store);
  return create(backend, std::move(store), rank, world_size, timeout, init_barrier != 0, device_index, agent_store == 0);
  DD_CATCH(ctx, nullptr)
}

dd_process_group* dd_dist_group_file(dd_ctx* ctx, int32_t backend, const char* path, int32_t rank, int32_t world_size,
                                     int64_t timeout_ms, int32_t init_barrier, int32_t device_index) {
  DD_TRY(ctx, nullptr)
  check_backend(backend);
  DD_CHECK(path != nullptr && path[0] != '\0', "file store path is empty");
  check_ranks(rank, world_size);
  const milliseconds timeout = checked_timeout(timeout_ms);
  auto store = c10::make_intrusive<c10d::FileStore>(path, world_size);
  return create(backend, std::move(store), rank, world_size, timeout, init_barrier != 0, device_index, false);
  DD_CATCH(ctx, nullptr)
}

void dd_dist_group_free(dd_process_group* group) {
  DD_COUNT_CALL();
  if (group == nullptr) return;
  try {
    delete group;
  } catch (...) {
    // A destructor that throws has nowhere to report to; the group is gone either way.
  }
  dd::live[DD_KIND_PROCESS_GROUP].fetch_sub(1, std::memory_order_relaxed);
}

int32_t dd_dist_group_lost_rank(const dd_process_group* group) {
  DD_COUNT_CALL();
  return group == nullptr ? -1 : group->lost_rank.load(std::memory_order_relaxed);
}

void dd_dist_all_reduce(dd_ctx* ctx, dd_process_group* group, dd_tensor* const* tensors, int64_t n, int32_t op,
                        int64_t bucket_bytes) {
  DD_TRY(ctx, )
  dd_process_group& g = group_ref(group);
  c10d::AllreduceOptions options;
  options.reduceOp = reduce_op(op);
  options.timeout = g.timeout;
  const bool average = op == DD_DIST_AVG;
  if (average) {
    for (const auto& t : dd::tensors(tensors, n, "tensors")) {
      DD_CHECK(at::isFloatingType(t.scalar_type()) || at::isComplexType(t.scalar_type()),
               std::string("AVG needs floating-point tensors, got ") + c10::toString(t.scalar_type()));
    }
  }
  bucketed(
      tensors, n, bucket_bytes,
      [&](at::Tensor& flat) {
        std::vector<at::Tensor> one{flat};
        collective(g, [&] { return g.backend->allreduce(one, options); });
        if (average) flat.div_(g.world_size);
      },
      [] { return true; });
  DD_CATCH(ctx, )
}

void dd_dist_broadcast(dd_ctx* ctx, dd_process_group* group, dd_tensor* const* tensors, int64_t n, int32_t src,
                       int64_t bucket_bytes) {
  DD_TRY(ctx, )
  dd_process_group& g = group_ref(group);
  DD_CHECK(src >= 0 && src < g.world_size,
           "src must be a rank in [0, " + std::to_string(g.world_size) + "), got " + std::to_string(src));
  c10d::BroadcastOptions options;
  options.rootRank = src;
  options.rootTensor = 0;
  options.timeout = g.timeout;
  bucketed(
      tensors, n, bucket_bytes,
      [&](at::Tensor& flat) {
        std::vector<at::Tensor> one{flat};
        collective(g, [&] { return g.backend->broadcast(one, options); });
      },
      [&] { return g.rank != src; });
  DD_CATCH(ctx, )
}

void dd_dist_barrier(dd_ctx* ctx, dd_process_group* group) {
  DD_TRY(ctx, )
  dd_process_group& g = group_ref(group);
  c10d::BarrierOptions options;
  options.timeout = g.timeout;
  collective(g, [&] { return g.backend->barrier(options); });
  DD_CATCH(ctx, )
}

void dd_dist_all_gather_double(dd_ctx* ctx, dd_process_group* group, double value, double* out, int64_t capacity) {
  DD_TRY(ctx, )
  dd_process_group& g = group_ref(group);
  DD_CHECK(out != nullptr, "output array 'out' is NULL");
  DD_CHECK(capacity >= g.world_size, "output array holds " + std::to_string(capacity) + " values, the world size is " +
                                         std::to_string(g.world_size));
  at::NoGradGuard no_grad;
  const auto options = at::TensorOptions().dtype(at::kDouble).device(g.device);
  std::vector<at::Tensor> input{at::full({1}, value, options)};
  std::vector<std::vector<at::Tensor>> output(1);
  for (int32_t r = 0; r < g.world_size; ++r) output[0].push_back(at::empty({1}, options));
  c10d::AllgatherOptions gather;
  gather.timeout = g.timeout;
  collective(g, [&] { return g.backend->allgather(output, input, gather); });
  for (int32_t r = 0; r < g.world_size; ++r) out[r] = output[0][r].item<double>();
  DD_CATCH(ctx, )
}

}  // extern "C"

#else  // neither Gloo nor NCCL in this build

extern "C" {

dd_process_group* dd_dist_group_tcp(dd_ctx* ctx, int32_t backend, const char* host, int32_t port, int32_t rank,
                                    int32_t world_size, int64_t timeout_ms, int32_t agent_store, int32_t restart_count,
                                    int32_t init_barrier, int32_t device_index) {
  DD_TRY(ctx, nullptr)
  throw dd::ArgumentError(unavailable(backend));
  DD_CATCH(ctx, nullptr)
}

dd_process_group* dd_dist_group_file(dd_ctx* ctx, int32_t backend, const char* path, int32_t rank, int32_t world_size,
                                     int64_t timeout_ms, int32_t init_barrier, int32_t device_index) {
  DD_TRY(ctx, nullptr)
  throw dd::ArgumentError(unavailable(backend));
  DD_CATCH(ctx, nullptr)
}

// No group can exist in this build.
void dd_dist_group_free(dd_process_group* group) {
  DD_COUNT_CALL();
}

int32_t dd_dist_group_lost_rank(const dd_process_group* group) {
  DD_COUNT_CALL();
  return -1;
}

void dd_dist_all_reduce(dd_ctx* ctx, dd_process_group* group, dd_tensor* const* tensors, int64_t n, int32_t op,
                        int64_t bucket_bytes) {
  DD_TRY(ctx, )
  throw dd::ArgumentError(unavailable(DD_DIST_GLOO));
  DD_CATCH(ctx, )
}

void dd_dist_broadcast(dd_ctx* ctx, dd_process_group* group, dd_tensor* const* tensors, int64_t n, int32_t src,
                       int64_t bucket_bytes) {
  DD_TRY(ctx, )
  throw dd::ArgumentError(unavailable(DD_DIST_GLOO));
  DD_CATCH(ctx, )
}

void dd_dist_barrier(dd_ctx* ctx, dd_process_group* group) {
  DD_TRY(ctx, )
  throw dd::ArgumentError(unavailable(DD_DIST_GLOO));
  DD_CATCH(ctx, )
}

void dd_dist_all_gather_double(dd_ctx* ctx, dd_process_group* group, double value, double* out, int64_t capacity) {
  DD_TRY(ctx, )
  throw dd::ArgumentError(unavailable(DD_DIST_GLOO));
  DD_CATCH(ctx, )
}

}  // extern "C"

#endif  // DD_WITH_C10D
