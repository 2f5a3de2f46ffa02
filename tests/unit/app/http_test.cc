// http_test.cc - the metrics endpoint's request parser, fed in random pieces,
// and its exact responses.
#include "listgate/app/http.h"

#include <gtest/gtest.h>

#include <random>

namespace listgate::app {
namespace {

constexpr int kSplitsPerRequest = 200;

// Feeds `bytes` in random pieces; every result before the last piece must be
// need_more when the head ends in the last piece.
struct Fed {
  HttpParse status;
  HttpRequest request;
};

Fed feed_in_pieces(std::string_view bytes, std::mt19937& rng) {
  HttpRequestParser parser;
  HttpParse status = HttpParse::need_more;
  size_t pos = 0;
  while (pos < bytes.size()) {
    std::uniform_int_distribution<size_t> len(1, std::max<size_t>(1, (bytes.size() - pos) / 2 + 1));
    size_t n = std::min(len(rng), bytes.size() - pos);
    HttpParse s = parser.feed(bytes.substr(pos, n));
    if (status != HttpParse::need_more) {
      EXPECT_EQ(s, status) << "the result changed after it was final";
    }
    status = s;
    pos += n;
  }
  return {status, parser.request()};
}

// The same answer for every way of splitting the bytes, and for one piece.
Fed parse_all_splits(std::string_view bytes) {
  HttpRequestParser whole;
  Fed once{whole.feed(bytes), whole.request()};
  std::mt19937 rng(20240501);
  for (int i = 0; i < kSplitsPerRequest; ++i) {
    Fed split = feed_in_pieces(bytes, rng);
    EXPECT_EQ(split.status, once.status) << "split " << i;
    EXPECT_EQ(split.request.method, once.request.method);
    EXPECT_EQ(split.request.path, once.request.path);
    EXPECT_EQ(split.request.minor_version, once.request.minor_version);
  }
  // Byte by byte.
  HttpRequestParser bytewise;
  HttpParse status = HttpParse::need_more;
  for (char c : bytes) status = bytewise.feed(std::string_view(&c, 1));
  EXPECT_EQ(status, once.status);
  return once;
}

TEST(HttpParser, PrometheusScrape) {
  Fed r = parse_all_splits(
      "GET /metrics HTTP/1.1\r\n"
      "Host: 127.0.0.1:9124\r\n"
      "User-Agent: Prometheus/2.45.0\r\n"
      "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
      "Accept-Encoding: gzip\r\n"
      "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n"
      "\r\n");
  EXPECT_EQ(r.status, HttpParse::ready);
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.path, "/metrics");
  EXPECT_EQ(r.request.minor_version, 1);
}

TEST(HttpParser, NeedsMoreUntilTheBlankLine) {
  HttpRequestParser p;
  EXPECT_EQ(p.feed("GET /metrics HTTP/1.1\r\nHost: x\r\n"), HttpParse::need_more);
  EXPECT_EQ(p.feed("\r"), HttpParse::need_more);
  EXPECT_EQ(p.feed("\n"), HttpParse::ready);
  EXPECT_EQ(p.feed("more bytes after the head are ignored"), HttpParse::ready);
  EXPECT_EQ(p.request().path, "/metrics");
}

TEST(HttpParser, AcceptedForms) {
  Fed r = parse_all_splits("GET /metrics HTTP/1.0\n\n");  // bare LF, HTTP/1.0 needs no Host
  EXPECT_EQ(r.status, HttpParse::ready);
  EXPECT_EQ(r.request.minor_version, 0);

  r = parse_all_splits("\r\n\r\nGET /metrics?name[]=x HTTP/1.1\r\nHost: h\r\n\r\n");  // leading empty lines
  EXPECT_EQ(r.status, HttpParse::ready);
  EXPECT_EQ(r.request.path, "/metrics");

  r = parse_all_splits("GET http://127.0.0.1:9124/metrics?x HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(r.status, HttpParse::ready);
  EXPECT_EQ(r.request.path, "/metrics");

  r = parse_all_splits("GET HTTP://h HTTP/1.1\r\nhost: h\r\n\r\n");
  EXPECT_EQ(r.status, HttpParse::ready);
  EXPECT_EQ(r.request.path, "/");

  r = parse_all_splits("OPTIONS * HTTP/1.1\r\nHost: h\r\nEmpty:\r\n\r\n");
  EXPECT_EQ(r.status, HttpParse::ready);
  EXPECT_EQ(r.request.method, "OPTIONS");
  EXPECT_EQ(r.request.path, "*");
}

TEST(HttpParser, BadRequests) {
  for (std::string_view bad : {
           "GET /metrics HTTP/1.1\r\n\r\n",                           // HTTP/1.1 without Host
           "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",     // two Hosts
           "GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",     // obs-fold
           "GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n",               // space before the colon
           "GET /metrics HTTP/1.1\r\nHost a\r\n\r\n",                 // no colon
           "GET /metrics HTTP/2.0\r\nHost: a\r\n\r\n",                // not HTTP/1.x
           "GET /metrics HTTP/1.10\r\nHost: a\r\n\r\n",
           "GET /metrics http/1.1\r\nHost: a\r\n\r\n",
           "GET /metrics\r\n\r\n",                                    // HTTP/0.9
           "GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n",               // two spaces
           "GET /met rics HTTP/1.1\r\nHost: a\r\n\r\n",
           "GET\t/metrics HTTP/1.1\r\nHost: a\r\n\r\n",
           "G(T /metrics HTTP/1.1\r\nHost: a\r\n\r\n",                // not a token
           "GET metrics HTTP/1.1\r\nHost: a\r\n\r\n",                 // not a known target form
           "GET ftp://h/metrics HTTP/1.1\r\nHost: a\r\n\r\n",
           "GET /metrics HTTP/1.1\rHost: a\r\n\r\n",                  // bare CR
       }) {
    EXPECT_EQ(parse_all_splits(bad).status, HttpParse::bad_request) << bad;
  }
  static constexpr char kWithNul[] = "GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n";
  const std::string nul(kWithNul, sizeof kWithNul - 1);
  EXPECT_EQ(parse_all_splits(nul).status, HttpParse::bad_request);
}

TEST(HttpParser, HeadIsBounded) {
  const std::string start = "GET /metrics HTTP/1.1\r\nHost: h\r\nX-Pad: ";
  const std::string end = "\r\n\r\n";
  // Exactly kMaxHeadBytes, blank line included: accepted.
  std::string fits = start + std::string(HttpRequestParser::kMaxHeadBytes - start.size() - end.size(), 'a') + end;
  ASSERT_EQ(fits.size(), HttpRequestParser::kMaxHeadBytes);
  EXPECT_EQ(parse_all_splits(fits).status, HttpParse::ready);
  // One byte more: 431, whatever the split.
  std::string too_big = start + std::string(HttpRequestParser::kMaxHeadBytes - start.size() - end.size() + 1, 'a') + end;
  EXPECT_EQ(parse_all_splits(too_big).status, HttpParse::header_too_large);
  // A head that never ends.
  HttpRequestParser p;
  HttpParse s = HttpParse::need_more;
  for (int i = 0; i < 100 && s == HttpParse::need_more; ++i) s = p.feed(std::string(1000, 'x'));
  EXPECT_EQ(s, HttpParse::header_too_large);
}

TEST(HttpParser, RandomBytesGetAnAnswerAndNeverCrash) {
  std::mt19937 rng(7);
  const std::string alphabet = "GET /metricsHTP1.0:\r\n \t\0x";
  for (int i = 0; i < 5000; ++i) {
    std::string bytes;
    const size_t n = rng() % 200;
    for (size_t k = 0; k < n; ++k) bytes.push_back(alphabet[rng() % alphabet.size()]);
    HttpRequestParser p;
    HttpParse s = p.feed(bytes);
    s = p.feed("\r\n\r\n");
    std::string out;
    if (s == HttpParse::ready) {
      append_metrics_response(p.request(), [](std::string& b) { b = "x 1\n"; }, out);
    } else if (s != HttpParse::need_more) {
      append_error_response(s, out);
    }
    if (s != HttpParse::need_more) {
      EXPECT_EQ(out.rfind("HTTP/1.1 ", 0), 0u);
    }
  }
}

// ---------------------------------------------------------------------------
// Responses.

HttpRequest request(std::string method, std::string path) { return HttpRequest{std::move(method), std::move(path), 1}; }

std::string respond(const HttpRequest& r, int* renders) {
  std::string out;
  append_metrics_response(
      r,
      [renders](std::string& body) {
        ++*renders;
        body.append("listgate_up 1\n");
      },
      out);
  return out;
}

TEST(HttpResponse, MetricsOk) {
  int renders = 0;
  EXPECT_EQ(respond(request("GET", "/metrics"), &renders),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: 14\r\n"
            "Connection: close\r\n"
            "\r\n"
            "listgate_up 1\n");
  EXPECT_EQ(renders, 1);
  // The reused body buffer starts empty each time.
  EXPECT_EQ(respond(request("GET", "/metrics"), &renders).find("listgate_up 1\nlistgate_up"), std::string::npos);
}

TEST(HttpResponse, HeadHasTheHeadersOnly) {
  int renders = 0;
  EXPECT_EQ(respond(request("HEAD", "/metrics"), &renders),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: 14\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(HttpResponse, NotFoundAndMethodNotAllowed) {
  int renders = 0;
  EXPECT_EQ(respond(request("GET", "/"), &renders),
            "HTTP/1.1 404 Not Found\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 10\r\n"
            "Connection: close\r\n"
            "\r\n"
            "Not Found\n");
  EXPECT_EQ(respond(request("POST", "/metrics"), &renders),
            "HTTP/1.1 405 Method Not Allowed\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 19\r\n"
            "Connection: close\r\n"
            "Allow: GET, HEAD\r\n"
            "\r\n"
            "Method Not Allowed\n");
  EXPECT_EQ(respond(request("get", "/metrics"), &renders).substr(0, 12), "HTTP/1.1 405");  // methods are case-sensitive
  EXPECT_EQ(respond(request("GET", "/metrics/"), &renders).substr(0, 12), "HTTP/1.1 404");
  EXPECT_EQ(renders, 0);  // nothing rendered for an error
}

TEST(HttpResponse, ParseErrors) {
  std::string out;
  append_error_response(HttpParse::bad_request, out);
  EXPECT_EQ(out,
            "HTTP/1.1 400 Bad Request\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 12\r\n"
            "Connection: close\r\n"
            "\r\n"
            "Bad Request\n");
  out.clear();
  append_error_response(HttpParse::header_too_large, out);
  EXPECT_EQ(out,
            "HTTP/1.1 431 Request Header Fields Too Large\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 32\r\n"
            "Connection: close\r\n"
            "\r\n"
            "Request Header Fields Too Large\n");
}

TEST(HttpEndToEnd, RequestBytesToResponseBytes) {
  HttpRequestParser p;
  ASSERT_EQ(p.feed("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"), HttpParse::ready);
  std::string out;
  append_metrics_response(p.request(), [](std::string& body) { body = "x 1\n"; }, out);
  EXPECT_EQ(out.substr(0, 17), "HTTP/1.1 200 OK\r\n");
  EXPECT_EQ(out.substr(out.size() - 8), "\r\n\r\nx 1\n");
}

}  // namespace
}  // namespace listgate::app
