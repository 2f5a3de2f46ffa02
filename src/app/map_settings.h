// map_settings.h - the configuration's view of the MTA files (src/mta):
// `listgate aliases` and the server's regeneration on reload share it.
#pragma once

#include <string>

#include "listgate/app/config.h"
#include "listgate/mta/map_writer.h"

namespace listgate::app {

// The directory of the table file: where the maps go without --dir.
std::string table_directory(const std::string& table_path);

// Postfix's transport for listgate's LMTP address: `lmtp:[HOST]:PORT`, or
// `lmtp:unix:PATH` for a Unix socket.
std::string lmtp_transport_for(const Address& lmtp);

// Which files (Postfix and Exim, or Exim only: [mta] incoming), map type, LMTP transport (lmtp_host/lmtp_port, or `lmtp:unix:PATH` for a
// Unix socket), VERP delimiter and postmap_command from `config`.
mta::MapSettings map_settings(const Config& config, std::string dir);

}  // namespace listgate::app
