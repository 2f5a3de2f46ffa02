// loader_test.cc - the table JSON: what loads, and every class of error with
// its FILE:LINE:COL.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "listgate/table/loader.h"

namespace listgate::table {
namespace {

constexpr const char* kName = "t.json";

// "LINE:COL" of the first occurrence of `needle` in `json` (1-based, bytes),
// counted here independently of the loader.
std::string where(std::string_view json, std::string_view needle) {
  const size_t offset = json.find(needle);
  EXPECT_NE(offset, std::string_view::npos) << "test bug: " << needle << " not in the JSON";
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (json[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

std::string error_of(std::string_view json, TableOptions options = {}) {
  const Result<TablePtr> table = parse_table(json, kName, options);
  return table.ok() ? std::string("(loaded)") : table.error().message;
}

// The error must be "t.json:<position of needle>: ..." and contain `phrase`.
void expect_error_at(std::string_view json, std::string_view needle, std::string_view phrase) {
  const std::string message = error_of(json);
  const std::string prefix = std::string(kName) + ":" + where(json, needle) + ": ";
  EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
  EXPECT_NE(message.find(phrase), std::string::npos) << message;
}

TablePtr load_ok(std::string_view json) {
  Result<TablePtr> table = parse_table(json, kName, {});
  EXPECT_TRUE(table.ok()) << (table.ok() ? "" : table.error().message);
  return table.ok() ? table.value() : std::make_shared<ListTable>();
}

TEST(Loader, LoadsTheDesignExample) {
  const TablePtr table = load_ok(R"({
  "domains": { "lists.example.org": { "alias_domain": "x.example.org" } },
  "lists": [
    { "address": "announce@lists.example.org",
      "owners":  ["boss@example.org"],
      "members": ["alice@example.com", "Bob@Example.NET"],
      "verp": true },
    { "address": "Dev@Lists.Example.Org",
      "backend": "lmtp:[127.0.0.1]:8025" }
  ]
})");
  ASSERT_EQ(table->size(), 2u);
  const ListInfo announce = table->list(0);
  EXPECT_EQ(announce.address, "announce@lists.example.org");
  EXPECT_EQ(announce.local_part, "announce");
  EXPECT_EQ(announce.domain, "lists.example.org");
  ASSERT_EQ(announce.owners.size(), 1u);
  EXPECT_EQ(announce.owners[0], "boss@example.org");
  ASSERT_EQ(announce.members.size(), 2u);
  EXPECT_EQ(announce.members[0], "alice@example.com");
  EXPECT_EQ(announce.members[1], "Bob@Example.NET");  // members keep their case
  EXPECT_TRUE(announce.verp);
  EXPECT_EQ(announce.backend, nullptr);

  const ListInfo dev = table->list(1);
  EXPECT_EQ(dev.address, "dev@lists.example.org");  // list addresses are lower-cased
  EXPECT_TRUE(dev.owners.empty());
  EXPECT_TRUE(dev.members.empty());
  EXPECT_FALSE(dev.verp);
  ASSERT_NE(dev.backend, nullptr);
  EXPECT_EQ(dev.backend->protocol, BackendSpec::Protocol::lmtp);
  EXPECT_EQ(dev.backend->host, "127.0.0.1");
  EXPECT_EQ(dev.backend->port, 8025);
  EXPECT_EQ(dev.domain_index, announce.domain_index);

  ASSERT_EQ(table->domain_count(), 1u);
  const DomainInfo domain = table->domain(0);
  EXPECT_EQ(domain.name, "lists.example.org");
  EXPECT_EQ(domain.alias_domain, "x.example.org");
  EXPECT_EQ(domain.list_count, 2u);
  EXPECT_EQ(table->find_domain("X.EXAMPLE.ORG"), 0u);
  EXPECT_EQ(table->find_domain("lists.example.org"), 0u);
  EXPECT_FALSE(table->find_domain("example.org"));

  const TableStats& stats = table->stats();
  EXPECT_EQ(stats.lists, 2u);
  EXPECT_EQ(stats.domains, 1u);
  EXPECT_EQ(stats.alias_domains, 1u);
  EXPECT_EQ(stats.owners, 1u);
  EXPECT_EQ(stats.members, 2u);
  EXPECT_EQ(stats.backend_lists, 1u);
  EXPECT_EQ(stats.backends, 1u);
  EXPECT_GT(stats.memory_bytes, 0u);
  EXPECT_GT(stats.parse_time.count(), 0);
  EXPECT_GT(stats.hash_build_time.count(), 0);
}

TEST(Loader, MembersIterateInOrder) {
  const TablePtr table = load_ok(
      R"({"lists": [{"members": ["a@x.example", "b@x.example", "c@x.example"],
                     "address": "l@d.example", "owners": ["o1@x.example", "o2@x.example"]}]})");
  std::string joined;
  for (const std::string_view member : table->list(0).members) joined += std::string(member) + ",";
  EXPECT_EQ(joined, "a@x.example,b@x.example,c@x.example,");
  std::string owners;
  for (const std::string_view owner : table->list(0).owners) owners += std::string(owner) + ",";
  EXPECT_EQ(owners, "o1@x.example,o2@x.example,");
}

TEST(Loader, EqualBackendsAreParsedOnce) {
  const TablePtr table = load_ok(R"({"lists": [
    {"address": "a@d.example", "backend": "lmtp:[127.0.0.1]:8024"},
    {"address": "b@d.example", "backend": "lmtp:[127.0.0.1]:8024"},
    {"address": "c@d.example", "backend": "smtp:[127.0.0.1]:25"}]})");
  EXPECT_EQ(table->stats().backends, 2u);
  EXPECT_EQ(table->stats().backend_lists, 3u);
  EXPECT_EQ(table->list(0).backend, table->list(1).backend);
  EXPECT_NE(table->list(0).backend, table->list(2).backend);
}

