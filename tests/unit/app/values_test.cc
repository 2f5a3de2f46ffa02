// values_test.cc - the value syntaxes shared by the file and the flags:
// durations and addresses.
#include <gtest/gtest.h>

#include "listgate/app/config.h"

namespace listgate::app {
namespace {

using std::chrono::seconds;

seconds duration_ok(std::string_view text) {
  auto r = parse_duration(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : seconds(-1);
}

std::string duration_error(std::string_view text) {
  auto r = parse_duration(text);
  EXPECT_FALSE(r.ok()) << text << " parsed as " << (r.ok() ? r->count() : 0) << "s";
  return r.ok() ? std::string() : r.error().message;
}

TEST(Duration, Units) {
  EXPECT_EQ(duration_ok("0"), seconds(0));
  EXPECT_EQ(duration_ok("45"), seconds(45));
  EXPECT_EQ(duration_ok("45s"), seconds(45));
  EXPECT_EQ(duration_ok("15m"), seconds(900));
  EXPECT_EQ(duration_ok("2h"), seconds(7200));
  EXPECT_EQ(duration_ok("5d"), seconds(432000));
  EXPECT_EQ(duration_ok("1w"), seconds(604800));
  EXPECT_EQ(duration_ok(" 300s "), seconds(300));
}

TEST(Duration, CombinationsAndDecimalsAsLazrConfigWritesThem) {
  EXPECT_EQ(duration_ok("1h30m"), seconds(5400));
  EXPECT_EQ(duration_ok("1w2d3h4m5s"), seconds(604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5));
  EXPECT_EQ(duration_ok("1.5h"), seconds(5400));
  EXPECT_EQ(duration_ok("0.5m"), seconds(30));
  EXPECT_EQ(duration_ok(".5m"), seconds(30));
  EXPECT_EQ(duration_ok("2.250m"), seconds(135));
  EXPECT_EQ(duration_ok("1.000s"), seconds(1));
}

TEST(Duration, Errors) {
  const std::string kHint = "; write a number with s, m, h, d or w, like 30s, 15m, 1h30m, 5d)";
  EXPECT_EQ(duration_error(""), "'' is not a duration (empty" + kHint);
  EXPECT_EQ(duration_error("5x"), "'5x' is not a duration (unknown unit" + kHint);
  EXPECT_EQ(duration_error("5M"), "'5M' is not a duration (unknown unit" + kHint);
  EXPECT_EQ(duration_error("30m1h"), "'30m1h' is not a duration (units out of order or repeated" + kHint);
  EXPECT_EQ(duration_error("1m1m"), "'1m1m' is not a duration (units out of order or repeated" + kHint);
  EXPECT_EQ(duration_error("1h30"), "'1h30' is not a duration (a number at the end without a unit" + kHint);
  EXPECT_EQ(duration_error("h"), "'h' is not a duration (expected a number" + kHint);
  EXPECT_EQ(duration_error("1 h"), "'1 h' is not a duration (unknown unit" + kHint);
  EXPECT_EQ(duration_error("-5s"), "'-5s' is not a duration (expected a number" + kHint);
  EXPECT_EQ(duration_error("0.5s"), "'0.5s' is not a duration (not a whole number of seconds" + kHint);
  EXPECT_EQ(duration_error("1.s"), "'1.s' is not a duration (a '.' without digits after it" + kHint);
  EXPECT_EQ(duration_error("1.0001h"), "'1.0001h' is not a duration (more than 3 decimals" + kHint);
  EXPECT_EQ(duration_error("3651d"), "duration too long (at most 3650d)");
  EXPECT_EQ(duration_error("99999999999999999999"), "duration too long (at most 3650d)");
  EXPECT_EQ(duration_error("99999999999999999999w"), "duration too long (at most 3650d)");
}

Address address_ok(std::string_view text, AllowUnix allow = AllowUnix::yes) {
  auto r = parse_address(text, allow);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Address{};
}

std::string address_error(std::string_view text, AllowUnix allow = AllowUnix::yes) {
  auto r = parse_address(text, allow);
  EXPECT_FALSE(r.ok()) << text << " parsed";
  return r.ok() ? std::string() : r.error().message;
}

TEST(AddressParse, Forms) {
  EXPECT_EQ(address_ok("127.0.0.1:8024"), (Address{Address::Kind::tcp, "127.0.0.1", 8024, {}}));
  EXPECT_EQ(address_ok("localhost:25"), (Address{Address::Kind::tcp, "localhost", 25, {}}));
  EXPECT_EQ(address_ok("[::1]:9124"), (Address{Address::Kind::tcp, "::1", 9124, {}}));
  EXPECT_EQ(address_ok("[fe80::1%eth0]:1"), (Address{Address::Kind::tcp, "fe80::1%eth0", 1, {}}));
  EXPECT_EQ(address_ok("[::ffff:192.0.2.1]:65535"), (Address{Address::Kind::tcp, "::ffff:192.0.2.1", 65535, {}}));
  EXPECT_EQ(address_ok("unix:/run/listgate/lmtp.sock"),
            (Address{Address::Kind::unix_socket, {}, 0, "/run/listgate/lmtp.sock"}));
  EXPECT_EQ(address_ok("unix:private/listgate"), (Address{Address::Kind::unix_socket, {}, 0, "private/listgate"}));
}

TEST(AddressParse, RoundTrips) {
  for (std::string_view text : {"127.0.0.1:8024", "[::1]:9124", "unix:/run/l.sock", "mx.example.org:25"}) {
    EXPECT_EQ(address_ok(text).to_string(), text);
  }
}

TEST(AddressParse, Errors) {
  EXPECT_EQ(address_error(""), "empty address");
  EXPECT_EQ(address_error("host"), "'host': expected HOST:PORT");
  EXPECT_EQ(address_error(":25"), "':25': missing host before ':'");
  EXPECT_EQ(address_error("host:"), "'host:': port '' is not a number from 0 to 65535");
  EXPECT_EQ(address_error("host:65536"), "'host:65536': port '65536' is not a number from 0 to 65535");
  EXPECT_EQ(address_error("host:http"), "'host:http': port 'http' is not a number from 0 to 65535");
  EXPECT_EQ(address_error("::1:25"), "'::1:25': an IPv6 address needs brackets, like [::1]:PORT");
  EXPECT_EQ(address_error("[::1:25"), "'[::1:25': missing ']' after the IPv6 address");
  EXPECT_EQ(address_error("[::1]"), "'[::1]': expected ':PORT' after ']'");
  EXPECT_EQ(address_error("[::1]25"), "'[::1]25': expected ':PORT' after ']'");
  EXPECT_EQ(address_error("[example.org]:25"), "'[example.org]:25': 'example.org' is not an IPv6 address");
  EXPECT_EQ(address_error("[]:25"), "'[]:25': '' is not an IPv6 address");
  EXPECT_EQ(address_error("a b:25"), "'a b:25' contains spaces or control characters");
  EXPECT_EQ(address_error("unix:"), "'unix:' needs a path, like unix:/run/listgate/lmtp.sock");
  EXPECT_EQ(address_error("unix:/x", AllowUnix::no), "'unix:/x': a Unix socket is not allowed here; use HOST:PORT");
  EXPECT_EQ(address_error("unix:/" + std::string(107, 'a')), "Unix socket path longer than 107 bytes");
  EXPECT_TRUE(parse_address("unix:/" + std::string(106, 'a'), AllowUnix::yes).ok());
}

}  // namespace
}  // namespace listgate::app
