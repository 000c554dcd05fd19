#include "sandbox/field_values.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

namespace sgeventd::sandbox {
namespace {

std::optional<Date> parse_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  Date d{num(0, 4), num(5, 2), num(8, 2)};
  if (d.year < 0 || d.month < 0 || d.day < 0 || !d.valid()) return std::nullopt;
  return d;
}

std::string describe(const Value& v) { return Value::type_name(v.type()); }

Fault bad_value(const FieldDef& f, const Value& v, std::string_view expected) {
  return Fault{kFaultValidation, f.entity_type + "." + f.name + " (" + field_type_name(f.type) +
                                     ") expects " + std::string(expected) + ", got " + describe(v)};
}

Expected<Value> coerce_link(const FieldDef& f, const Value& v, const Links& links) {
  if (!v.is_entity()) return tl::unexpected(bad_value(f, v, "an entity dict with type and id"));
  const std::string* type = v["type"].if_string();
  const auto id = v["id"].if_int();
  if (!type || !id) return tl::unexpected(bad_value(f, v, "an entity dict with type and id"));
  if (!f.accepts_type(*type)) {
    return fault(f.entity_type + "." + f.name + " cannot link to " + *type + " (valid types: " +
                 [&] {
                   std::string s;
                   for (const auto& t : f.valid_types) s += (s.empty() ? "" : ", ") + t;
                   return s;
                 }() +
                 ")");
  }
  if (!links.active(*type, *id)) {
    return fault(*type + " with id " + std::to_string(*id) + " does not exist (or is retired)");
  }
  return link_ref(*type, *id);
}

}  // namespace

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Value link_ref(std::string_view type, std::int64_t id) {
  return Dict{{"type", Value(type)}, {"id", Value(static_cast<long long>(id))}};
}

Value link_out(const Value& ref, const Links& links) {
  const std::string* type = ref["type"].if_string();
  const auto id = ref["id"].if_int();
  if (!type || !id || !links.active(*type, *id)) return Value();
  return Dict{{"type", *type},
              {"id", Value(static_cast<long long>(*id))},
              {"name", links.display_name(*type, *id)}};
}

Value meta_link(const Value& ref, const Links& links) {
  const std::string* type = ref["type"].if_string();
  const auto id = ref["id"].if_int();
  if (!type || !id) return Value();
  Dict d{{"type", *type},
         {"id", Value(static_cast<long long>(*id))},
         {"name", links.display_name(*type, *id)}};
  return d;
}

std::string meta_datetime(const DateTime& when) {
  std::string s = when.to_wire();  // YYYY-MM-DDTHH:MM:SSZ
  s[10] = ' ';
  s.pop_back();
  return s + " UTC";
}

Expected<Value> coerce_input(const FieldDef& f, const Value& v, const Links& links) {
  using T = FieldType;
  if (v.is_null()) {
    if (f.type == T::kMultiEntity || f.type == T::kTagList) return Value(List{});
    if (f.type == T::kCheckbox) return Value(false);
    return Value();
  }
  switch (f.type) {
    case T::kText:
    case T::kColor:
    case T::kUuid:
    case T::kList:
    case T::kStatusList: {
      std::string s;
      if (v.is_string()) {
        s = v.as_string();
      } else if (v.is_datetime()) {
        s = v.as_datetime().to_wire();  // a text that happened to look like a datetime
      } else {
        return tl::unexpected(bad_value(f, v, "a string"));
      }
      if ((f.type == T::kList || f.type == T::kStatusList) && !f.valid_values.empty() &&
          std::find(f.valid_values.begin(), f.valid_values.end(), s) == f.valid_values.end()) {
        return fault("Invalid value '" + s + "' for " + f.entity_type + "." + f.name + " (" +
                     field_type_name(f.type) + ")");
      }
      return Value(std::move(s));
    }
    case T::kNumber:
    case T::kDuration:
    case T::kPercent:
      if (v.is_int()) return v;
      if (v.is_float() && std::floor(v.as_float()) == v.as_float() &&
          std::fabs(v.as_float()) < 9e15) {
        return Value(static_cast<long long>(v.as_float()));
      }
      return tl::unexpected(bad_value(f, v, "an integer"));
    case T::kFloat:
      if (v.is_float()) return v;
      if (v.is_int()) return Value(static_cast<double>(v.as_int()));
      return tl::unexpected(bad_value(f, v, "a number"));
    case T::kCheckbox:
      if (v.is_bool()) return v;
      return tl::unexpected(bad_value(f, v, "true or false"));
    case T::kDate:
      if (v.is_date()) return v;
      if (const std::string* s = v.if_string()) {
        if (auto d = parse_date(*s)) return Value(*d);
      }
      return tl::unexpected(bad_value(f, v, "a date \"YYYY-MM-DD\""));
    case T::kDateTime:
      if (v.is_datetime()) return v;
      if (const std::string* s = v.if_string()) {
        if (auto dt = DateTime::parse_wire(*s)) return Value(*dt);
      }
      return tl::unexpected(bad_value(f, v, "a datetime \"YYYY-MM-DDTHH:MM:SSZ\""));
    case T::kEntity:
      return coerce_link(f, v, links);
    case T::kMultiEntity: {
      if (!v.is_list()) return tl::unexpected(bad_value(f, v, "a list of entity dicts"));
      List out;
      for (const Value& item : v.as_list()) {
        auto ref = coerce_link(f, item, links);
        if (!ref) return ref;
        if (std::find(out.begin(), out.end(), *ref) == out.end()) out.push_back(std::move(*ref));
      }
      return Value(std::move(out));
    }
    case T::kTagList: {
      if (!v.is_list()) return tl::unexpected(bad_value(f, v, "a list of tag names"));
      List out;
      for (const Value& item : v.as_list()) {
        const std::string* name = item.is_dict() ? item["name"].if_string() : item.if_string();
        if (!name) return tl::unexpected(bad_value(f, item, "a tag name"));
        if (std::find(out.begin(), out.end(), Value(*name)) == out.end()) out.push_back(*name);
      }
      return Value(std::move(out));
    }
    case T::kUrl:
      if (v.is_dict()) return v;
      if (const std::string* s = v.if_string()) {
        return Value(
            Dict{{"content_type", Value()}, {"link_type", "web"}, {"name", *s}, {"url", *s}});
      }
      return tl::unexpected(bad_value(f, v, "a url dict"));
    case T::kImage:
      if (v.is_string()) return v;
      return tl::unexpected(bad_value(f, v, "an image URL or null"));
    case T::kSerializable:
      return v;
  }
  return v;
}