TEST(Loader, EscapedKeysAndValuesAreUnderstood) {
  const TablePtr table = load_ok(R"({"l\u0069sts": [{"\u0061ddress": "a\u0040d.example"}]})");
  ASSERT_EQ(table->size(), 1u);
  EXPECT_EQ(table->list(0).address, "a@d.example");
}

TEST(Loader, DomainWithoutListsIsKnown) {
  const TablePtr table = load_ok(R"({"domains": {"Quiet.Example": {}}, "lists": []})");
  EXPECT_EQ(table->domain(0).name, "quiet.example");
  EXPECT_EQ(table->resolve("x@quiet.example").verdict, Verdict::unknown_list);
}

TEST(Loader, ReadsAFile) {
  char path[] = "/tmp/listgate-table-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string json = R"({"lists": [{"address": "a@d.example"}]})";
  ASSERT_EQ(write(fd, json.data(), json.size()), static_cast<ssize_t>(json.size()));
  close(fd);
  const Result<TablePtr> table = load_table_file(path, {});
  ASSERT_TRUE(table.ok()) << table.error().message;
  EXPECT_EQ(table.value()->size(), 1u);

  // Errors name the file.
  std::ofstream(path) << "{\n  \"lists\": 5\n}";
  const Result<TablePtr> broken = load_table_file(path, {});
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().message.rfind(std::string(path) + ":2:12: ", 0), 0u)
      << broken.error().message;
  unlink(path);
}

TEST(Loader, MissingFile) {
  const Result<TablePtr> table = load_table_file("/nonexistent/lists.json", {});
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.error().message, "/nonexistent/lists.json: cannot open: No such file or directory");
}

TEST(Loader, PositionsAreOneBasedByteColumns) {
  // Hand-counted, to pin the convention the other tests compute.
  EXPECT_EQ(error_of("[]"), "t.json:1:1: the table must be a JSON object");
  EXPECT_EQ(error_of("{\n  \"lists\": 5\n}"), "t.json:2:12: \"lists\" must be an array of lists");
  EXPECT_EQ(error_of("\n\n   {\"lists\": [], \"x\": 1}"),
            "t.json:3:18: unknown key \"x\" in the table (expected \"domains\" or \"lists\")");
}

