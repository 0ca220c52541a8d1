// Helpers for FIB integration tests: the test process moves itself into a
// fresh, private network namespace (unshare), so nothing it does is visible
// outside it and everything vanishes when the process exits, even on a crash.
#pragma once

// A C++ standard header first: Asio's config must see libstdc++'s macros
// (_GLIBCXX_HAVE_ALIGNED_ALLOC) in every translation unit, or its allocator
// differs between TUs (ASan: alloc-dealloc-mismatch).
#include <cstddef>

#include <sched.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace ferry::fib::testing {

// True once this process lives in its own network namespace.
inline bool enter_private_netns() {
  static const bool ok = geteuid() == 0 && unshare(CLONE_NEWNET) == 0;
  return ok;
}

// Runs a shell command (inside our namespace); returns stdout, throws on failure.
inline std::string sh(const std::string& cmd) {
  std::string out;
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (!f) throw std::runtime_error("popen failed: " + cmd);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int rc = pclose(f);
  if (rc != 0)
    throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + cmd + "\n" + out);
  return out;
}

inline nlohmann::json sh_json(const std::string& cmd) {
  auto out = sh(cmd);
  if (out.find_first_not_of(" \n") == std::string::npos) return nlohmann::json::array();
  return nlohmann::json::parse(out);
}

template <typename Pred>
bool run_until(asio::io_context& io, Pred pred,
               std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < deadline) {
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace ferry::fib::testing
