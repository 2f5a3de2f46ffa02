// http.cc - the metrics endpoint's HTTP/1.x request parser and responses.
//
// Follows RFC 9112 where it matters for a one-request, close-after server:
// strict request line, header field names without whitespace before the
// colon, no obs-fold, exactly one Host in HTTP/1.1, a bounded head. Lines
// may end in CRLF or a bare LF (RFC 9112 section 2.2 allows recognising LF).
#include "listgate/app/http.h"

#include <algorithm>
#include <charconv>

#include "text.h"

namespace listgate::app {
namespace {

constexpr std::string_view kVersionPrefix = "HTTP/1.";
constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kAllowHeader = "Allow: GET, HEAD\r\n";
constexpr size_t kLengthBufferSize = 24;

// RFC 9110 token characters.
bool is_tchar(char c) {
  if (text::is_alpha(c) || text::is_digit(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

bool has_ctl_or_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (text::to_lower(a[i]) != text::to_lower(b[i])) return false;
  }
  return true;
}

// The path of a request target: origin-form "/p?q", absolute-form
// "http://host/p?q", or asterisk-form "*". Empty when the form is unknown.
std::string_view target_path(std::string_view target) {
  if (target == "*") return target;
  if (target.front() != '/') {
    size_t scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos) return {};
    std::string_view scheme = target.substr(0, scheme_end);
    if (!iequals(scheme, "http") && !iequals(scheme, "https")) return {};
    size_t slash = target.find('/', scheme_end + 3);
    if (slash == std::string_view::npos) return "/";
    target = target.substr(slash);
  }
  return target.substr(0, target.find('?'));
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    default: return "Unknown";
  }
}

// A short plain-text body for an error status: "Not Found\n".
std::string error_body(int status) {
  std::string body(reason_phrase(status));
  body.push_back('\n');
  return body;
}

}  // namespace

HttpParse HttpRequestParser::feed(std::string_view bytes) {
  if (status_ != HttpParse::need_more) return status_;
  const size_t room = kMaxHeadBytes - head_.size();
  const bool overflow = bytes.size() > room;
  head_.append(bytes.substr(0, room));

  for (size_t i = scanned_; i < head_.size(); ++i) {
    if (head_[i] != '\n') continue;
    size_t end = i;
    if (end > line_start_ && head_[end - 1] == '\r') --end;
    const bool empty_line = end == line_start_;
    if (empty_line && line_start_ == 0) {
      // Empty lines before the request line are skipped (RFC 9112 2.2).
      head_.erase(0, i + 1);
      i = static_cast<size_t>(-1);  // the loop's ++i makes it 0
      line_start_ = 0;
      continue;
    }
    if (empty_line) {
      head_.resize(i + 1);
      status_ = finish_head();
      return status_;
    }
    line_start_ = i + 1;
  }
  scanned_ = head_.size();
  if (overflow || head_.size() >= kMaxHeadBytes) status_ = HttpParse::header_too_large;
  return status_;
}

HttpParse HttpRequestParser::finish_head() {
  std::string_view rest = head_;
  bool first = true;
  int host_headers = 0;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the blank line that ends the head
    if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
      return HttpParse::bad_request;
    }

    if (first) {
      first = false;
      size_t sp1 = line.find(' ');
      size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos) return HttpParse::bad_request;
      std::string_view method = line.substr(0, sp1);
      std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      std::string_view version = line.substr(sp2 + 1);
      if (!is_token(method) || target.empty() || has_ctl_or_space(target)) return HttpParse::bad_request;
      if (version.size() != kVersionPrefix.size() + 1 || version.substr(0, kVersionPrefix.size()) != kVersionPrefix ||
          !text::is_digit(version.back())) {
        return HttpParse::bad_request;
      }
      std::string_view path = target_path(target);
      if (path.empty()) return HttpParse::bad_request;
      request_.method = std::string(method);
      request_.path = std::string(path);
      request_.minor_version = version.back() - '0';
      continue;
    }

    if (line.front() == ' ' || line.front() == '\t') return HttpParse::bad_request;  // obs-fold
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return HttpParse::bad_request;
    if (iequals(line.substr(0, colon), "host")) ++host_headers;
  }
  if (host_headers > 1 || (request_.minor_version >= 1 && host_headers == 0)) return HttpParse::bad_request;
  return HttpParse::ready;
}

void append_response(int status, std::string_view content_type, std::string_view body, bool head_only,
                     std::string_view extra_headers, std::string& out) {
  char length[kLengthBufferSize];
  auto r = std::to_chars(length, length + sizeof length, body.size());
  char code[kLengthBufferSize];
  auto c = std::to_chars(code, code + sizeof code, status);

  out.append("HTTP/1.1 ").append(code, c.ptr).append(" ").append(reason_phrase(status)).append("\r\n");
  out.append("Content-Type: ").append(content_type).append("\r\n");
  out.append("Content-Length: ").append(length, r.ptr).append("\r\n");
  out.append("Connection: close\r\n");
  out.append(extra_headers);
  out.append("\r\n");
  if (!head_only) out.append(body);
}

void append_metrics_response(const HttpRequest& request,
                             const std::function<void(std::string& body)>& render_body, std::string& out) {
  const bool head_only = request.method == "HEAD";
  if (request.path != kMetricsPath) {
    append_response(404, kTextPlain, error_body(404), head_only, {}, out);
    return;
  }
  if (request.method != "GET" && !head_only) {
    append_response(405, kTextPlain, error_body(405), false, kAllowHeader, out);
    return;
  }
  // Reused between scrapes so a scrape does not allocate once warmed up.
  static thread_local std::string body;
  body.clear();
  render_body(body);
  append_response(200, kMetricsContentType, body, head_only, {}, out);
}

void append_error_response(HttpParse status, std::string& out) {
  const int code = status == HttpParse::header_too_large ? 431 : 400;
  append_response(code, kTextPlain, error_body(code), false, {}, out);
}

}  // namespace listgate::app