TEST(LoaderErrors, NotJson) {
  EXPECT_EQ(error_of(""), "t.json:1:1: the table is empty");
  EXPECT_EQ(error_of("  \n "), "t.json:1:1: the table is empty");
  // A bracket that closes the wrong thing, and one never closed.
  expect_error_at("{\n \"lists\": [\n  {\"address\": \"a@d.example\"\n ]\n}", "]\n}", "invalid JSON");
  expect_error_at("{\"lists\": [\n  {\"address\": \"a@d.example\"}", "[", "invalid JSON");
  expect_error_at("{\"lists\": []} trailing", "trailing", "unexpected text after the table");
  expect_error_at("{\"lists\": [], }", "}", "invalid JSON");
}

TEST(LoaderErrors, InvalidUtf8PointsAtTheByte) {
  const std::string json = "{\"lists\": [\n {\"address\": \"a\xff" "b@d.example\"}]}";
  expect_error_at(json, "\xff", "invalid JSON");
}

TEST(LoaderErrors, UnclosedStringPointsAtItsQuote) {
  const std::string json = "{\"lists\": [\n {\"address\": \"a@d.example}]}";
  expect_error_at(json, "\"a@d", "invalid JSON");
}

TEST(LoaderErrors, TopLevel) {
  expect_error_at("  [1, 2]", "[", "the table must be a JSON object");
  expect_error_at("{\"domains\": {}}", "{", "has no \"lists\"");
  expect_error_at("{\"lists\": [],\n \"list\": []}", "\"list\"", "unknown key \"list\"");
  expect_error_at("{\"lists\": [],\n \"lists\": []}", "\"lists\": []}", "duplicate key \"lists\"");
  expect_error_at("{\"lists\": {}}", "{}", "\"lists\" must be an array");
  expect_error_at("{\"lists\": [], \"domains\": []}", "[]}", "\"domains\" must be an object");
}

TEST(LoaderErrors, ListEntries) {
  expect_error_at("{\"lists\": [\n  7]}", "7", "each entry of \"lists\" must be an object");
  expect_error_at("{\"lists\": [\n  {\"members\": []}]}", "{\"members", "list has no \"address\"");
  expect_error_at("{\"lists\": [{\"address\": 5}]}", "5", "\"address\" must be a string");
  expect_error_at("{\"lists\": [{\"address\": \"a@d.example\", \"memebers\": []}]}", "\"memebers\"",
                  "unknown key \"memebers\" in a list");
  expect_error_at("{\"lists\": [{\"address\": \"a@d.example\",\n \"address\": \"b@d.example\"}]}",
                  "\"address\": \"b", "duplicate key \"address\"");
  expect_error_at("{\"lists\": [{\"address\": \"a@d.example\", \"verp\": \"yes\"}]}", "\"yes\"",
                  "\"verp\" must be true or false");
  expect_error_at("{\"lists\": [{\"address\": \"a@d.example\", \"owners\": \"o@x.example\"}]}",
                  "\"o@x", "\"owners\" must be an array");
  expect_error_at("{\"lists\": [{\"address\": \"a@d.example\", \"members\": [\"m@x.example\", 3]}]}",
                  "3]", "each member must be a string");
  expect_error_at(
      "{\"lists\": [{\"address\": \"a@d.example\",\n \"members\": [\"m@x.example\", \"not an address\"]}]}",
      "\"not an", "invalid member address \"not an address\"");
  expect_error_at("{\"lists\": [{\"address\": \"a@d.example\", \"owners\": [\"boss\"]}]}", "\"boss\"",
                  "invalid owner address \"boss\"");
  expect_error_at("{\"lists\": [{\"address\": \"a@d.example\", \"backend\": 8025}]}", "8025",
                  "\"backend\" must be a string");
}

