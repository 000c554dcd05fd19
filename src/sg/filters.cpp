#include "sg/filters.h"

#include <array>
#include <string_view>

#include "sgeventd/json.h"

namespace sgeventd::sg {
namespace {

Result<Value> translate_group(const Value& group, bool optimize);

Result<Value> translate_condition(const List& condition, bool optimize) {
  if (condition.size() < 2) {
    return make_error(
        ErrorKind::kShotgunError,
        "Invalid filter, expected [path, relation, values...], got " + to_json(Value(condition)));
  }
  Dict out;
  out.append("path", condition[0]);
  out.append("relation", condition[1]);
  List values(condition.begin() + 2, condition.end());
  // A lone list argument is the value list itself: ["id", "in", [1, 2]].
  if (values.size() == 1 && values[0].is_list()) values = List(values[0].as_list());
  const Value& relation = condition[1];
  const bool trims = relation == Value("is") || relation == Value("is_not") ||
                     relation == Value("in") || relation == Value("not_in");
  if (optimize && !(condition[0] == Value("id")) && trims && values.empty()) {
    // shotgun_api3 fails here with an IndexError; say what is wrong instead.
    return make_error(ErrorKind::kInvalidArgument, "Invalid filter " + to_json(Value(condition)) +
                                                       ": the relation needs a value");
  }
  if (optimize && !(condition[0] == Value("id")) && trims && values[0].is_dict()) {
    for (Value& v : values) v = optimize_entity(v);
  }
  out.append("values", std::move(values));
  return Value(std::move(out));
}

Result<Value> translate_list(const List& filters, bool optimize) {
  List conditions;
  conditions.reserve(filters.size());
  for (const Value& filter : filters) {
    Result<Value> translated;
    if (const List* condition = filter.if_list()) {
      translated = translate_condition(*condition, optimize);
    } else if (filter.is_dict()) {
      translated = translate_group(filter, optimize);
    } else {
      return make_error(ErrorKind::kShotgunError,
                        "Invalid filters, expected a list, tuple or dict, got " + to_json(filter));
    }
    if (!translated) return translated;
    conditions.push_back(std::move(*translated));
  }
  return Value(std::move(conditions));
}

Result<std::string> logical_operator(const Value& filter_operator) {
  const std::string* op = filter_operator.if_string();
  if (op && (*op == "all" || *op == "and")) return std::string("and");
  if (op && (*op == "any" || *op == "or")) return std::string("or");
  return make_error(
      ErrorKind::kShotgunError,
      "Invalid filter_operator " + (op                          ? *op
                                    : filter_operator.is_null() ? "None"
                                                                : to_json(filter_operator)));
}

Result<Value> translate_group(const Value& group, bool optimize) {
  auto op = logical_operator(group["filter_operator"]);
  if (!op) return tl::unexpected(op.error());
  const List* filters = group["filters"].if_list();
  if (!filters) {
    return make_error(
        ErrorKind::kShotgunError,
        "Invalid filters, expected a list or a tuple, got " + to_json(group["filters"]));
  }
  auto conditions = translate_list(*filters, optimize);
  if (!conditions) return conditions;
  return Value(Dict{{"logical_operator", *op}, {"conditions", std::move(*conditions)}});
}

}  // namespace

Result<Value> translate_filters(const List& filters, const std::string& filter_operator,
                                bool optimize_entities) {
  Value group = Dict{{"filter_operator", filter_operator.empty() ? "all" : filter_operator},
                     {"filters", filters}};
  return translate_group(group, optimize_entities);
}

Value optimize_entity(const Value& value, bool recursive) {
  static constexpr std::array<std::string_view, 8> kAllowed = {
      "id", "type", "url", "name", "content_type", "local_path", "storage", "relative_path"};
  if (value.is_entity()) {
    Dict trimmed;
    for (const auto& [key, v] : value.as_dict()) {
      for (std::string_view allowed : kAllowed) {
        if (key == allowed) {
          trimmed.append(key, v);
          break;
        }
      }
    }
    return trimmed;
  }
  if (recursive && value.is_list()) {
    List out;
    out.reserve(value.as_list().size());
    for (const Value& item : value.as_list()) out.push_back(optimize_entity(item, false));
    return out;
  }
  return value;
}

}  // namespace sgeventd::sg
