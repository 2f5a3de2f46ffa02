// verp.h - checking Mailman's verp_format when the config is read (private;
// expand_verp_format, the public half, is declared in config.h).
#pragma once

#include <string_view>

#include "listgate/app/config.h"
#include "listgate/base/result.h"

namespace listgate::app {

// OK when every `$` starts $bounces, $local, $domain (or ${...}) or is `$$`,
// all three appear, and there is no '@'. The error says what is wrong.
Result<void> validate_verp_format(std::string_view format);

}  // namespace listgate::app
