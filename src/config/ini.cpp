#include "config/ini.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <utility>

extern char** environ;

namespace sgeventd::config {

std::string ascii_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

namespace {

std::string lower(std::string s) { return ascii_lower(std::move(s)); }

std::string_view strip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool is_indented(std::string_view line) {
  return !line.empty() && (line[0] == ' ' || line[0] == '\t');
}

constexpr int kMaxInterpolationDepth = 10;  // configparser's MAX_INTERPOLATION_DEPTH
constexpr std::size_t kMaxInterpolatedSize = std::size_t{1} << 20;

}  // namespace

std::string IniError::describe() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  return out + ": " + message;
}

const IniFile::Entry* IniFile::Section::find(const std::string& key) const {
  const auto it = index.find(key);
  return it == index.end() ? nullptr : &entries[it->second].second;
}

void IniFile::Section::add(std::string key, Entry entry) {
  index.emplace(key, entries.size());
  entries.emplace_back(std::move(key), std::move(entry));
}

IniFile::Environment IniFile::process_environment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

::sgeventd::Expected<IniFile, IniError> IniFile::load(const std::string& path,
                                                      const Environment& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(IniError{path, 0, "cannot read the file"});
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), path, env);
}

::sgeventd::Expected<IniFile, IniError> IniFile::parse(std::string_view text, std::string file_name,
                                                       const Environment& env) {
  IniFile ini;
  ini.file_ = std::move(file_name);
  ini.defaults_.name = "DEFAULT";
  for (const auto& [k, v] : env) ini.env_[lower(k)] = v;

  Section* current = nullptr;
  std::pair<std::string, Entry>* last_entry = nullptr;
  std::size_t key_indent = 0;
  int pending_blank_lines = 0;
  int line_no = 0;
  const auto error = [&](std::string message) {
    return tl::unexpected(IniError{ini.file_, line_no, std::move(message)});
  };

  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // BOM
    const std::string_view stripped = strip(line);

    if (stripped.empty()) {
      if (last_entry) ++pending_blank_lines;
      if (end == text.size()) break;
      continue;
    }
    if (stripped[0] == '#' || stripped[0] == ';') {
      if (end == text.size()) break;
      continue;
    }
    const std::size_t indent = line.find_first_not_of(" \t");
    if (last_entry && is_indented(line) && indent > key_indent) {
      // A continuation line: part of the value above (blank lines in between kept).
      std::string& raw = last_entry->second.raw;
      raw.append(static_cast<std::size_t>(pending_blank_lines) + 1, '\n');
      raw.append(stripped);
      pending_blank_lines = 0;
      if (end == text.size()) break;
      continue;
    }
    pending_blank_lines = 0;
    last_entry = nullptr;
    if (stripped.front() == '[') {
      const auto close = stripped.find(']');
      if (close == std::string_view::npos) return error("section header without ']'");
      const std::string name(stripped.substr(1, close - 1));
      if (name == "DEFAULT") {
        current = &ini.defaults_;
      } else {
        if (ini.section(name)) return error("section [" + name + "] appears twice");
        ini.section_index_.emplace(name, ini.sections_.size());
        ini.sections_.push_back(Section{name, {}, {}});
        current = &ini.sections_.back();
      }
      if (end == text.size()) break;
      continue;
    }
    if (!current) return error("a key outside of any [section]");
    const auto delimiter = stripped.find_first_of(":=");
    if (delimiter == std::string_view::npos || delimiter == 0) {
      return error("expected 'key: value' or 'key = value', got '" + std::string(stripped) + "'");
    }
    const std::string key = lower(std::string(strip(stripped.substr(0, delimiter))));
    if (current->find(key)) {
      return error("key '" + key + "' appears twice in [" + current->name + "]");
    }
    current->add(key, Entry{std::string(strip(stripped.substr(delimiter + 1))), line_no});
    last_entry = &current->entries.back();
    key_indent = indent;
    if (end == text.size()) break;
  }
  return ini;
}

const IniFile::Section* IniFile::section(const std::string& name) const {
  const auto it = section_index_.find(name);
  return it == section_index_.end() ? nullptr : &sections_[it->second];
}

bool IniFile::has_section(const std::string& name) const { return section(name) != nullptr; }

std::vector<std::string> IniFile::sections() const {
  std::vector<std::string> out;
  for (const auto& s : sections_) out.push_back(s.name);
  return out;
}

