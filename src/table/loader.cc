// loader.cc - reading the list table JSON with simdjson On-Demand.
//
// On-Demand, not DOM: it walks the text once without building a tree (a
// million lists make a tree of tens of millions of nodes), and it hands out
// positions in the text, which every error message needs. simdjson is used
// through its error-code API only, compiled without exceptions.
//
// The reader is strict: every key is known, every value has its type, and
// a key may appear once per object. Each error points at the offending
// value (or key). What needs the whole table (duplicate lists, alias
// collisions) is checked by the TableBuilder at the end.
#ifndef SIMDJSON_EXCEPTIONS
#define SIMDJSON_EXCEPTIONS 0
#endif
#include <simdjson.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include "listgate/table/loader.h"
#include "json_error_position.h"
#include "prefault.h"
#include "source_text.h"
#include "table_builder.h"

namespace listgate::table {

namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;
using Clock = std::chrono::steady_clock;

enum class RootKey { domains, lists };
enum class ListKey : uint8_t { address, owners, members, verp, backend };

constexpr std::string_view kRootKeys[] = {"domains", "lists"};
constexpr std::string_view kListKeys[] = {"address", "owners", "members", "verp", "backend"};
constexpr std::string_view kAliasDomainKey = "alias_domain";

std::string key_list(const std::string_view* keys, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i != 0) out += i + 1 == count ? " or " : ", ";
    out += quoted(keys[i]);
  }
  return out;
}

// Where an error that simdjson reports for the text as a whole lies, if a
// scan of the text can tell.
std::optional<size_t> whole_text_error_offset(error_code code, std::string_view text) {
  size_t offset = text.size();
  switch (code) {
    case simdjson::UTF8_ERROR: offset = first_invalid_utf8(text); break;
    case simdjson::UNCLOSED_STRING: offset = unclosed_string_start(text); break;
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
    case simdjson::TAPE_ERROR: offset = unbalanced_bracket(text); break;
    default: break;
  }
  if (offset >= text.size()) return std::nullopt;
  return offset;
}

// A string value. Most strings in a table have no escapes: those are read
// straight from the text (simdjson's first pass has checked them), and
// only the rest are unescaped by simdjson into its string buffer. A
// million lists are several million strings; the copy this saves, and
// the memory it does not touch, are a sizeable part of a load.
error_code read_string(od::value& value, std::string_view& out) {
  const std::string_view token = value.raw_json_token();
  if (token.empty() || token.front() != '"') return simdjson::INCORRECT_TYPE;
  const size_t closing_quote = token.find_last_of('"');
  if (closing_quote != 0) {
    const std::string_view content = token.substr(1, closing_quote - 1);
    if (content.find('\\') == std::string_view::npos) {
      out = content;
      return simdjson::SUCCESS;
    }
  }
  return value.get_string().get(out);
}

class TableReader {
 public:
  TableReader(const SourceText& source, const char* text, size_t size, TableBuilder& builder)
      : source_(source), text_(text), size_(size), builder_(builder) {}

  Result<void> read(od::document& document);

 private:
  size_t offset_of(const char* position) const noexcept {
    if (position < text_ || position > text_ + size_) return 0;
    return static_cast<size_t>(position - text_);
  }
  Error error_at(const char* position, std::string_view what) const {
    return source_.error_at(offset_of(position), what);
  }
  Error syntax_error(error_code code) {
    const char* position = last_position_;
    if (const auto offset = whole_text_error_offset(code, {text_, size_})) {
      return source_.error_at(*offset, std::string("invalid JSON: ") + simdjson::error_message(code));
    }
    const char* location = nullptr;
    if (document_ != nullptr && document_->current_location().get(location) == simdjson::SUCCESS) {
      position = location;
    }
    return error_at(position, std::string("invalid JSON: ") + simdjson::error_message(code));
  }
  // A wrong type is the user's; anything else is a JSON syntax error.
  Error type_error(error_code code, const char* position, std::string_view what) {
    if (code == simdjson::INCORRECT_TYPE) return error_at(position, what);
    return syntax_error(code);
  }

