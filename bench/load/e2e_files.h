// e2e_files.h - the list table and config file e2e writes for listgate.
//
// Pure text building (the table file is read through listgate's own
// loader, so what e2e writes is what listgate would accept).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "listgate/app/config.h"
#include "listgate/base/result.h"

namespace listgate::loadbench {

// The lists of the table at `source` (domains, owners, members, VERP), as
// JSON. With `backend` (e.g. "smtp:[127.0.0.1]:2525"), every list that has
// a backend gets this one instead, so its mail reaches the sink.
Result<std::string> rewritten_table_json(const std::string& source, const std::optional<std::string>& backend);

// `lists` lists `list-00001@lists.listgate-bench.example` ... with
// `members` members each (`mNNNNNNN@dNNN.example.com`, distinct over the
// whole table, spread over 1000 domains) and one owner.
std::string generated_table_json(uint32_t lists, uint32_t members);

struct GatewayConfig {
  std::string table;                         // path of the table file
  std::string dir;                           // spool and bounce log go here
  app::IoBackend io = app::IoBackend::automatic;
  std::optional<app::Address> smtp;          // the sink; none with --discard
  uint32_t max_connections = 10000;
  uint32_t max_transaction_recipients = 1000;
  uint64_t max_message_size = 52428800;
};

// A mailman.cfg-style config: LMTP and metrics on 127.0.0.1 port 0.
std::string gateway_config_text(const GatewayConfig& c);

}  // namespace listgate::loadbench
