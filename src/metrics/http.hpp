// A minimal HTTP/1.1 server for the /metrics endpoint, on the control-plane
// io_context.
//
// Each connection sends one request and gets one response, then the server
// closes it ("Connection: close", RFC 9112 §9.6), which is what Prometheus
// scrapers handle fine. The request head is read asynchronously up to
// kMaxRequest bytes and within kReadTimeout, so a slow or hostile client never
// blocks the event loop; at most kMaxConnections are open at once (extra ones
// are closed on accept). The handler runs on the event loop, between other
// events, and must be cheap (the metrics snapshot is O(peers + sessions)).
//
// parse_request() is the only code that reads bytes from the client; it is
// pure and has its own unit tests and fuzz target.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/ip.hpp"
#include "common/result.hpp"

namespace ferry::metrics {

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string path;    // request target without the query ("/metrics")
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Parses a complete request head (request line and header fields, ending in an
// empty line) per RFC 9112 §2.2, §3 and §5. Errors name what is wrong; the
// caller answers them with 400.
Result<HttpRequest> parse_request(std::string_view head);
// The status line, header fields and body; HEAD responses carry no body
// (RFC 9110 §9.3.2).
std::string serialize_response(const HttpResponse& r, bool head_only);
const char* reason_phrase(int status);

class HttpServer {
 public:
  static constexpr size_t kMaxRequest = 8 * 1024;
  static constexpr size_t kMaxConnections = 16;
  static constexpr std::chrono::seconds kReadTimeout{5};
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  HttpServer(asio::io_context& io, Handler handler);
  ~HttpServer();

  Result<void> listen(const IpAddress& addr, uint16_t port);
  void close();
  uint16_t port() const { return port_; }  // the bound port (useful with port 0)

 private:
  class Connection;
  void accept();

  // Shared with the connections; emptied by close(), after which they answer 503.
  std::shared_ptr<Handler> handler_;
  asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  // Shared with the connections, which may outlive a close().
  std::shared_ptr<size_t> open_ = std::make_shared<size_t>(0);
};

}  // namespace ferry::metrics
