#include "sandbox/filter.h"

#include <algorithm>
#include <array>

#include "sandbox/field_values.h"

namespace sgeventd::sandbox {
namespace {

using T = FieldType;
using R = Relation;

struct RelationName {
  R relation;
  const char* name;
};

constexpr std::array<RelationName, 28> kRelations{{
    {R::kIs, "is"},
    {R::kIsNot, "is_not"},
    {R::kLessThan, "less_than"},
    {R::kGreaterThan, "greater_than"},
    {R::kContains, "contains"},
    {R::kNotContains, "not_contains"},
    {R::kStartsWith, "starts_with"},
    {R::kEndsWith, "ends_with"},
    {R::kBetween, "between"},
    {R::kNotBetween, "not_between"},
    {R::kIn, "in"},
    {R::kNotIn, "not_in"},
    {R::kInLast, "in_last"},
    {R::kNotInLast, "not_in_last"},
    {R::kInNext, "in_next"},
    {R::kNotInNext, "not_in_next"},
    {R::kInCalendarDay, "in_calendar_day"},
    {R::kInCalendarWeek, "in_calendar_week"},
    {R::kInCalendarMonth, "in_calendar_month"},
    {R::kInCalendarYear, "in_calendar_year"},
    {R::kTypeIs, "type_is"},
    {R::kTypeIsNot, "type_is_not"},
    {R::kNameContains, "name_contains"},
    {R::kNameNotContains, "name_not_contains"},
    {R::kNameIs, "name_is"},
    {R::kNameStartsWith, "name_starts_with"},
    {R::kNameEndsWith, "name_ends_with"},
    {R::kNameId, "name_id"},
}};

const char* relation_name(R r) {
  for (const auto& n : kRelations) {
    if (n.relation == r) return n.name;
  }
  return "?";
}

// The relations each data type allows (sg-protocol.md section 7).
bool allowed(T type, R r) {
  auto one_of = [r](std::initializer_list<R> list) {
    return std::find(list.begin(), list.end(), r) != list.end();
  };
  switch (type) {
    case T::kText:
    case T::kColor:
    case T::kUuid:
      return one_of({R::kIs, R::kIsNot, R::kContains, R::kNotContains, R::kStartsWith, R::kEndsWith,
                     R::kIn, R::kNotIn});
    case T::kNumber:
    case T::kFloat:
    case T::kDuration:
    case T::kPercent:
      return one_of({R::kIs, R::kIsNot, R::kLessThan, R::kGreaterThan, R::kBetween, R::kNotBetween,
                     R::kIn, R::kNotIn});
    case T::kDate:
    case T::kDateTime:
      return one_of({R::kIs, R::kIsNot, R::kLessThan, R::kGreaterThan, R::kBetween, R::kNotBetween,
                     R::kIn, R::kNotIn, R::kInLast, R::kNotInLast, R::kInNext, R::kNotInNext,
                     R::kInCalendarDay, R::kInCalendarWeek, R::kInCalendarMonth,
                     R::kInCalendarYear});
    case T::kCheckbox:
    case T::kImage:
      return one_of({R::kIs, R::kIsNot});
    case T::kList:
    case T::kStatusList:
      return one_of({R::kIs, R::kIsNot, R::kIn, R::kNotIn});
    case T::kEntity:
    case T::kMultiEntity:
      return one_of({R::kIs, R::kIsNot, R::kIn, R::kNotIn, R::kTypeIs, R::kTypeIsNot,
                     R::kNameContains, R::kNameNotContains, R::kNameIs, R::kNameStartsWith,
                     R::kNameEndsWith});
    case T::kTagList:
      return one_of(
          {R::kIs, R::kIsNot, R::kNameContains, R::kNameNotContains, R::kNameIs, R::kNameId});
    case T::kUrl:
    case T::kSerializable:
      return false;
  }
  return false;
}

bool negative(R r) {
  switch (r) {
    case R::kIsNot:
    case R::kNotContains:
    case R::kNotBetween:
    case R::kNotIn:
    case R::kNotInLast:
    case R::kNotInNext:
    case R::kTypeIsNot:
    case R::kNameNotContains:
      return true;
    default:
      return false;
  }
}

R positive(R r) {
  switch (r) {
    case R::kIsNot:
      return R::kIs;
    case R::kNotContains:
      return R::kContains;
    case R::kNotBetween:
      return R::kBetween;
    case R::kNotIn:
      return R::kIn;
    case R::kNotInLast:
      return R::kInLast;
    case R::kNotInNext:
      return R::kInNext;
    case R::kTypeIsNot:
      return R::kTypeIs;
    case R::kNameNotContains:
      return R::kNameContains;
    default:
      return r;
  }
}

std::string where(const FieldPath& p) {
  return p.target().entity_type + "." + p.target().name + " (" + field_type_name(p.target().type) +
         ")";
}

// Brings a filter value to the stored form of the field (without checking that linked
// entities exist: filtering on a missing entity simply matches nothing).
Expected<Value> normalize(const FieldPath& p, R r, const Value& v) {
  const FieldDef& f = p.target();
  if (v.is_null()) {
    if (f.type == T::kCheckbox) return fault("Invalid filter: " + where(p) + " cannot be null");
    return v;
  }
  switch (r) {
    case R::kTypeIs:
    case R::kTypeIsNot:
    case R::kNameContains:
    case R::kNameNotContains:
    case R::kNameIs:
    case R::kNameStartsWith:
    case R::kNameEndsWith:
    case R::kNameId:
    case R::kContains:
    case R::kNotContains:
    case R::kStartsWith:
    case R::kEndsWith:
      if (r == R::kNameId && v.is_int()) return v;
      if (!v.is_string())
        return fault("Invalid filter: " + where(p) + " " + relation_name(r) + " expects a string");
      return v;
    default:
      break;
  }
  if (f.type == T::kImage) return fault("Invalid filter: " + where(p) + " can only be null");
  if (f.type == T::kMultiEntity || f.type == T::kTagList) {
    FieldDef single = f;
    single.type = f.type == T::kMultiEntity ? T::kEntity : T::kText;
    FieldPath sp = p;
    sp.hop_field = nullptr;
    sp.field = &single;
    auto out = normalize(sp, r, v);
    return out;
  }
  if (f.type == T::kEntity) {
    if (!v.is_entity() || !v["type"].is_string() || !v["id"].if_int()) {
      return fault("Invalid filter: " + where(p) + " expects an entity dict with type and id");
    }
    return link_ref(v["type"].as_string(), *v["id"].if_int());
  }
  if (f.type == T::kDateTime && v.is_date()) {
    const auto& d = v.as_date();
    if (auto dt = DateTime::from_utc(d.year, d.month, d.day)) return Value(*dt);
  }
  struct Always : Links {
    const RowView* active(std::string_view, std::int64_t) const override { return nullptr; }
    std::string display_name(std::string_view, std::int64_t) const override { return {}; }
  } no_links;
  FieldDef lenient = f;
  lenient.valid_values.clear();  // filtering on an unknown status is no error, just no match
  auto out = coerce_input(lenient, v, no_links);
  if (!out) return fault("Invalid filter: " + out.error().message);
  return out;
}

Expected<Condition> compile_condition(const Schema& schema, std::string_view type,
                                      const std::string& path, const std::string& relation,
                                      List values) {
  auto fp = resolve_path(schema, type, path);
  if (!fp) return tl::unexpected(fp.error());
  Condition c;
  c.path = std::move(*fp);
  auto rel = std::find_if(kRelations.begin(), kRelations.end(),
                          [&](const RelationName& n) { return relation == n.name; });
  if (rel == kRelations.end()) {
    return fault("Invalid filter: unknown relation '" + relation + "' on " + where(c.path));
  }
  c.relation = rel->relation;
  if (!allowed(c.path.target().type, c.relation)) {
    if (c.path.target().type == T::kSerializable || c.path.target().type == T::kUrl) {
      return fault("Invalid filter: " + where(c.path) + " is not filterable");
    }
    return fault("Invalid filter: relation '" + relation + "' is not valid for " + where(c.path));
  }
  // A single list value stands for the values themselves (["id", "in", [1, 2]]).
  if (values.size() == 1 && values[0].is_list() && c.path.target().type != T::kSerializable) {
    List inner = values[0].as_list();
    values = std::move(inner);
  }
  auto need = [&](std::size_t n) -> Expected<void> {
    if (values.size() != n) {
      return fault("Invalid filter: " + std::string(relation_name(c.relation)) + " on " +
                   where(c.path) + " takes " + std::to_string(n) + " value(s), got " +
                   std::to_string(values.size()));
    }
    return {};
  };
  switch (c.relation) {
    case R::kIn:
    case R::kNotIn:
      break;
    case R::kBetween:
    case R::kNotBetween:
      if (auto ok = need(2); !ok) return tl::unexpected(ok.error());
      break;
    case R::kInLast:
    case R::kNotInLast:
    case R::kInNext:
    case R::kNotInNext: {
      if (auto ok = need(2); !ok) return tl::unexpected(ok.error());
      static const std::array<const char*, 5> units{"HOUR", "DAY", "WEEK", "MONTH", "YEAR"};
      const std::string* unit = values[1].if_string();
      if (!values[0].is_int() || !unit ||
          std::find(units.begin(), units.end(), *unit) == units.end()) {
        return fault("Invalid filter: " + std::string(relation_name(c.relation)) +
                     " expects [count, \"HOUR\"|\"DAY\"|\"WEEK\"|\"MONTH\"|\"YEAR\"]");
      }
      c.values = std::move(values);
      return c;
    }
    case R::kInCalendarDay:
    case R::kInCalendarWeek:
    case R::kInCalendarMonth:
    case R::kInCalendarYear:
      if (auto ok = need(1); !ok) return tl::unexpected(ok.error());
      if (!values[0].is_int()) {
        return fault("Invalid filter: " + std::string(relation_name(c.relation)) +
                     " expects an integer offset");
      }
      c.values = std::move(values);
      return c;
    default:
      if (auto ok = need(1); !ok) return tl::unexpected(ok.error());
  }
  for (Value& v : values) {
    auto n = normalize(c.path, c.relation, v);
    if (!n) return tl::unexpected(n.error());
    v = std::move(*n);
  }
  c.values = std::move(values);
  return c;
}

Expected<Filter> compile_node(const Schema& schema, std::string_view type, const Value& wire,
                              int depth) {
  if (depth > 64) return fault("Invalid filter: nested too deeply");
  Filter node;
  if (const List* list = wire.if_list()) {
    // [[path, relation, v...], ...] or a bare [path, relation, v...]
    if (!list->empty() && (*list)[0].is_string()) {
      if (list->size() < 2 || !(*list)[1].is_string()) {
        return fault("Invalid filter: a condition is [path, relation, values...]");
      }
      auto c = compile_condition(schema, type, (*list)[0].as_string(), (*list)[1].as_string(),
                                 List(list->begin() + 2, list->end()));
      if (!c) return tl::unexpected(c.error());
      node.is_condition = true;
      node.condition = std::move(*c);
      return node;
    }
    for (const Value& item : *list) {
      auto child = compile_node(schema, type, item, depth + 1);
      if (!child) return child;
      node.children.push_back(std::move(*child));
    }
    return node;
  }
  const Dict* d = wire.if_dict();
  if (!d)
    return fault("Invalid filter: expected a dict or list, got " +
                 std::string(Value::type_name(wire.type())));
  if (const Value* path = d->find("path")) {
    const std::string* p = path->if_string();
    const std::string* rel = d->get("relation").if_string();
    if (!p || !rel) return fault("Invalid filter: a condition needs a path and a relation");
    List values;
    if (const Value* v = d->find("values")) {
      if (v->is_list()) {
        values = v->as_list();
      } else {
        values.push_back(*v);
      }
    }
    auto c = compile_condition(schema, type, *p, *rel, std::move(values));
    if (!c) return tl::unexpected(c.error());
    node.is_condition = true;
    node.condition = std::move(*c);
    return node;
  }
  const Value& op = d->get("logical_operator");
  const Value* ops = op.is_null() ? d->find("filter_operator") : &op;
  if (ops && !ops->is_null()) {
    const std::string* s = ops->if_string();
    if (!s || (*s != "and" && *s != "or" && *s != "all" && *s != "any")) {
      return fault("Invalid filter: logical_operator must be 'and' or 'or'");
    }
    node.any = *s == "or" || *s == "any";
  }
  const Value* conditions = d->find("conditions");
  if (!conditions) conditions = d->find("filters");
  if (conditions && !conditions->is_null()) {
    const List* l = conditions->if_list();
    if (!l) return fault("Invalid filter: conditions must be a list");
    for (const Value& item : *l) {
      auto child = compile_node(schema, type, item, depth + 1);
      if (!child) return child;
      node.children.push_back(std::move(*child));
    }
  }
  return node;
}

// ---- evaluation ----------------------------------------------------------------------

std::int64_t days_of(const Value& v) {
  using namespace std::chrono;
  if (v.is_datetime()) {
    return floor<days>(v.as_datetime().utc).time_since_epoch().count();
  }
  const Date& d = v.as_date();
  return sys_days(year{d.year} / month{static_cast<unsigned>(d.month)} /
                  day{static_cast<unsigned>(d.day)})
      .time_since_epoch()
      .count();
}

std::int64_t seconds_of(const Value& v) {
  if (v.is_datetime()) return v.as_datetime().utc.time_since_epoch().count();
  return days_of(v) * 86400;
}

std::int64_t unit_seconds(const std::string& unit) {
  if (unit == "HOUR") return 3600;
  if (unit == "DAY") return 86400;
  if (unit == "WEEK") return 7 * 86400;
  if (unit == "MONTH") return 30 * 86400;
  return 365 * 86400;
}

bool text_equal(const Value& a, const Value& b) {
  const bool a_empty = a.is_null() || (a.is_string() && a.as_string().empty());
  const bool b_empty = b.is_null() || (b.is_string() && b.as_string().empty());
  if (a_empty || b_empty) return a_empty && b_empty;
  if (a.is_string() && b.is_string())
    return lower_ascii(a.as_string()) == lower_ascii(b.as_string());
  return false;
}

bool same_link(const Value& a, const Value& b) {
  return a.is_entity() && b.is_entity() && a["type"] == b["type"] &&
         a["id"].if_int() == b["id"].if_int();
}

// One stored scalar (or a whole multi-value list) against a positive relation.
bool test_positive(const Condition& c, R r, const Value& v, const Links& links,
                   const FilterContext& ctx) {
  const FieldDef& f = c.path.target();
  const List& vals = c.values;
  const Links& l = links;
  auto cmp = [&](const Value& a, const Value& b) { return compare_values(a, b, l); };

  if (f.type == T::kMultiEntity || f.type == T::kTagList) {
    const List empty;
    const List& items = v.is_list() ? v.as_list() : empty;
    auto has = [&](const Value& x) {
      for (const Value& item : items) {
        if (f.type == T::kMultiEntity ? same_link(item, x) : text_equal(item, x)) return true;
      }
      return false;
    };
    auto any_name = [&](auto&& pred) {
      for (const Value& item : items) {
        const std::string name =
            item.is_entity() ? links.display_name(item["type"].as_string(), *item["id"].if_int())
                             : (item.is_string() ? item.as_string() : std::string());
        if (pred(lower_ascii(name))) return true;
      }
      return false;
    };
    const std::string needle =
        !vals.empty() && vals[0].is_string() ? lower_ascii(vals[0].as_string()) : "";
    switch (r) {
      case R::kIs:
        return vals[0].is_null() ? items.empty() : has(vals[0]);
      case R::kIn:
        return std::any_of(vals.begin(), vals.end(),
                           [&](const Value& x) { return x.is_null() ? items.empty() : has(x); });
      case R::kTypeIs:
        if (vals[0].is_null()) return items.empty();
        return std::any_of(items.begin(), items.end(),
                           [&](const Value& i) { return i["type"] == vals[0]; });
      case R::kNameContains:
        return any_name([&](const std::string& n) { return n.find(needle) != std::string::npos; });
      case R::kNameIs:
        return any_name([&](const std::string& n) { return n == needle; });
      case R::kNameStartsWith:
        return any_name([&](const std::string& n) { return n.rfind(needle, 0) == 0; });
      case R::kNameEndsWith:
        return any_name([&](const std::string& n) {
          return n.size() >= needle.size() &&
                 n.compare(n.size() - needle.size(), needle.size(), needle) == 0;
        });
      case R::kNameId:
        return false;  // tags have no ids in the sandbox
      default:
        return false;
    }
  }

  auto eq = [&](const Value& x) {
    if (x.is_null() || v.is_null()) {
      if (f.type == T::kText || f.type == T::kColor || f.type == T::kUuid || f.type == T::kList ||
          f.type == T::kStatusList) {
        return text_equal(v, x);
      }
      return x.is_null() && v.is_null();
    }
    if (f.type == T::kEntity) return same_link(v, x);
    if (v.is_string() && x.is_string()) return text_equal(v, x);
    if (f.type == T::kDate || f.type == T::kDateTime) return seconds_of(v) == seconds_of(x);
    return cmp(v, x) == 0 && v.type() != Value::Type::Dict;
  };
  const std::string needle =
      !vals.empty() && vals[0].is_string() ? lower_ascii(vals[0].as_string()) : std::string();
  const std::string hay = v.is_string() ? lower_ascii(v.as_string()) : std::string();

  switch (r) {
    case R::kIs:
      return eq(vals[0]);
    case R::kIn:
      return std::any_of(vals.begin(), vals.end(), eq);
    case R::kLessThan:
      return !v.is_null() && !vals[0].is_null() && cmp(v, vals[0]) < 0;
    case R::kGreaterThan:
      return !v.is_null() && !vals[0].is_null() && cmp(v, vals[0]) > 0;
    case R::kBetween:
      return !v.is_null() && cmp(v, vals[0]) >= 0 && cmp(v, vals[1]) <= 0;
    case R::kContains:
      return v.is_string() && hay.find(needle) != std::string::npos;
    case R::kStartsWith:
      return v.is_string() && hay.rfind(needle, 0) == 0;
    case R::kEndsWith:
      return v.is_string() && hay.size() >= needle.size() &&
             hay.compare(hay.size() - needle.size(), needle.size(), needle) == 0;
    case R::kInLast:
    case R::kInNext: {
      if (v.is_null()) return false;
      const std::int64_t span = vals[0].as_int() * unit_seconds(vals[1].as_string());
      const std::int64_t now = ctx.now.time_since_epoch().count();
      if (f.type == T::kDate) {
        const std::int64_t today = now / 86400;
        const std::int64_t d = days_of(v);
        const std::int64_t other = (r == R::kInLast ? now - span : now + span) / 86400;
        return r == R::kInLast ? (d >= other && d <= today) : (d >= today && d <= other);
      }
      const std::int64_t t = seconds_of(v);
      return r == R::kInLast ? (t >= now - span && t <= now) : (t >= now && t <= now + span);
    }
    case R::kInCalendarDay:
    case R::kInCalendarWeek:
    case R::kInCalendarMonth:
    case R::kInCalendarYear: {
      if (v.is_null()) return false;
      using namespace std::chrono;
      const std::int64_t offset = vals[0].as_int();
      const std::int64_t today = floor<days>(ctx.now).time_since_epoch().count();
      const std::int64_t d = days_of(v);
      if (r == R::kInCalendarDay) return d == today + offset;
      // Weeks start on Monday; 1970-01-01 was a Thursday.
      auto week = [](std::int64_t day_number) {
        return (day_number + 3 >= 0 ? (day_number + 3) / 7 : (day_number + 3 - 6) / 7);
      };
      if (r == R::kInCalendarWeek) return week(d) == week(today) + offset;
      const year_month_day a{sys_days{days{d}}};
      const year_month_day b{sys_days{days{today}}};
      if (r == R::kInCalendarYear) {
        return static_cast<int>(a.year()) == static_cast<int>(b.year()) + offset;
      }
      const auto months = [](const year_month_day& x) {
        return static_cast<std::int64_t>(static_cast<int>(x.year())) * 12 +
               static_cast<unsigned>(x.month()) - 1;
      };
      return months(a) == months(b) + offset;
    }
    case R::kTypeIs:
      if (vals[0].is_null()) return v.is_null();
      return v.is_entity() && v["type"] == vals[0];
    case R::kNameContains:
    case R::kNameIs:
    case R::kNameStartsWith:
    case R::kNameEndsWith: {
      if (!v.is_entity()) return false;
      const std::string name =
          lower_ascii(links.display_name(v["type"].as_string(), *v["id"].if_int()));
      if (r == R::kNameContains) return name.find(needle) != std::string::npos;
      if (r == R::kNameIs) return name == needle;
      if (r == R::kNameStartsWith) return name.rfind(needle, 0) == 0;
      return name.size() >= needle.size() &&
             name.compare(name.size() - needle.size(), needle.size(), needle) == 0;
    }
    default:
      return false;
  }
}

bool test_condition(const Condition& c, const RowView& row, const Links& links,
                    const FilterContext& ctx) {
  const R pos = positive(c.relation);
  const std::vector<Value> values = path_values(c.path, row, links);
  bool any = false;
  for (const Value& v : values) {
    if (test_positive(c, pos, v, links, ctx)) {
      any = true;
      break;
    }
  }
  return negative(c.relation) ? !any : any;
}

}  // namespace

Expected<FieldPath> resolve_path(const Schema& schema, std::string_view entity_type,
                                 std::string_view path) {
  FieldPath p;
  p.text = std::string(path);
  const auto dot = path.find('.');
  auto first = schema.field(entity_type, path.substr(0, dot));
  if (!first) return tl::unexpected(first.error());
  p.field = *first;
  if (dot == std::string_view::npos) return p;
  const std::string_view rest = path.substr(dot + 1);
  const auto dot2 = rest.find('.');
  if (dot2 == std::string_view::npos) {
    return fault("Invalid path '" + std::string(path) + "': expected field.EntityType.field");
  }
  if (!p.field->is_link()) {
    return fault("Invalid path '" + std::string(path) + "': " + std::string(entity_type) + "." +
                 p.field->name + " is not an entity field");
  }
  p.hop_type = std::string(rest.substr(0, dot2));
  const std::string_view hop = rest.substr(dot2 + 1);
  if (hop.find('.') != std::string_view::npos) {
    return fault("Invalid path '" + std::string(path) + "': the sandbox follows one link per path");
  }
  auto second = schema.field(p.hop_type, hop);
  if (!second) return tl::unexpected(second.error());
  p.hop_field = *second;
  return p;
}

std::vector<Value> path_values(const FieldPath& path, const RowView& row, const Links& links) {
  Value v = row.get(path.field->name);
  if (!path.hop_field) return {std::move(v)};
  std::vector<Value> out;
  auto follow = [&](const Value& ref) {
    if (!ref.is_entity() || ref["type"].as_string() != path.hop_type) return;
    if (const RowView* target = links.active(path.hop_type, *ref["id"].if_int())) {
      out.push_back(target->get(path.hop_field->name));
    }
  };
  if (const List* l = v.if_list()) {
    for (const Value& ref : *l) follow(ref);
  } else {
    follow(v);
  }
  if (out.empty()) out.emplace_back();
  return out;
}

Expected<Filter> compile_filter(const Schema& schema, std::string_view entity_type,
                                const Value& wire) {
  if (wire.is_null()) return Filter{};
  return compile_node(schema, entity_type, wire, 0);
}

bool matches(const Filter& filter, const RowView& row, const Links& links,
             const FilterContext& context) {
  if (filter.is_condition) return test_condition(filter.condition, row, links, context);
  if (filter.children.empty()) return true;
  for (const Filter& child : filter.children) {
    const bool m = matches(child, row, links, context);
    if (filter.any && m) return true;
    if (!filter.any && !m) return false;
  }
  return !filter.any;
}

IdRange id_range(const Filter& filter) {
  IdRange range;
  auto narrow = [&](const Condition& c) {
    if (c.path.hop_field || c.path.field->name != "id") return;
    const List& v = c.values;
    auto as_int = [](const Value& x) {
      return x.is_int() ? x.as_int() : static_cast<std::int64_t>(x.as_float());
    };
    switch (c.relation) {
      case R::kIs:
        if (!v[0].is_number()) return;
        range.low = std::max(range.low, as_int(v[0]));
        range.high = std::min(range.high, as_int(v[0]));
        break;
      case R::kGreaterThan:
        if (v[0].is_int()) range.low = std::max(range.low, v[0].as_int() + 1);
        break;
      case R::kLessThan:
        if (v[0].is_int()) range.high = std::min(range.high, v[0].as_int() - 1);
        break;
      case R::kBetween:
        if (v[0].is_int() && v[1].is_int()) {
          range.low = std::max(range.low, v[0].as_int());
          range.high = std::min(range.high, v[1].as_int());
        }
        break;
      case R::kIn: {
        if (v.empty() ||
            !std::all_of(v.begin(), v.end(), [](const Value& x) { return x.is_int(); }))
          return;
        std::int64_t lo = v[0].as_int();
        std::int64_t hi = lo;
        for (const Value& x : v) {
          lo = std::min(lo, x.as_int());
          hi = std::max(hi, x.as_int());
        }
        range.low = std::max(range.low, lo);
        range.high = std::min(range.high, hi);
        break;
      }
      default:
        break;
    }
  };
  if (filter.is_condition) {
    narrow(filter.condition);
  } else if (!filter.any || filter.children.size() == 1) {
    for (const Filter& child : filter.children) {
      if (child.is_condition) narrow(child.condition);
    }
  }
  return range;
}

}  // namespace sgeventd::sandbox