  // The index of the field's key among `names`, or an error for an unknown
  // key. Compares the raw key first: it has no escapes in all sane tables.
  Result<size_t> key_index(od::field& field, const std::string_view* names, size_t count,
                           std::string_view where);
  Result<void> read_domains(od::value& value);
  Result<void> read_domain(std::string_view name, const char* name_position, od::value& value);
  Result<void> read_lists(od::value& value);
  Result<void> read_list(od::value& value);
  Result<void> read_addresses(od::value& value, ListKey which);

  const SourceText& source_;
  const char* text_;
  size_t size_;
  TableBuilder& builder_;
  od::document* document_ = nullptr;
  const char* last_position_ = nullptr;
};

Result<size_t> TableReader::key_index(od::field& field, const std::string_view* names,
                                      size_t count, std::string_view where) {
  const char* position = field.key().raw() - 1;
  last_position_ = position;
  for (size_t i = 0; i < count; ++i) {
    if (field.key().unsafe_is_equal(names[i])) return i;
  }
  std::string_view key;
  if (error_code code = field.unescaped_key().get(key); code) return syntax_error(code);
  for (size_t i = 0; i < count; ++i) {
    if (key == names[i]) return i;
  }
  return error_at(position, "unknown key " + quoted(key) + " in " + std::string(where) +
                                " (expected " + key_list(names, count) + ")");
}

Result<void> TableReader::read(od::document& document) {
  document_ = &document;
  last_position_ = text_;
  const char* first = text_;
  while (first < text_ + size_ && (*first == ' ' || *first == '\n' || *first == '\r' || *first == '\t')) {
    ++first;
  }
  od::object root;
  if (error_code code = document.get_object().get(root); code) {
    // simdjson refuses a root object followed by more text up front.
    const size_t trailing = trailing_text_start({text_, size_});
    if (code == simdjson::INCOMPLETE_ARRAY_OR_OBJECT && trailing < size_) {
      return source_.error_at(trailing, "unexpected text after the table");
    }
    return type_error(code, first, "the table must be a JSON object");
  }
  bool seen[2] = {false, false};
  for (auto field_result : root) {
    od::field field;
    if (error_code code = std::move(field_result).get(field); code) return syntax_error(code);
    const char* key_position = field.key().raw() - 1;
    Result<size_t> index = key_index(field, kRootKeys, std::size(kRootKeys), "the table");
    if (!index) return index.error();
    if (seen[*index]) return error_at(key_position, "duplicate key " + quoted(kRootKeys[*index]));
    seen[*index] = true;
    const Result<void> ok = static_cast<RootKey>(*index) == RootKey::domains
                                ? read_domains(field.value())
                                : read_lists(field.value());
    if (!ok) return ok;
  }
  // current_location() fails with OUT_OF_BOUNDS exactly when the whole
  // text has been consumed.
  if (const char* rest = nullptr; document.current_location().get(rest) == simdjson::SUCCESS) {
    return error_at(rest, "unexpected text after the table");
  }
  if (!seen[static_cast<size_t>(RootKey::lists)]) {
    return error_at(first, "the table has no \"lists\" array");
  }
  return {};
}

Result<void> TableReader::read_domains(od::value& value) {
  const char* position = value.raw_json_token().data();
  last_position_ = position;
  od::object domains;
  if (error_code code = value.get_object().get(domains); code) {
    return type_error(code, position, "\"domains\" must be an object of domain names");
  }
  for (auto field_result : domains) {
    od::field field;
    if (error_code code = std::move(field_result).get(field); code) return syntax_error(code);
    const char* name_position = field.key().raw() - 1;
    last_position_ = name_position;
    std::string_view name;
    if (error_code code = field.unescaped_key().get(name); code) return syntax_error(code);
    if (Result<void> ok = read_domain(name, name_position, field.value()); !ok) return ok;
  }
  return {};
}

