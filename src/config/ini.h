// An INI reader with the semantics of Python's configparser as shotgunEvents uses it
// (ConfigParser(os.environ)): "key: value" and "key = value", whole-line "#" and ";" comments,
// indented continuation lines, case-insensitive keys, [DEFAULT] visible in every section, and
// %(name)s interpolation from the section, [DEFAULT] and the process environment.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <tl/expected.hpp>

#include "sgeventd/result.h"

namespace sgeventd::config {

struct IniError {
  std::string file;
  int line = 0;  // 1-based; 0 when not tied to a line
  std::string message;

  // "file:line: message"
  std::string describe() const;
};

// ASCII letters lower-cased (configparser folds keys so).
std::string ascii_lower(std::string s);

class IniFile {
 public:
  using Environment = std::map<std::string, std::string>;

  // env stands in for os.environ (names are matched case-insensitively, as configparser
  // lower-cases them too).
  static ::sgeventd::Expected<IniFile, IniError> parse(std::string_view text, std::string file_name,
                                                       const Environment& env);
  static ::sgeventd::Expected<IniFile, IniError> load(const std::string& path,
                                                      const Environment& env);
  // The current process environment.
  static Environment process_environment();

  bool has_section(const std::string& section) const;
  std::vector<std::string> sections() const;  // in file order, without DEFAULT
  // Keys set in the section itself (lower-cased), in file order.
  std::vector<std::string> keys(const std::string& section) const;
  // Whether the key is set in the section or [DEFAULT] (not the environment).
  bool has(const std::string& section, const std::string& key) const;

  // The interpolated value; nullopt when the key is absent; an error for a bad %(...)s.
  ::sgeventd::Expected<std::optional<std::string>, IniError> get(const std::string& section,
                                                                 const std::string& key) const;
  // The line a key was set on (0 if unknown).
  int line_of(const std::string& section, const std::string& key) const;
  // Where a value set() came from ("the environment variable X"); empty for the file's.
  std::string origin_of(const std::string& section, const std::string& key) const;

  // Sets `key` in `section` (made if missing) to `value` taken literally: no %(...)s
  // expansion, whatever it holds. Replaces the file's value. `origin` is for messages.
  void set(const std::string& section, const std::string& key, std::string value,
           std::string origin);
  const std::string& file_name() const { return file_; }

  // configparser's getboolean words: 1/yes/true/on, 0/no/false/off (any case).
  static std::optional<bool> parse_bool(std::string_view text);

 private:
  struct Entry {
    std::string raw;
    int line = 0;
    bool literal = false;  // set(): returned as it is
    std::string origin;
  };
  // Entries in file order, and an index by key: a lookup per key read made parsing quadratic
  // (50,000 keys took 6 s).
  struct Section {
    std::string name;
    std::vector<std::pair<std::string, Entry>> entries;
    std::unordered_map<std::string, std::size_t> index;  // key -> position in entries
    const Entry* find(const std::string& key) const;
    void add(std::string key, Entry entry);
  };
  const Section* section(const std::string& name) const;
  const Entry* lookup(const std::string& section, const std::string& key) const;
  // `budget`: bytes the whole expansion may still produce, nested levels included.
  ::sgeventd::Expected<std::string, IniError> interpolate(std::size_t& budget,
                                                          const std::string& section,
                                                          const std::string& raw, int line,
                                                          int depth) const;

  std::string file_;
  Section defaults_;
  std::vector<Section> sections_;
  std::unordered_map<std::string, std::size_t> section_index_;  // name -> position
  Environment env_;                                             // keys lower-cased
};

}  // namespace sgeventd::config