TEST(LoaderErrors, ListAddresses) {
  for (const char* bad : {"nobody", "a@b@d.example", "@d.example", "a@"}) {
    SCOPED_TRACE(bad);
    const std::string json = std::string("{\"lists\": [\n {\"address\": \"") + bad + "\"}]}";
    expect_error_at(json, std::string("\"") + bad, "");
  }
  expect_error_at("{\"lists\": [{\"address\": \"a..b@d.example\"}]}", "\"a..b", "invalid local part");
  expect_error_at("{\"lists\": [{\"address\": \"a b@d.example\"}]}", "\"a b", "invalid local part");
  expect_error_at("{\"lists\": [{\"address\": \"a@d..example\"}]}", "\"a@d", "invalid domain");
  expect_error_at("{\"lists\": [{\"address\": \"a@[192.0.2.1]\"}]}", "\"a@", "invalid domain");
  expect_error_at("{\"lists\": [{\"address\": \"a+b@d.example\"}]}", "\"a+b",
                  "contains the VERP delimiter '+'");
  const std::string overlong = std::string(kMaxAddressLength, 'a') + "@d.example";
  expect_error_at("{\"lists\": [{\"address\": \"" + overlong + "\"}]}", "\"aaa", "longer than 320");
}

TEST(LoaderErrors, VerpDelimiterOption) {
  TableOptions options;
  options.verp_delimiter = 'x';
  EXPECT_EQ(error_of("{\"lists\": []}", options), "t.json: invalid verp_delimiter 'x'");
  options.verp_delimiter = '=';
  EXPECT_NE(error_of("{\"lists\": [{\"address\": \"a=b@d.example\"}]}", options)
                .find("contains the VERP delimiter '='"),
            std::string::npos);
}

TEST(LoaderErrors, Backends) {
  for (const char* bad : {"lmtp:127.0.0.1:25", "lmtp:[h]", "lmtp:[h]:99999", "lmtp:unix:rel",
                          "smtp:unix:/x", "pipe:foo"}) {
    SCOPED_TRACE(bad);
    const std::string json =
        std::string("{\"lists\": [{\"address\": \"a@d.example\",\n \"backend\": \"") + bad + "\"}]}";
    expect_error_at(json, std::string("\"") + bad, "backend");
  }
}

TEST(LoaderErrors, DuplicateListsIgnoringCase) {
  const std::string json =
      "{\"lists\": [\n  {\"address\": \"dev@d.example\"},\n  {\"address\": \"other@d.example\"},\n"
      "  {\"address\": \"DEV@D.Example\"}]}";
  const std::string message = error_of(json);
  EXPECT_EQ(message, "t.json:" + where(json, "\"DEV") + ": list \"dev@d.example\" is defined twice (first at " +
                         where(json, "\"dev") + ")");
}

TEST(LoaderErrors, Domains) {
  expect_error_at("{\"domains\": {\"d.example\": 1}, \"lists\": []}", "1}", "domain \"d.example\" must be an object");
  expect_error_at("{\"domains\": {\"d.example\": {\"alias\": \"x\"}}, \"lists\": []}", "\"alias\"",
                  "unknown key \"alias\" in a domain");
  expect_error_at("{\"domains\": {\"d.example\": {\"alias_domain\": 1}}, \"lists\": []}", "1}",
                  "\"alias_domain\" must be a string");
  expect_error_at("{\"domains\": {\"d.example\": {\"alias_domain\": \"\"}}, \"lists\": []}", "\"\"",
                  "\"alias_domain\" is empty");
  expect_error_at("{\"domains\": {\"d.example\": {\"alias_domain\": \"x..y\"}}, \"lists\": []}",
                  "\"x..y", "invalid alias_domain");
  expect_error_at("{\"domains\": {\"bad domain\": {}}, \"lists\": []}", "\"bad", "invalid domain name");
  expect_error_at("{\"domains\": {\"d.example\": {},\n \"D.EXAMPLE\": {}}, \"lists\": []}", "\"D.EX",
                  "declared twice");
  expect_error_at(
      "{\"domains\": {\"d.example\": {\"alias_domain\": \"a.example\",\n \"alias_domain\": \"b.example\"}}, \"lists\": []}",
      "\"alias_domain\": \"b", "duplicate key \"alias_domain\"");
}

