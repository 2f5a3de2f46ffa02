// command_flags.cc - splitting flag words, taking values, wording errors;
// the start of the commands whose flags are all paths.
#include "command_flags.h"

#include <cstdio>
#include <utility>
#include <vector>

#include "text.h"

namespace listgate::app {

FlagWord split_flag_word(std::string_view word) {
  if (size_t eq = word.find('='); word.starts_with("--") && eq != std::string_view::npos) {
    return {word.substr(0, eq), word.substr(eq + 1)};
  }
  return {word, std::nullopt};
}

Error not_a_flag_error(std::string_view command, std::string_view word, const FlagWord& flag) {
  if (word.empty() || word.front() != '-') {
    return make_error(text::concat({"unexpected argument '", word, "' (", command, " takes only flags)"}));
  }
  return make_error(text::concat({"unknown flag '", flag.name, "'"}));
}

Result<std::string_view> take_flag_value(const FlagWord& flag, int& next, int argc, const char* const* argv) {
  if (flag.inline_value) return *flag.inline_value;
  if (next + 1 < argc) return std::string_view(argv[++next]);
  return make_error(text::concat({flag.name, ": needs a value"}));
}

namespace {

// Parses words made only of `flags` and -h/--help (which sets `help`).
Result<void> parse_path_flags(std::string_view command, std::span<const PathFlag> flags, bool& help, int argc,
                              const char* const* argv) {
  for (int i = 0; i < argc; ++i) {
    const std::string_view word = argv[i];
    const FlagWord flag = split_flag_word(word);
    // `--help=x` is no help flag: it falls through to "unknown flag '--help'".
    if ((flag.name == "-h" || flag.name == "--help") && !flag.inline_value) {
      help = true;
      continue;
    }
    std::optional<std::string>* target = nullptr;
    for (const PathFlag& path_flag : flags) {
      if (path_flag.name == flag.name) target = path_flag.target;
    }
    if (target == nullptr) return not_a_flag_error(command, word, flag);
    auto value = take_flag_value(flag, i, argc, argv);
    if (!value) return value.error();
    if (value->empty()) return make_error(text::concat({flag.name, ": needs a path"}));
    *target = std::string(*value);
  }
  return {};
}

}  // namespace

std::optional<int> start_path_flag_command(std::string_view command, std::string_view usage,
                                           std::span<const PathFlag> flags, int argc, const char* const* argv,
                                           Config& config) {
  std::optional<std::string> config_file;
  std::vector<PathFlag> all_flags = {{"-c", &config_file}, {"--config", &config_file}};
  all_flags.insert(all_flags.end(), flags.begin(), flags.end());
  bool help = false;
  if (auto parsed = parse_path_flags(command, all_flags, help, argc, argv); !parsed) {
    std::fprintf(stderr, "listgate %.*s: %s\n\n%.*s", static_cast<int>(command.size()), command.data(),
                 parsed.error().message.c_str(), static_cast<int>(usage.size()), usage.data());
    return 2;
  }
  if (help) {
    std::fwrite(usage.data(), 1, usage.size(), stdout);
    return 0;
  }
  if (config_file) {
    auto loaded = load_config_file(*config_file, nullptr);
    if (!loaded) {
      std::fprintf(stderr, "listgate %.*s: %s\n", static_cast<int>(command.size()), command.data(),
                   loaded.error().message.c_str());
      return 1;
    }
    config = std::move(*loaded);
  }
  return std::nullopt;
}

}  // namespace listgate::app
