// e2e_files_test.cc - the table and config e2e writes are what listgate reads.
#include "e2e_files.h"

#include <gtest/gtest.h>

#include "listgate/table/loader.h"

#ifndef LISTGATE_SOURCE_ROOT
#error LISTGATE_SOURCE_ROOT must name the source tree
#endif

namespace listgate::loadbench {
namespace {

TEST(E2eFiles, GeneratedTableLoads) {
  const std::string json = generated_table_json(3, 4);
  auto t = table::parse_table(json, "generated", table::TableOptions{});
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ((*t)->size(), 3u);
  EXPECT_EQ((*t)->stats().members, 12u);
  EXPECT_EQ((*t)->list(0).address, "list-00001@lists.listgate-bench.example");
  EXPECT_EQ((*t)->list(2).members[3], "m0000011@d011.example.com");
}

TEST(E2eFiles, ExampleTableRewrittenForTheSink) {
  const std::string example = LISTGATE_SOURCE_ROOT "/tools/example/lists.json";
  auto json = rewritten_table_json(example, std::string("smtp:[127.0.0.1]:2525"));
  ASSERT_TRUE(json.ok()) << json.error().message;
  auto rewritten = table::parse_table(*json, "rewritten", table::TableOptions{});
  ASSERT_TRUE(rewritten.ok()) << rewritten.error().message << "\n" << *json;
  auto original = table::load_table_file(example, table::TableOptions{});
  ASSERT_TRUE(original.ok());
  const auto& a = **original;
  const auto& b = **rewritten;
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.stats().members, b.stats().members);
  EXPECT_EQ(a.stats().owners, b.stats().owners);
  EXPECT_EQ(a.stats().alias_domains, b.stats().alias_domains);
  size_t backends = 0;
  for (uint32_t i = 0; i < b.size(); ++i) {
    EXPECT_EQ(a.list(i).address, b.list(i).address);
    EXPECT_EQ(a.list(i).verp, b.list(i).verp);
    if (b.list(i).backend == nullptr) continue;
    ++backends;
    EXPECT_EQ(table::format_backend_spec(*b.list(i).backend), "smtp:[127.0.0.1]:2525");
  }
  EXPECT_EQ(backends, a.stats().backend_lists);
  EXPECT_GT(backends, 0u);

  auto kept = rewritten_table_json(example, std::nullopt);
  ASSERT_TRUE(kept.ok());
  EXPECT_NE(kept->find("lmtp:[127.0.0.1]:8025"), std::string::npos);
  EXPECT_FALSE(rewritten_table_json("/nonexistent/lists.json", std::nullopt).ok());
}

TEST(E2eFiles, ConfigParses) {
  GatewayConfig c;
  c.table = "/tmp/x/lists.json";
  c.dir = "/tmp/x";
  c.io = app::IoBackend::epoll;
  c.smtp = app::Address{app::Address::Kind::tcp, "127.0.0.1", 2525, {}};
  c.max_connections = 320;
  c.max_transaction_recipients = 5000;
  c.max_message_size = 67109888;
  auto config = app::parse_config(gateway_config_text(c), "listgate.cfg", nullptr);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->mta.lmtp.port, 0);
  EXPECT_EQ(config->mta.smtp.port, 2525);
  EXPECT_EQ(config->listgate.table, "/tmp/x/lists.json");
  EXPECT_EQ(config->listgate.spool_dir, "/tmp/x/spool");
  EXPECT_EQ(config->listgate.io, app::IoBackend::epoll);
  EXPECT_EQ(config->listgate.metrics->port, 0);
  EXPECT_EQ(config->listgate.max_connections, 320u);
  EXPECT_EQ(config->listgate.max_transaction_recipients, 5000u);
  EXPECT_EQ(config->listgate.max_message_size, 67109888u);

  c.smtp.reset();  // --discard: no sink
  EXPECT_TRUE(app::parse_config(gateway_config_text(c), "listgate.cfg", nullptr).ok());
}

}  // namespace
}  // namespace listgate::loadbench