Result<void> TableReader::read_domain(std::string_view name, const char* name_position,
                                      od::value& value) {
  const char* position = value.raw_json_token().data();
  last_position_ = position;
  od::object settings;
  if (error_code code = value.get_object().get(settings); code) {
    return type_error(code, position, "domain " + quoted(name) + " must be an object");
  }
  std::string_view alias;
  const char* alias_position = nullptr;
  for (auto field_result : settings) {
    od::field field;
    if (error_code code = std::move(field_result).get(field); code) return syntax_error(code);
    const char* key_position = field.key().raw() - 1;
    Result<size_t> index = key_index(field, &kAliasDomainKey, 1, "a domain");
    if (!index) return index.error();
    if (alias_position != nullptr) return error_at(key_position, "duplicate key \"alias_domain\"");
    alias_position = field.value().raw_json_token().data();
    last_position_ = alias_position;
    if (error_code code = read_string(field.value(), alias); code) {
      return type_error(code, alias_position, "\"alias_domain\" must be a string");
    }
    if (alias.empty()) return error_at(alias_position, "\"alias_domain\" is empty");
  }
  return builder_.add_domain(name, offset_of(name_position), alias, offset_of(alias_position));
}

Result<void> TableReader::read_lists(od::value& value) {
  const char* position = value.raw_json_token().data();
  last_position_ = position;
  od::array lists;
  if (error_code code = value.get_array().get(lists); code) {
    return type_error(code, position, "\"lists\" must be an array of lists");
  }
  for (auto element_result : lists) {
    od::value element;
    if (error_code code = std::move(element_result).get(element); code) return syntax_error(code);
    if (Result<void> ok = read_list(element); !ok) return ok;
  }
  return {};
}

Result<void> TableReader::read_list(od::value& value) {
  const char* position = value.raw_json_token().data();
  last_position_ = position;
  od::object list;
  if (error_code code = value.get_object().get(list); code) {
    return type_error(code, position, "each entry of \"lists\" must be an object");
  }
  std::string_view address;
  const char* address_position = nullptr;
  bool verp = false;
  bool seen[std::size(kListKeys)] = {};
  for (auto field_result : list) {
    od::field field;
    if (error_code code = std::move(field_result).get(field); code) return syntax_error(code);
    const char* key_position = field.key().raw() - 1;
    Result<size_t> index = key_index(field, kListKeys, std::size(kListKeys), "a list");
    if (!index) return index.error();
    if (seen[*index]) return error_at(key_position, "duplicate key " + quoted(kListKeys[*index]));
    seen[*index] = true;
    od::value& field_value = field.value();
    const char* value_position = field_value.raw_json_token().data();
    last_position_ = value_position;
    switch (static_cast<ListKey>(*index)) {
      case ListKey::address:
        address_position = value_position;
        if (error_code code = read_string(field_value, address); code) {
          return type_error(code, value_position, "\"address\" must be a string");
        }
        break;
      case ListKey::owners:
      case ListKey::members:
        if (Result<void> ok = read_addresses(field_value, static_cast<ListKey>(*index)); !ok) {
          return ok;
        }
        break;
      case ListKey::verp:
        if (error_code code = field_value.get_bool().get(verp); code) {
          return type_error(code, value_position, "\"verp\" must be true or false");
        }
        break;
      case ListKey::backend: {
        std::string_view backend;
        if (error_code code = read_string(field_value, backend); code) {
          return type_error(code, value_position, "\"backend\" must be a string");
        }
        if (Result<void> ok = builder_.set_backend(backend, offset_of(value_position)); !ok) {
          return ok;
        }
        break;
      }
    }
  }
  if (address_position == nullptr) return error_at(position, "list has no \"address\"");
  return builder_.finish_list(address, offset_of(address_position), verp);
}

