// Fuzz target: any config text must parse to an IniFile or an error naming a line, never crash
// or hang; every key the file lists must be found again, and reading any value (with
// %(name)s interpolation from the section, [DEFAULT] and the environment) must give a value or
// an error, never "absent".

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config/ini.h"

namespace {

using sgeventd::config::IniFile;

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// The words before ':' or '=' on each line: key names to look up in every section, including
// [DEFAULT] keys, which IniFile does not list.
std::vector<std::string> candidate_keys(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size() && out.size() < 64) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const auto delimiter = line.find_first_of(":=");
    if (delimiter == std::string_view::npos) continue;
    std::string_view key = line.substr(0, delimiter);
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.front()))) {
      key.remove_prefix(1);
    }
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) {
      key.remove_suffix(1);
    }
    out.emplace_back(key);
  }
  return out;
}

void read_value(const IniFile& ini, const std::string& section, const std::string& key,
                bool must_exist) {
  auto value = ini.get(section, key);
  if (!value) {
    if (value.error().file != ini.file_name()) std::abort();
    (void)value.error().describe();
    return;
  }
  if (must_exist && !*value) std::abort();  // listed, yet absent
  if (*value) (void)IniFile::parse_bool(**value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const IniFile::Environment env{
      {"HOME", "/home/shotgun"},         {"SG_ED_SITE_URL", "https://studio.example"},
      {"SG_ED_SCRIPT_NAME", "sgeventd"}, {"SG_ED_API_KEY", "0123456789abcdef"},
      {"Mixed_Case", "mixed"},           {"PERCENT", "100%(x)s"}};
  auto ini = IniFile::parse(text, "fuzz.conf", env);
  if (!ini) {
    if (ini.error().line < 1) std::abort();  // structural errors always name a line
    (void)ini.error().describe();
    return 0;
  }
  const std::vector<std::string> sections = ini->sections();
  for (const std::string& section : sections) {
    if (!ini->has_section(section)) std::abort();
    for (const std::string& key : ini->keys(section)) {
      if (std::any_of(key.begin(), key.end(), [](unsigned char c) { return std::isupper(c); })) {
        std::abort();  // keys are lower-cased
      }
      if (!ini->has(section, key) || !ini->has(section, upper(key))) std::abort();
      if (ini->line_of(section, key) < 1) std::abort();
      read_value(*ini, section, key, true);
    }
  }
  const std::vector<std::string> keys = candidate_keys(text);
  for (const std::string& key : keys) {
    read_value(*ini, "DEFAULT", key, false);
    read_value(*ini, "no such section", key, false);
    if (!sections.empty()) read_value(*ini, sections.front(), upper(key), false);
  }
  return 0;
}
