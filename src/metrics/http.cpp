#include "metrics/http.hpp"

#include <array>

#include "common/log.hpp"

namespace ferry::metrics {

namespace {

// tchar, RFC 9110 §5.6.2.
bool tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!tchar(c)) return false;
  return true;
}

// Visible ASCII only: no controls, spaces or bytes >= 0x7f in a request target.
bool visible(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

// Next line without its terminator; accepts CRLF and a bare LF (RFC 9112 §2.2).
std::optional<std::string_view> next_line(std::string_view& rest) {
  const size_t nl = rest.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view line = rest.substr(0, nl);
  rest.remove_prefix(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

Result<HttpRequest> parse_request(std::string_view head) {
  std::string_view rest = head;
  auto line = next_line(rest);
  if (!line) return make_error("incomplete request line");
  // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
  const size_t sp1 = line->find(' ');
  if (sp1 == std::string_view::npos) return make_error("malformed request line");
  const size_t sp2 = line->find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return make_error("malformed request line");
  const std::string_view method = line->substr(0, sp1);
  const std::string_view target = line->substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line->substr(sp2 + 1);
  if (!token(method)) return make_error("malformed method");
  // origin-form = absolute-path [ "?" query ] (RFC 9112 §3.2.1)
  if (target.empty() || target[0] != '/' || !visible(target))
    return make_error("request target must be an absolute path");
  // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3); 1.0 and 1.1 are served.
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return make_error("unsupported HTTP version");

  // field-line = field-name ":" OWS field-value OWS (RFC 9112 §5); the values are
  // not needed, but each line is checked so garbage is refused, not ignored.
  for (;;) {
    auto f = next_line(rest);
    if (!f) return make_error("header section not terminated by an empty line");
    if (f->empty()) break;
    if (f->front() == ' ' || f->front() == '\t')
      return make_error("obsolete line folding in header section");  // RFC 9112 §5.2
    const size_t colon = f->find(':');
    if (colon == std::string_view::npos || !token(f->substr(0, colon)))
      return make_error("malformed header field");
  }
  HttpRequest r;
  r.method = method;
  r.path = target.substr(0, target.find('?'));
  return r;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string serialize_response(const HttpResponse& r, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  if (r.status == 405) out += "Allow: GET, HEAD\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += r.body;
  return out;
}

// One client: read the head, answer, close.
class HttpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::ip::tcp::socket s, std::shared_ptr<Handler> h, std::shared_ptr<size_t> open)
      : sock_(std::move(s)),
        timer_(sock_.get_executor()),
        handler_(std::move(h)),
        open_(std::move(open)) {
    ++*open_;
  }
  ~Connection() { --*open_; }

  void start() {
    timer_.expires_after(kReadTimeout);
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec) self->sock_.close();
    });
    read();
  }

 private:
  void read() {
    sock_.async_read_some(asio::buffer(chunk_),
                          [self = shared_from_this()](std::error_code ec, size_t n) {
                            if (ec) {
                              self->timer_.cancel();
                              return;
                            }
                            self->on_data(n);
                          });
  }

  void on_data(size_t n) {
    head_.append(chunk_.data(), n);
    const bool complete =
        head_.find("\r\n\r\n") != std::string::npos || head_.find("\n\n") != std::string::npos;
    if (!complete) {
      if (head_.size() >= kMaxRequest)
        return respond({431, "text/plain; charset=utf-8", "request header too large\n"}, false);
      return read();
    }
    auto req = parse_request(head_);
    if (!req.ok()) return respond({400, "text/plain; charset=utf-8", req.error() + "\n"}, false);
    const bool head_only = req->method == "HEAD";
    if (req->method != "GET" && !head_only)
      return respond({405, "text/plain; charset=utf-8", "only GET and HEAD\n"}, false);
    if (!*handler_)
      return respond({503, "text/plain; charset=utf-8", "shutting down\n"}, head_only);
    HttpResponse r;
    try {
      r = (*handler_)(*req);
    } catch (const std::exception& e) {
      spdlog::error("metrics: {} failed: {}", req->path, e.what());
      r = {500, "text/plain; charset=utf-8", "internal error\n"};
    }
    respond(r, head_only);
  }

  void respond(const HttpResponse& r, bool head_only) {
    out_ = serialize_response(r, head_only);
    asio::async_write(sock_, asio::buffer(out_),
                      [self = shared_from_this()](std::error_code, size_t) {
                        self->timer_.cancel();
                        std::error_code ignored;
                        self->sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                        self->sock_.close(ignored);
                      });
  }

  asio::ip::tcp::socket sock_;
  asio::steady_timer timer_;
  std::shared_ptr<Handler> handler_;
  std::shared_ptr<size_t> open_;
  std::array<char, 2048> chunk_{};
  std::string head_;
  std::string out_;
};

HttpServer::HttpServer(asio::io_context& io, Handler handler)
    : handler_(std::make_shared<Handler>(std::move(handler))), acceptor_(io) {}

HttpServer::~HttpServer() {
  close();
}

Result<void> HttpServer::listen(const IpAddress& addr, uint16_t port) {
  std::error_code ec;
  const auto a = asio::ip::make_address(addr.str(), ec);
  if (ec) return make_error("metrics: bad listen address " + addr.str());
  const asio::ip::tcp::endpoint ep(a, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::error_code ignored;
    acceptor_.close(ignored);
    return make_error("metrics: listen on " + addr.str() + " port " + std::to_string(port) + ": " +
                      ec.message());
  }
  port_ = acceptor_.local_endpoint(ec).port();
  accept();
  return {};
}

void HttpServer::close() {
  std::error_code ignored;
  acceptor_.close(ignored);
  *handler_ = nullptr;
}

void HttpServer::accept() {
  acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket s) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      if (*open_ >= kMaxConnections) {
        std::error_code ignored;
        s.close(ignored);
      } else {
        std::make_shared<Connection>(std::move(s), handler_, open_)->start();
      }
    }
    accept();
  });
}

}  // namespace ferry::metrics