Result<void> TableReader::read_addresses(od::value& value, ListKey which) {
  const bool owners = which == ListKey::owners;
  const char* position = value.raw_json_token().data();
  od::array addresses;
  if (error_code code = value.get_array().get(addresses); code) {
    return type_error(code, position,
                      owners ? "\"owners\" must be an array of addresses"
                             : "\"members\" must be an array of addresses");
  }
  for (auto element_result : addresses) {
    od::value element;
    if (error_code code = std::move(element_result).get(element); code) return syntax_error(code);
    const char* element_position = element.raw_json_token().data();
    last_position_ = element_position;
    std::string_view address;
    if (error_code code = read_string(element, address); code) {
      return type_error(code, element_position,
                        owners ? "each owner must be a string" : "each member must be a string");
    }
    if (!is_valid_mailbox(address)) {
      return error_at(element_position, std::string(owners ? "invalid owner address "
                                                           : "invalid member address ") +
                                            quoted(address));
    }
    if (owners) {
      builder_.add_owner(address);
    } else {
      builder_.add_member(address);
    }
  }
  return {};
}

Result<TablePtr> parse_padded(const simdjson::padded_string& json, std::string_view name,
                              const TableOptions& options) {
  const std::string_view text(json.data(), json.size());
  const SourceText source(name, text);
  if (!is_valid_verp_delimiter(options.verp_delimiter)) {
    return make_error(std::string(name) + ": invalid verp_delimiter '" +
                      std::string(1, options.verp_delimiter) + "'");
  }
  const auto start = Clock::now();
  TableBuilder builder(options, source);
  builder.reserve_for_text(text.size());
  od::parser parser;
  od::document document;
  if (error_code code = parser.iterate(json).get(document); code) {
    if (code == simdjson::EMPTY) return source.error_at(0, "the table is empty");
    return source.error_at(whole_text_error_offset(code, text).value_or(0),
                           std::string("invalid JSON: ") + simdjson::error_message(code));
  }
  TableReader reader(source, json.data(), json.size(), builder);
  if (Result<void> ok = reader.read(document); !ok) return ok.error();
  const auto parse_time = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
  return std::move(builder).finish(parse_time);
}

// A buffer of `size` bytes with simdjson's padding after them, backed by
// memory up front (see prefault.h); nullopt if it cannot be allocated.
std::optional<simdjson::padded_string> padded_buffer(size_t size) {
  simdjson::padded_string buffer(size);
  if (buffer.data() == nullptr) return std::nullopt;
  prefault_for_writing(buffer.data(), size);
  return buffer;
}

Error out_of_memory(std::string_view name, size_t size) {
  return make_error(std::string(name) + ": cannot allocate " + std::to_string(size) +
                    " bytes to read the table");
}

}  // namespace

Result<TablePtr> parse_table(std::string_view json, std::string_view name_for_errors,
                             const TableOptions& options) {
  std::optional<simdjson::padded_string> padded = padded_buffer(json.size());
  if (!padded) return out_of_memory(name_for_errors, json.size());
  std::memcpy(padded->data(), json.data(), json.size());
  return parse_padded(*padded, name_for_errors, options);
}

Result<TablePtr> load_table_file(const std::string& path, const TableOptions& options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(path + ": cannot open: " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int saved = errno;
    ::close(fd);
    return make_error(path + ": cannot stat: " + std::strerror(saved));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return make_error(path + ": not a regular file");
  }
  const auto size = static_cast<size_t>(info.st_size);
  std::optional<simdjson::padded_string> buffer = padded_buffer(size);
  if (!buffer) {
    ::close(fd);
    return out_of_memory(path, size);
  }
  simdjson::padded_string& json = *buffer;
  size_t done = 0;
  while (done < json.size()) {
    const ssize_t got = ::read(fd, json.data() + done, json.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      const int saved = errno;
      ::close(fd);
      return make_error(path + ": cannot read: " +
                        (got == 0 ? std::string("file shrank while reading") : std::strerror(saved)));
    }
    done += static_cast<size_t>(got);
  }
  ::close(fd);
  return parse_padded(json, path, options);
}

}  // namespace listgate::table