std::vector<std::string> IniFile::keys(const std::string& name) const {
  std::vector<std::string> out;
  if (const Section* s = section(name)) {
    for (const auto& [k, e] : s->entries) out.push_back(k);
  }
  return out;
}

const IniFile::Entry* IniFile::lookup(const std::string& name, const std::string& key) const {
  if (const Section* s = section(name)) {
    if (const Entry* e = s->find(key)) return e;
  }
  return defaults_.find(key);
}

bool IniFile::has(const std::string& name, const std::string& key) const {
  return lookup(name, lower(key)) != nullptr;
}

std::string IniFile::origin_of(const std::string& name, const std::string& key) const {
  const Entry* e = lookup(name, lower(key));
  return e ? e->origin : std::string();
}

void IniFile::set(const std::string& name, const std::string& key, std::string value,
                  std::string origin) {
  if (!section(name)) {
    section_index_.emplace(name, sections_.size());
    sections_.push_back(Section{name, {}, {}});
  }
  Section& s = sections_[section_index_.at(name)];
  Entry entry{std::move(value), 0, true, std::move(origin)};
  const std::string k = lower(key);
  if (auto it = s.index.find(k); it != s.index.end()) {
    s.entries[it->second].second = std::move(entry);
  } else {
    s.add(k, std::move(entry));
  }
}

int IniFile::line_of(const std::string& name, const std::string& key) const {
  const Entry* e = lookup(name, lower(key));
  return e ? e->line : 0;
}

::sgeventd::Expected<std::optional<std::string>, IniError> IniFile::get(
    const std::string& name, const std::string& key) const {
  const Entry* e = lookup(name, lower(key));
  if (!e) return std::optional<std::string>();
  if (e->literal) return std::optional<std::string>(e->raw);
  std::size_t budget = kMaxInterpolatedSize;
  auto value = interpolate(budget, name, e->raw, e->line, 0);
  if (!value) return tl::unexpected(value.error());
  return std::optional<std::string>(std::move(*value));
}

::sgeventd::Expected<std::string, IniError> IniFile::interpolate(std::size_t& budget,
                                                                 const std::string& name,
                                                                 const std::string& raw, int line,
                                                                 int depth) const {
  const auto error = [&](std::string message) {
    return tl::unexpected(IniError{file_, line, std::move(message)});
  };
  if (depth > kMaxInterpolationDepth) return error("interpolation nested too deeply (a loop?)");
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      out.push_back(raw[i]);
      continue;
    }
    if (i + 1 < raw.size() && raw[i + 1] == '%') {
      out.push_back('%');
      ++i;
      continue;
    }
    if (i + 1 < raw.size() && raw[i + 1] == '(') {
      const auto close = raw.find(")s", i + 2);
      if (close == std::string::npos) {
        return error("bad interpolation syntax in '" + raw + "' (expected %(name)s)");
      }
      const std::string ref = lower(raw.substr(i + 2, close - i - 2));
      if (const Entry* e = lookup(name, ref)) {
        auto nested = interpolate(budget, name, e->raw, line, depth + 1);
        if (!nested) return nested;
        // References repeated at every level multiply (ten keys naming the next one eight
        // times would make a gigabyte): the whole expansion, nested levels included, may
        // produce so much, so the work stays bounded too.
        if (nested->size() > budget) {
          return error("interpolation makes a value of [" + name + "] larger than " +
                       std::to_string(kMaxInterpolatedSize >> 20) + " MiB");
        }
        budget -= nested->size();
        out += *nested;
      } else if (auto it = env_.find(ref); it != env_.end()) {
        // Environment values are not interpolated further (configparser would, but a '%' in
        // an environment variable is data, and failing on it helps nobody).
        out += it->second;
      } else {
        return error("'%(" + raw.substr(i + 2, close - i - 2) +
                     ")s' names no key and no environment variable");
      }
      i = close + 1;
      continue;
    }
    return error("'%' must be followed by '%' or '(' in '" + raw + "'");
  }
  return out;
}

std::optional<bool> IniFile::parse_bool(std::string_view text) {
  const std::string v = lower(std::string(strip(text)));
  if (v == "1" || v == "yes" || v == "true" || v == "on") return true;
  if (v == "0" || v == "no" || v == "false" || v == "off") return false;
  return std::nullopt;
}

}  // namespace sgeventd::config
