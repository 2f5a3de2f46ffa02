// map_settings.cc - Config to mta::MapSettings.
#include "map_settings.h"

#include "listgate/mta/postmap.h"

namespace listgate::app {

std::string table_directory(const std::string& table_path) {
  const size_t slash = table_path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return table_path.substr(0, slash);
}

namespace {

std::string lmtp_transport_for(const Address& lmtp) {
  return lmtp.is_unix() ? mta::lmtp_unix_transport(lmtp.path) : mta::lmtp_transport(lmtp.host, lmtp.port);
}

}  // namespace

mta::MapSettings map_settings(const Config& config, std::string dir, const Address& lmtp) {
  mta::MapSettings settings;
  settings.dir = std::move(dir);
  settings.postfix = config.mta.incoming == IncomingMta::postfix;
  settings.text.type =
      config.listgate.postfix_map_type == PostfixMapType::regexp ? mta::MapType::regexp : mta::MapType::hash;
  settings.text.transport = lmtp_transport_for(lmtp);
  settings.text.verp_delimiter = config.mta.verp_delimiter.empty() ? '+' : config.mta.verp_delimiter[0];
  settings.postmap_command = mta::split_command(config.listgate.postmap_command);
  return settings;
}

}  // namespace listgate::app
