// libFuzzer target: bytes a client sends to the /metrics endpoint. The
// server hands parse_request() the head once it saw an empty line or
// HttpServer::kMaxRequest bytes, so inputs are cut at that size.
//
// Properties besides "never crash": a parsed request has a method made of
// token characters and a path that starts with '/' and holds no query; the
// response built for any outcome states a Content-Length equal to its body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "metrics/http.hpp"

using namespace ferry::metrics;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > HttpServer::kMaxRequest) size = HttpServer::kMaxRequest;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = parse_request(in);
  HttpResponse resp;
  if (r.ok()) {
    if (r->method.empty() || r->path.empty() || r->path[0] != '/' ||
        r->path.find('?') != std::string::npos)
      __builtin_trap();
    resp.body = r->path;
  } else {
    resp.status = 400;
    resp.body = r.error();
  }
  const std::string out = serialize_response(resp, false);
  const std::string cl = "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
  if (out.find(cl) == std::string::npos || !out.ends_with(resp.body)) __builtin_trap();
  return 0;
}
