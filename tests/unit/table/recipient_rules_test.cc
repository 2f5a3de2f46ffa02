// recipient_rules_test.cc - DESIGN.md section 2, case by case, through a
// ListTable loaded from JSON (the way the server gets one).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "listgate/table/loader.h"

namespace listgate::table {
namespace {

// Lists, by index:
//   0 announce@lists.example.org   plain list, VERP
//   1 dev@lists.example.org        backend list
//   2 foo@lists.example.org        plain
//   3 foo-request@lists.example.org  a list whose name ends in a role suffix
//   4 news-archive@lists.example.org a dash that is not a role
//   5 bar-owner@other.example.com  its head "bar" is no list
//   6 baz@lists.example.org        plain
//   7 baz-owner@other.example.com  same name as a role of baz, other domain
//   8 mm-join@lists.example.org    a -join list (shadows only join, not subscribe)
//   9 mm@lists.example.org         backend list
constexpr const char* kTable = R"({
  "domains": {
    "lists.example.org": { "alias_domain": "x.example.org" },
    "empty.example.org": {}
  },
  "lists": [
    { "address": "announce@lists.example.org", "owners": ["boss@example.org"],
      "members": ["alice@example.com"], "verp": true },
    { "address": "dev@lists.example.org", "backend": "lmtp:[127.0.0.1]:8025" },
    { "address": "foo@lists.example.org" },
    { "address": "foo-request@lists.example.org" },
    { "address": "news-archive@lists.example.org" },
    { "address": "bar-owner@other.example.com" },
    { "address": "baz@lists.example.org" },
    { "address": "baz-owner@other.example.com" },
    { "address": "mm-join@lists.example.org" },
    { "address": "mm@lists.example.org", "backend": "lmtp:unix:/run/mailman/lmtp" }
  ]
})";

constexpr uint32_t kAnnounce = 0;
constexpr uint32_t kDev = 1;
constexpr uint32_t kFoo = 2;
constexpr uint32_t kFooRequest = 3;
constexpr uint32_t kNewsArchive = 4;
constexpr uint32_t kBarOwner = 5;
constexpr uint32_t kBaz = 6;
constexpr uint32_t kBazOwner = 7;
constexpr uint32_t kMmJoin = 8;
constexpr uint32_t kMm = 9;

TablePtr load(const char* json, TableOptions options = {}) {
  Result<TablePtr> table = parse_table(json, "rules.json", options);
  EXPECT_TRUE(table.ok()) << (table.ok() ? "" : table.error().message);
  return table.ok() ? table.value() : std::make_shared<ListTable>();
}

class RecipientRules : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { table_ = load(kTable); }
  static void TearDownTestSuite() { table_.reset(); }

  static void expect_accept(std::string_view address, Role role, uint32_t list, bool relay) {
    SCOPED_TRACE(std::string(address));
    const Resolution r = table_->resolve(address);
    EXPECT_EQ(r.verdict, Verdict::accept);
    EXPECT_EQ(r.role, role);
    EXPECT_EQ(r.list, list);
    EXPECT_EQ(r.relay, relay);
  }
  static void expect_verdict(std::string_view address, Verdict verdict) {
    SCOPED_TRACE(std::string(address));
    EXPECT_EQ(table_->resolve(address).verdict, verdict);
  }

  static TablePtr table_;
};

TablePtr RecipientRules::table_;

TEST_F(RecipientRules, PostingAddress) {
  expect_accept("announce@lists.example.org", Role::posting, kAnnounce, false);
  expect_accept("foo@lists.example.org", Role::posting, kFoo, false);
}

TEST_F(RecipientRules, CaseDoesNotMatter) {
  expect_accept("ANNOUNCE@LISTS.EXAMPLE.ORG", Role::posting, kAnnounce, false);
  expect_accept("Announce@Lists.Example.Org", Role::posting, kAnnounce, false);
  expect_accept("announce-OWNER@lists.example.org", Role::owner, kAnnounce, false);
  expect_accept("AnNoUnCe-BoUnCeS@LiStS.eXaMpLe.OrG", Role::bounces, kAnnounce, false);
}

TEST_F(RecipientRules, AliasDomainIsReplacedByItsDomain) {
  expect_accept("announce@x.example.org", Role::posting, kAnnounce, false);
  expect_accept("Announce@X.Example.ORG", Role::posting, kAnnounce, false);
  expect_accept("announce-owner@x.example.org", Role::owner, kAnnounce, false);
  expect_accept("dev-request@x.example.org", Role::request, kDev, true);
  expect_accept("foo-request@x.example.org", Role::posting, kFooRequest, false);
}

