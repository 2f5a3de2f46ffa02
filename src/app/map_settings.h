// map_settings.h - the configuration's view of the MTA files (src/mta):
// `listgate aliases` and the server's regeneration on reload share it.
#pragma once

#include <string>

#include "listgate/app/config.h"
#include "listgate/mta/map_writer.h"

namespace listgate::app {

// The directory of the table file: where the maps go without --dir.
std::string table_directory(const std::string& table_path);

// Which files (Postfix and Exim, or Exim only: [mta] incoming), map type,
// VERP delimiter and postmap_command from `config`; the LMTP transport
// (`lmtp:[HOST]:PORT`, or `lmtp:unix:PATH` for a Unix socket) from `lmtp`.
// `lmtp` is where listgate listens: the config's address, or the one really
// bound when the config says port 0.
mta::MapSettings map_settings(const Config& config, std::string dir, const Address& lmtp);

}  // namespace listgate::app
