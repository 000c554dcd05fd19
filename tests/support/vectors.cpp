#include "vectors.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "sgeventd/json.h"

#ifndef SGEVENTD_TESTDATA_DIR
#error "SGEVENTD_TESTDATA_DIR must point at the testdata folder"
#endif

namespace sgeventd::testing {

std::vector<Value> load_vectors(const std::string& file_name) {
  const std::string path = std::string(SGEVENTD_TESTDATA_DIR) + "/api3/" + file_name;
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot open test vectors %s\n", path.c_str());
    std::abort();
  }
  std::vector<Value> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto v = parse_json(line);
    if (!v) {
      std::fprintf(stderr, "bad vector line in %s: %s\n", path.c_str(), v.error().message.c_str());
      std::abort();
    }
    out.push_back(std::move(*v));
  }
  return out;
}

std::optional<DateTime> parse_iso_datetime(const std::string& text) {
  int y, mo, d, h, mi, s;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) !=
      6) {
    return std::nullopt;
  }
  std::string rest = text.substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && rest[0] == '.') {
    const auto end = rest.find_first_not_of("0123456789", 1);
    rest = end == std::string::npos ? "" : rest.substr(end);
  }
  int offset = 0;
  if (!rest.empty()) {
    int oh, om;
    if (rest.size() != 6 || std::sscanf(rest.c_str() + 1, "%2d:%2d", &oh, &om) != 2) {
      return std::nullopt;
    }
    offset = (oh * 3600 + om * 60) * (rest[0] == '-' ? -1 : 1);
  }
  return DateTime::from_offset(y, mo, d, h, mi, s, offset);
}

Value decode_expected(const Value& encoded) {
  if (const Dict* d = encoded.if_dict()) {
    if (d->size() == 1 && d->contains("$datetime")) {
      auto dt = parse_iso_datetime(d->get("$datetime").as_string());
      return dt ? Value(*dt) : encoded;
    }
    Dict out;
    for (const auto& [k, v] : *d) out.append(k, decode_expected(v));
    return out;
  }
  if (const List* l = encoded.if_list()) {
    List out;
    for (const auto& v : *l) out.push_back(decode_expected(v));
    return out;
  }
  return encoded;
}

}  // namespace sgeventd::testing

namespace sgeventd {
void PrintTo(const Value& value, std::ostream* os) {
  std::string text = to_json(value);
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  *os << text;
}
}  // namespace sgeventd