TEST_F(RecipientRules, OwnerAndBouncesExistForEveryList) {
  expect_accept("announce-owner@lists.example.org", Role::owner, kAnnounce, false);
  expect_accept("announce-bounces@lists.example.org", Role::bounces, kAnnounce, false);
}

TEST_F(RecipientRules, ManagerRolesNeedABackend) {
  for (const char* address :
       {"announce-request@lists.example.org", "announce-join@lists.example.org",
        "announce-leave@lists.example.org", "announce-confirm@lists.example.org",
        "announce-subscribe@lists.example.org", "announce-unsubscribe@lists.example.org"}) {
    SCOPED_TRACE(address);
    const Resolution r = table_->resolve(address);
    EXPECT_EQ(r.verdict, Verdict::needs_backend);
    EXPECT_EQ(r.list, kAnnounce);
    EXPECT_FALSE(r.relay);
  }
  EXPECT_EQ(table_->resolve("announce-subscribe@lists.example.org").role, Role::join);
  EXPECT_EQ(table_->resolve("announce-unsubscribe@lists.example.org").role, Role::leave);
  EXPECT_EQ(table_->resolve("announce-confirm+abc@lists.example.org").role, Role::confirm);
}

TEST_F(RecipientRules, BackendListRelaysEveryAddress) {
  expect_accept("dev@lists.example.org", Role::posting, kDev, true);
  expect_accept("dev-owner@lists.example.org", Role::owner, kDev, true);
  expect_accept("dev-bounces@lists.example.org", Role::bounces, kDev, true);
  expect_accept("dev-request@lists.example.org", Role::request, kDev, true);
  expect_accept("dev-join@lists.example.org", Role::join, kDev, true);
  expect_accept("dev-subscribe@lists.example.org", Role::join, kDev, true);
  expect_accept("dev-leave@lists.example.org", Role::leave, kDev, true);
  expect_accept("dev-unsubscribe@lists.example.org", Role::leave, kDev, true);
  expect_accept("dev-confirm@lists.example.org", Role::confirm, kDev, true);
  expect_accept("mm@lists.example.org", Role::posting, kMm, true);
}

TEST_F(RecipientRules, VerpTagOnEveryRole) {
  expect_accept("announce+tag@lists.example.org", Role::posting, kAnnounce, false);
  expect_accept("announce-owner+tag@lists.example.org", Role::owner, kAnnounce, false);
  expect_accept("announce-bounces+alice=example.com@lists.example.org", Role::bounces, kAnnounce,
                false);
  expect_verdict("announce-request+x@lists.example.org", Verdict::needs_backend);
  expect_accept("dev+tag@lists.example.org", Role::posting, kDev, true);
  expect_accept("dev-owner+tag@lists.example.org", Role::owner, kDev, true);
  expect_accept("dev-bounces+bob=example.net@lists.example.org", Role::bounces, kDev, true);
  expect_accept("dev-request+tag@lists.example.org", Role::request, kDev, true);
  expect_accept("dev-join+tag@lists.example.org", Role::join, kDev, true);
  expect_accept("dev-subscribe+tag@lists.example.org", Role::join, kDev, true);
  expect_accept("dev-leave+tag@lists.example.org", Role::leave, kDev, true);
  expect_accept("dev-unsubscribe+tag@lists.example.org", Role::leave, kDev, true);
  expect_accept("dev-confirm+0123abcdef@lists.example.org", Role::confirm, kDev, true);
  // The cut is at the first delimiter; what follows may contain anything.
  expect_accept("dev-bounces+a+b-owner@lists.example.org", Role::bounces, kDev, true);
  // An empty tag is still a tag.
  expect_accept("announce-owner+@lists.example.org", Role::owner, kAnnounce, false);
}

TEST_F(RecipientRules, ListWhoseNameEndsInASuffixWins) {
  expect_accept("foo-request@lists.example.org", Role::posting, kFooRequest, false);
  expect_accept("FOO-REQUEST@LISTS.EXAMPLE.ORG", Role::posting, kFooRequest, false);
  expect_accept("foo-request+tag@lists.example.org", Role::posting, kFooRequest, false);
  // Only that one suffix is taken: foo's other roles stay foo's.
  expect_accept("foo-owner@lists.example.org", Role::owner, kFoo, false);
  expect_verdict("foo-join@lists.example.org", Verdict::needs_backend);
  // And foo-request has roles of its own.
  expect_accept("foo-request-owner@lists.example.org", Role::owner, kFooRequest, false);
  expect_accept("foo-request-bounces+x@lists.example.org", Role::bounces, kFooRequest, false);
  // mm-join is a list; mm-subscribe (same role, other word) is still mm's.
  expect_accept("mm-join@lists.example.org", Role::posting, kMmJoin, false);
  expect_accept("mm-subscribe@lists.example.org", Role::join, kMm, true);
}