TEST(LoaderErrors, AliasDomainCollisions) {
  // The alias is itself declared as a domain.
  expect_error_at(
      "{\"domains\": {\"d.example\": {\"alias_domain\": \"e.example\"},\n \"e.example\": {}}, \"lists\": []}",
      "\"e.example\"}", "alias_domain \"e.example\" is also a list domain");
  // The alias is its own domain.
  expect_error_at("{\"domains\": {\"d.example\": {\"alias_domain\": \"D.example\"}}, \"lists\": []}",
                  "\"D.example", "is also a list domain");
  // The alias is the domain of a list (whichever comes first in the file).
  const std::string list_first =
      "{\"lists\": [{\"address\": \"l@e.example\"}],\n \"domains\": {\"d.example\": {\"alias_domain\": \"e.example\"}}}";
  expect_error_at(list_first, "\"e.example\"}",
                  "is also a list domain (the domain of a list at " + where(list_first, "\"l@e") + ")");
  // Two domains with one alias.
  expect_error_at(
      "{\"domains\": {\"d.example\": {\"alias_domain\": \"a.example\"},\n"
      " \"f.example\": {\"alias_domain\": \"A.example\"}}, \"lists\": []}",
      "\"A.example", "is already an alias");
}

TEST(Loader, LargeTableLoadsAndResolves) {
  constexpr int kLists = 20'000;
  std::string json = "{\"domains\": {\"d0.example\": {\"alias_domain\": \"alias.example\"}},\n\"lists\": [\n";
  for (int i = 0; i < kLists; ++i) {
    if (i != 0) json += ",\n";
    json += "{\"address\": \"List" + std::to_string(i) + "@D" + std::to_string(i % 7) +
            ".example\", \"members\": [\"m" + std::to_string(i) + "@x.example\"]}";
  }
  json += "]}";
  const TablePtr table = load_ok(json);
  ASSERT_EQ(table->size(), static_cast<size_t>(kLists));
  EXPECT_EQ(table->stats().domains, 7u);
  for (int i = 0; i < kLists; ++i) {
    const std::string address = "list" + std::to_string(i) + "@d" + std::to_string(i % 7) + ".example";
    const Resolution r = table->resolve(address);
    ASSERT_EQ(r.verdict, Verdict::accept) << address;
    ASSERT_EQ(r.list, static_cast<uint32_t>(i));
    ASSERT_EQ(table->list(r.list).address, address);
    const std::string member = std::string("m").append(std::to_string(i)).append("@x.example");
    ASSERT_EQ(table->list(r.list).members[0], member);
  }
  // The batch path, over many full groups, agrees.
  std::vector<std::string> owned;
  for (int i = 0; i < kLists; ++i) {
    owned.push_back("LIST" + std::to_string(i) + (i % 3 == 0 ? "-owner" : "") + "@d" +
                    std::to_string(i % 7) + ".Example");
  }
  const std::vector<std::string_view> addresses(owned.begin(), owned.end());
  std::vector<Resolution> results(addresses.size());
  table->resolve_batch(addresses, results);
  for (int i = 0; i < kLists; ++i) {
    ASSERT_EQ(results[i].verdict, Verdict::accept) << owned[i];
    ASSERT_EQ(results[i].list, static_cast<uint32_t>(i));
    ASSERT_EQ(results[i].role, i % 3 == 0 ? Role::owner : Role::posting);
  }
  EXPECT_EQ(table->resolve("LIST7@ALIAS.EXAMPLE").list, 7u);
  EXPECT_EQ(table->resolve("list7-owner@alias.example").role, Role::owner);
  EXPECT_EQ(table->resolve("list1@alias.example").verdict, Verdict::unknown_list);
}

}  // namespace
}  // namespace listgate::table