Value output_value(const FieldDef& f, const Value& stored, const Links& links) {
  switch (f.type) {
    case FieldType::kEntity:
      return stored.is_null() ? Value() : link_out(stored, links);
    case FieldType::kMultiEntity: {
      List out;
      if (const List* l = stored.if_list()) {
        for (const Value& ref : *l) {
          Value v = link_out(ref, links);
          if (!v.is_null()) out.push_back(std::move(v));
        }
      }
      return Value(std::move(out));
    }
    case FieldType::kTagList:
      return stored.is_null() ? Value(List{}) : stored;
    case FieldType::kCheckbox:
      return stored.is_null() ? Value(false) : stored;
    default:
      return stored;
  }
}

Value meta_value(const FieldDef& f, const Value& stored, const Links& links) {
  if (stored.is_null()) return Value();
  switch (f.type) {
    case FieldType::kEntity:
      return meta_link(stored, links);
    case FieldType::kDateTime:
      return stored.is_datetime() ? Value(meta_datetime(stored.as_datetime())) : stored;
    default:
      return stored;
  }
}

namespace {

int rank(const Value& v) {
  switch (v.type()) {
    case Value::Type::Null:
      return 9;
    case Value::Type::Bool:
      return 1;
    case Value::Type::Int:
    case Value::Type::Float:
      return 2;
    case Value::Type::String:
      return 3;
    case Value::Type::Date:
      return 4;
    case Value::Type::DateTime:
      return 5;
    case Value::Type::List:
      return 6;
    case Value::Type::Dict:
      return 7;
  }
  return 8;
}

template <typename A>
int three_way(const A& a, const A& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

}  // namespace

int compare_values(const Value& a, const Value& b, const Links& links) {
  const int ra = rank(a);
  const int rb = rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (a.type()) {
    case Value::Type::Null:
      return 0;
    case Value::Type::Bool:
      return three_way(a.as_bool(), b.as_bool());
    case Value::Type::Int:
    case Value::Type::Float:
      if (a.is_int() && b.is_int()) return three_way(a.as_int(), b.as_int());
      return three_way(a.is_int() ? static_cast<double>(a.as_int()) : a.as_float(),
                       b.is_int() ? static_cast<double>(b.as_int()) : b.as_float());
    case Value::Type::String: {
      const int c = three_way(lower_ascii(a.as_string()), lower_ascii(b.as_string()));
      return c != 0 ? c : three_way(a.as_string(), b.as_string());
    }
    case Value::Type::Date:
      return three_way(a.as_date(), b.as_date());
    case Value::Type::DateTime:
      return three_way(a.as_datetime().utc, b.as_datetime().utc);
    case Value::Type::List: {
      const auto& la = a.as_list();
      const auto& lb = b.as_list();
      for (std::size_t i = 0; i < std::min(la.size(), lb.size()); ++i) {
        if (int c = compare_values(la[i], lb[i], links)) return c;
      }
      return three_way(la.size(), lb.size());
    }
    case Value::Type::Dict:
      if (a.is_entity() && b.is_entity()) {
        const std::string na = links.display_name(a["type"].as_string(), *a["id"].if_int());
        const std::string nb = links.display_name(b["type"].as_string(), *b["id"].if_int());
        if (int c = compare_values(Value(na), Value(nb), links)) return c;
        return three_way(*a["id"].if_int(), *b["id"].if_int());
      }
      return 0;
  }
  return 0;
}

}  // namespace sgeventd::sandbox