TEST_F(RecipientRules, SuffixListInAnotherDomainDoesNotShadow) {
  expect_accept("baz-owner@lists.example.org", Role::owner, kBaz, false);
  expect_accept("baz-owner@other.example.com", Role::posting, kBazOwner, false);
}

TEST_F(RecipientRules, HeadThatIsNoListFallsBackToTheWholeName) {
  expect_accept("bar-owner@other.example.com", Role::posting, kBarOwner, false);
  expect_verdict("bar@other.example.com", Verdict::unknown_list);
  expect_verdict("bar-bounces@other.example.com", Verdict::unknown_list);
}

TEST_F(RecipientRules, UnknownSubAddressIsUnknownList) {
  expect_verdict("announce-foo@lists.example.org", Verdict::unknown_list);
  expect_verdict("announce-owners@lists.example.org", Verdict::unknown_list);
  expect_verdict("announce-@lists.example.org", Verdict::unknown_list);
  expect_verdict("announce-bounces-bounces@lists.example.org", Verdict::unknown_list);
  expect_accept("news-archive@lists.example.org", Role::posting, kNewsArchive, false);
  expect_accept("news-archive-owner@lists.example.org", Role::owner, kNewsArchive, false);
  expect_verdict("news-owner@lists.example.org", Verdict::unknown_list);
}

TEST_F(RecipientRules, EmptyHeadIsNotARole) {
  expect_verdict("-bounces@lists.example.org", Verdict::unknown_list);
  expect_verdict("-owner@lists.example.org", Verdict::unknown_list);
  const TablePtr table = load(R"({"lists": [{"address": "-bounces@d.example"}]})");
  const Resolution r = table->resolve("-bounces@d.example");
  EXPECT_EQ(r.verdict, Verdict::accept);
  EXPECT_EQ(r.role, Role::posting);
  EXPECT_EQ(r.list, 0u);
}

TEST_F(RecipientRules, UnknownListInKnownDomain) {
  expect_verdict("nosuch@lists.example.org", Verdict::unknown_list);
  expect_verdict("nosuch-owner@lists.example.org", Verdict::unknown_list);
  expect_verdict("nosuch@x.example.org", Verdict::unknown_list);
  expect_verdict("anyone@empty.example.org", Verdict::unknown_list);
  expect_verdict("+tag@lists.example.org", Verdict::unknown_list);
  // Prefixes and extensions of list names are other names.
  expect_verdict("announc@lists.example.org", Verdict::unknown_list);
  expect_verdict("announcer@lists.example.org", Verdict::unknown_list);
}

TEST_F(RecipientRules, UnknownDomain) {
  expect_verdict("announce@example.org", Verdict::unknown_domain);
  expect_verdict("announce@sub.lists.example.org", Verdict::unknown_domain);
  expect_verdict("announce@lists.example.org.", Verdict::unknown_domain);
  expect_verdict("announce@lists.example.orgx", Verdict::unknown_domain);
  expect_verdict("announce@example.com", Verdict::unknown_domain);
}

TEST_F(RecipientRules, BadAddresses) {
  for (const std::string& address :
       {std::string(""), std::string("announce"), std::string("@lists.example.org"),
        std::string("announce@"), std::string("a@b@lists.example.org"),
        std::string("announce @lists.example.org"), std::string("announce\t@lists.example.org"),
        std::string("announce@lists.example.org\r"), std::string("ann\x7f" "ounce@lists.example.org"),
        std::string("ann\0ounce@lists.example.org", 26)}) {
    expect_verdict(address, Verdict::bad_address);
  }
}

TEST_F(RecipientRules, OverlongAddressIsRefusedUnread) {
  // 320 octets is the limit; one more is bad whatever it says.
  const std::string domain = "@lists.example.org";
  const std::string at_limit = std::string(kMaxAddressLength - domain.size(), 'a') + domain;
  ASSERT_EQ(at_limit.size(), kMaxAddressLength);
  expect_verdict(at_limit, Verdict::unknown_list);
  expect_verdict("b" + at_limit, Verdict::bad_address);
}

