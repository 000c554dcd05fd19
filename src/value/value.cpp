#include "sgeventd/value.h"

#include <algorithm>
#include <unordered_map>

namespace sgeventd {
namespace {

const Value& shared_null() {
  static const Value null_value;
  return null_value;
}

}  // namespace

Dict::Dict(std::initializer_list<Item> items) {
  items_.reserve(items.size());
  for (const auto& item : items) set(item.first, item.second);
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& item : items_) {
    if (item.first == key) return &item.second;
  }
  return nullptr;
}

Value* Dict::find(std::string_view key) {
  for (auto& item : items_) {
    if (item.first == key) return &item.second;
  }
  return nullptr;
}

const Value& Dict::get(std::string_view key) const {
  const Value* v = find(key);
  return v ? *v : shared_null();
}

Value& Dict::set(std::string key, Value value) {
  if (Value* existing = find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  return append(std::move(key), std::move(value));
}

Value& Dict::append(std::string key, Value value) {
  items_.emplace_back(std::move(key), std::move(value));
  return items_.back().second;
}

Value& Dict::operator[](std::string_view key) {
  if (Value* existing = find(key)) return *existing;
  return append(std::string(key), Value());
}

bool Dict::erase(std::string_view key) {
  auto it = std::find_if(items_.begin(), items_.end(),
                         [&](const Item& item) { return item.first == key; });
  if (it == items_.end()) return false;
  items_.erase(it);
  return true;
}

void Dict::deduplicate() {
  const std::size_t n = items_.size();
  if (n < 2) return;
  // Nearly every dict has unique keys: find out cheaply before doing any work. Small dicts
  // (all protocol records) compare pairwise without allocating; large ones use a hash set.
  bool any = false;
  if (n <= 32) {
    for (std::size_t i = 1; i < n && !any; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (items_[i].first == items_[j].first) {
          any = true;
          break;
        }
      }
    }
  } else {
    std::unordered_map<std::string_view, std::size_t> seen;
    seen.reserve(n);
    for (std::size_t i = 0; i < n && !any; ++i) any = !seen.emplace(items_[i].first, i).second;
  }
  if (!any) return;
  // Index of the first occurrence of each key; later occurrences overwrite its value.
  std::unordered_map<std::string, std::size_t> first;
  std::vector<Item> kept;
  kept.reserve(n);
  for (auto& item : items_) {
    auto [it, inserted] = first.emplace(item.first, kept.size());
    if (inserted) {
      kept.push_back(std::move(item));
    } else {
      kept[it->second].second = std::move(item.second);
    }
  }
  items_ = std::move(kept);
}

bool operator==(const Dict& a, const Dict& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, value] : a) {
    const Value* other = b.find(key);
    if (!other || !(*other == value)) return false;
  }
  return true;
}

std::optional<std::int64_t> Value::if_int() const {
  if (const auto* v = std::get_if<std::int64_t>(&data_)) return *v;
  return std::nullopt;
}

const Value& Value::operator[](std::string_view key) const {
  if (const Dict* d = if_dict()) return d->get(key);
  return shared_null();
}

bool Value::truthy() const {
  switch (type()) {
    case Type::Null:
      return false;
    case Type::Bool:
      return as_bool();
    case Type::Int:
      return as_int() != 0;
    case Type::Float:
      return as_float() != 0.0;
    case Type::String:
      return !as_string().empty();
    case Type::Date:
    case Type::DateTime:
      return true;
    case Type::List:
      return !as_list().empty();
    case Type::Dict:
      return !as_dict().empty();
  }
  return false;
}

bool Value::is_entity() const {
  const Dict* d = if_dict();
  return d && d->contains("type") && d->contains("id");
}

const char* Value::type_name(Type t) {
  switch (t) {
    case Type::Null:
      return "null";
    case Type::Bool:
      return "bool";
    case Type::Int:
      return "int";
    case Type::Float:
      return "float";
    case Type::String:
      return "string";
    case Type::Date:
      return "date";
    case Type::DateTime:
      return "datetime";
    case Type::List:
      return "list";
    case Type::Dict:
      return "dict";
  }
  return "?";
}

bool operator==(const Value& a, const Value& b) {
  // Numbers compare by value across int and float, as JSON numbers and Python do; bools
  // stay distinct from numbers (JSON true is not 1).
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
    const double x = a.is_int() ? static_cast<double>(a.as_int()) : a.as_float();
    const double y = b.is_int() ? static_cast<double>(b.as_int()) : b.as_float();
    return x == y;
  }
  return a.data_ == b.data_;
}

}  // namespace sgeventd
