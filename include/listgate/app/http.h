// http.h - just enough HTTP/1.x to serve GET /metrics, with no sockets.
//
// The server owns the socket and feeds the parser whatever bytes arrive, in
// pieces of any size; the parser says "need more", "ready" or what was wrong.
// Every response closes the connection (`Connection: close`), so one request
// per connection is all there is: no keep-alive, no pipelining, and a request
// body is never read. The head (request line and headers) is limited to
// kMaxHeadBytes; beyond it the answer is 431.
//
//   HttpRequestParser parser;
//   switch (parser.feed(bytes)) {
//     case HttpParse::need_more: break;                         // read again
//     case HttpParse::ready:                                    // answer, close
//       append_metrics_response(parser.request(), render, out); break;
//     default: append_error_response(parser.status(), out);     // answer, close
//   }
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace listgate::app {

enum class HttpParse {
  need_more,         // the head is not complete yet
  ready,             // request() is valid
  bad_request,       // answer 400
  header_too_large,  // answer 431
};

struct HttpRequest {
  std::string method;  // as sent, case-sensitive ("GET")
  std::string path;    // the target's path, without "?query"
  int minor_version = 1;  // HTTP/1.<minor>
};

class HttpRequestParser {
 public:
  static constexpr size_t kMaxHeadBytes = 8192;

  // Takes the next bytes. Once the result is not need_more it stays so, and
  // later bytes are ignored.
  HttpParse feed(std::string_view bytes);

  HttpParse status() const { return status_; }
  const HttpRequest& request() const { return request_; }

 private:
  HttpParse finish_head();

  std::string head_;
  size_t scanned_ = 0;     // bytes of head_ already searched for the blank line
  size_t line_start_ = 0;  // start of the line being scanned
  HttpParse status_ = HttpParse::need_more;
  HttpRequest request_;
};

// Where the metrics endpoint lives.
inline constexpr std::string_view kMetricsPath = "/metrics";
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Appends the whole response to a ready request: GET /metrics → 200 with
// the body `render_body` appends (HEAD: same head, no body); another path →
// 404; another method → 405 with `Allow: GET, HEAD`. render_body is called
// only for a 200.
void append_metrics_response(const HttpRequest& request,
                             const std::function<void(std::string& body)>& render_body, std::string& out);

// Appends the response to a failed parse: 400 or 431.
void append_error_response(HttpParse status, std::string& out);

// Appends one response: status line, Content-Type, Content-Length,
// `Connection: close`, any extra header lines (each ending in "\r\n"), and
// the body unless head_only. Content-Length is the body's size either way.
void append_response(int status, std::string_view content_type, std::string_view body, bool head_only,
                     std::string_view extra_headers, std::string& out);

}  // namespace listgate::app