TEST_F(RecipientRules, UTF8AddressesAreComparedBytewise) {
  const TablePtr table = load(R"({"lists": [{"address": "caf\u00e9@d.example"}]})");
  EXPECT_EQ(table->resolve("caf\xc3\xa9@d.example").verdict, Verdict::accept);
  EXPECT_EQ(table->resolve("CAF\xc3\xa9@D.EXAMPLE").verdict, Verdict::accept);
  EXPECT_EQ(table->resolve("cafe@d.example").verdict, Verdict::unknown_list);
}

TEST_F(RecipientRules, IsADirectory) {
  const Directory& directory = *table_;
  const Resolution r = directory.resolve("announce-owner@lists.example.org");
  EXPECT_EQ(r.verdict, Verdict::accept);
  EXPECT_EQ(r.role, Role::owner);
}

TEST_F(RecipientRules, VerpTagIsReturnedAsWritten) {
  EXPECT_EQ(table_->verp_tag("announce-bounces+alice=example.org@lists.example.org"),
            "alice=example.org");
  EXPECT_EQ(table_->verp_tag("dev-confirm+ToKeN123@lists.example.org"), "ToKeN123");
  EXPECT_EQ(table_->verp_tag("dev-bounces+a+b@lists.example.org"), "a+b");
  EXPECT_EQ(table_->verp_tag("announce@lists.example.org"), "");
  EXPECT_EQ(table_->verp_tag("announce+@lists.example.org"), "");
  EXPECT_EQ(table_->verp_tag("no-at-sign+tag"), "");
}

bool same(const Resolution& a, const Resolution& b) {
  return a.verdict == b.verdict && a.role == b.role && a.list == b.list && a.relay == b.relay;
}

TEST_F(RecipientRules, BatchAnswersLikeOneByOne) {
  // Every kind of answer, in every position of the batch pipeline's groups
  // (batches of 0 to 60 addresses, so partial and full groups of each
  // stage), must come out as resolve() gives it.
  const std::vector<std::string> kinds = {
      "announce@lists.example.org", "ANNOUNCE-OWNER@X.EXAMPLE.ORG", "dev-request+x@lists.example.org",
      "foo-request@lists.example.org", "foo-join@lists.example.org", "nosuch@lists.example.org",
      "announce@example.com", "not an address", "mm-subscribe@lists.example.org",
      "baz-owner@other.example.com", "-bounces@lists.example.org", "announce-bounces+a=b@x.example.org"};
  for (size_t count = 0; count <= 60; ++count) {
    std::vector<std::string> owned;
    for (size_t i = 0; i < count; ++i) owned.push_back(kinds[(i * 7 + count) % kinds.size()]);
    const std::vector<std::string_view> addresses(owned.begin(), owned.end());
    std::vector<Resolution> results(count);
    table_->resolve_batch(addresses, results);
    for (size_t i = 0; i < count; ++i) {
      ASSERT_TRUE(same(results[i], table_->resolve(addresses[i]))) << count << ": " << addresses[i];
    }
  }
}

TEST(RecipientRulesOptions, OtherVerpDelimiter) {
  TableOptions options;
  options.verp_delimiter = '=';
  const TablePtr table = load(R"({"lists": [{"address": "list@d.example"},
                                            {"address": "odd+name@d.example"}]})",
                              options);
  EXPECT_EQ(table->resolve("list-bounces=alice@d.example").role, Role::bounces);
  EXPECT_EQ(table->resolve("list=x@d.example").verdict, Verdict::accept);
  EXPECT_EQ(table->resolve("list+x@d.example").verdict, Verdict::unknown_list);
  EXPECT_EQ(table->resolve("odd+name@d.example").list, 1u);
  EXPECT_EQ(table->verp_tag("list-bounces=alice+x@d.example"), "alice+x");
}

TEST(RecipientRulesOptions, EmptyTableKnowsNoDomain) {
  const TablePtr table = load(R"({"lists": []})");
  EXPECT_EQ(table->resolve("a@b.example").verdict, Verdict::unknown_domain);
  const ListTable empty;
  EXPECT_EQ(empty.resolve("a@b.example").verdict, Verdict::unknown_domain);
  EXPECT_EQ(empty.resolve("nonsense").verdict, Verdict::bad_address);
}

}  // namespace
}  // namespace listgate::table
