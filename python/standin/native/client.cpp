#include "client.h"

#include <chrono>
#include <type_traits>
#include <utility>

#include "convert.h"

namespace sgeventd::standin {

namespace {

std::string string_setting(const py::dict& settings, const char* key) {
  return settings.contains(key) ? to_string_arg(settings[key], key) : std::string();
}

bool bool_setting(const py::dict& settings, const char* key, bool fallback) {
  if (!settings.contains(key) || settings[key].is_none()) return fallback;
  const int truth = PyObject_IsTrue(settings[key].ptr());
  if (truth < 0) throw py::error_already_set();
  return truth != 0;
}

std::optional<double> number_setting(const py::dict& settings, const char* key) {
  if (!settings.contains(key) || settings[key].is_none()) return std::nullopt;
  return settings[key].cast<double>();
}

sg::ConnectionSettings parse_settings(const py::dict& d) {
  sg::ConnectionSettings s;
  s.base_url = string_setting(d, "base_url");
  s.script_name = string_setting(d, "script_name");
  s.script_key = string_setting(d, "api_key");
  s.login = string_setting(d, "login");
  s.password = string_setting(d, "password");
  s.auth_token = string_setting(d, "auth_token");
  s.session_token = string_setting(d, "session_token");
  s.sudo_as_login = string_setting(d, "sudo_as_login");
  s.session_uuid = string_setting(d, "session_uuid");
  s.http_proxy = string_setting(d, "http_proxy");
  s.ca_file = string_setting(d, "ca_certs");
  s.convert_datetimes_to_utc = bool_setting(d, "convert_datetimes_to_utc", true);
  s.localized = bool_setting(d, "localized", false);
  // shotgun_api3's timeout_secs bounds every socket operation, connecting included.
  if (auto seconds = number_setting(d, "timeout_secs"); seconds && *seconds > 0) {
    const auto ms = std::chrono::milliseconds(static_cast<std::int64_t>(*seconds * 1000.0));
    s.connect_timeout = ms;
    s.request_timeout = ms;
  }
  if (auto ms = number_setting(d, "rpc_attempt_interval")) {
    s.rpc_attempt_interval = std::chrono::milliseconds(static_cast<std::int64_t>(*ms));
  }
  if (d.contains("extra_auth_params") && !d["extra_auth_params"].is_none()) {
    Value extra = to_value(d["extra_auth_params"]);
    if (!extra.is_dict()) throw py::type_error("extra_auth_params must be a dict");
    s.extra_auth_params = std::move(extra.as_dict());
  }
  if (d.contains("user_agent_extra")) {
    s.user_agent_extra = to_string_list(d["user_agent_extra"], "user_agent_extra");
  }
  return s;
}

List list_arg(py::handle object, const char* what) {
  if (object.is_none()) return {};
  Value value = to_value(object);
  if (!value.is_list()) throw py::type_error(std::string(what) + " must be a list");
  return std::move(value.as_list());
}

Dict dict_arg(py::handle object, const char* what) {
  if (object.is_none()) return {};
  Value value = to_value(object);
  if (!value.is_dict()) throw py::type_error(std::string(what) + " must be a dict");
  return std::move(value.as_dict());
}

sg::FindOptions find_options(py::handle fields, py::handle order, py::handle filter_operator,
                             bool retired_only, bool include_archived_projects,
                             py::handle presets) {
  sg::FindOptions o;
  o.fields = to_string_list(fields, "fields");
  o.order = list_arg(order, "order");
  o.filter_operator = to_string_arg(filter_operator, "filter_operator");
  o.retired_only = retired_only;
  o.include_archived_projects = include_archived_projects;
  o.additional_filter_presets = list_arg(presets, "additional_filter_presets");
  return o;
}

}  // namespace

PyClient::PyClient(const py::dict& settings) { reconfigure(settings); }

void PyClient::reconfigure(const py::dict& settings) {
  sg::ConnectionSettings parsed = parse_settings(settings);
  auto created = [&] {
    py::gil_scoped_release release;
    std::lock_guard lock(mutex_);
    auto client = sg::Client::create(std::move(parsed));
    if (client) client_.emplace(std::move(*client));
    return client.has_value() ? sg::Result<void>() : tl::unexpected(client.error());
  }();
  if (!created) throw ApiError{std::move(created.error()), server_};
  to_local_ = client_->settings().convert_datetimes_to_utc;
  server_ = client_->server();
}

template <typename F>
auto PyClient::run(F&& f) {
  auto result = [&] {
    py::gil_scoped_release release;
    std::lock_guard lock(mutex_);
    return f(*client_);
  }();
  if (!result) throw ApiError{std::move(result.error()), server_};
  if constexpr (!std::is_void_v<typename decltype(result)::value_type>) {
    return std::move(*result);
  }
}

py::object PyClient::to_python(const Value& value) const {
  return standin::to_python(value, to_local_);
}

// Dropping the client drops its connection; the next call opens a new one, as after
// shotgun_api3's close().
void PyClient::close() {
  py::gil_scoped_release release;
  std::lock_guard lock(mutex_);
  auto fresh = sg::Client::create(client_->settings());
  if (fresh) client_.emplace(std::move(*fresh));
}

void PyClient::connect() {
  run([](sg::Client& c) { return c.connect(); });
}

py::tuple PyClient::server_caps() {
  // The pointer stays valid while the client lives; copy what Python needs under the mutex.
  auto caps = run([](sg::Client& c) -> sg::Result<sg::ServerCapabilities> {
    auto got = c.server_caps();
    if (!got) return tl::unexpected(got.error());
    return **got;
  });
  py::list version;
  for (int part : caps.version) version.append(part);
  return py::make_tuple(py::tuple(version), caps.is_dev, caps.records_per_page,
                        to_python(Value(std::move(caps.info))));
}

std::string PyClient::server() const { return server_; }

py::object PyClient::info() {
  return to_python(Value(run([](sg::Client& c) { return c.info(); })));
}

py::object PyClient::find(const std::string& entity_type, py::handle filters, py::handle fields,
                          py::handle order, py::handle filter_operator, int limit,
                          bool retired_only, int page, bool include_archived_projects,
                          py::handle presets) {
  const Value wire_filters = to_value(filters);
  sg::FindOptions o = find_options(fields, order, filter_operator, retired_only,
                                   include_archived_projects, presets);
  o.limit = limit;
  o.page = page;
  return to_python(Value(run([&](sg::Client& c) { return c.find(entity_type, wire_filters, o); })));
}

py::object PyClient::find_one(const std::string& entity_type, py::handle filters, py::handle fields,
                              py::handle order, py::handle filter_operator, bool retired_only,
                              bool include_archived_projects, py::handle presets) {
  const Value wire_filters = to_value(filters);
  sg::FindOptions o = find_options(fields, order, filter_operator, retired_only,
                                   include_archived_projects, presets);
  return to_python(run([&](sg::Client& c) { return c.find_one(entity_type, wire_filters, o); }));
}

py::object PyClient::create(const std::string& entity_type, py::handle data,
                            py::handle return_fields) {
  const Dict fields = dict_arg(data, "data");
  const auto returned = to_string_list(return_fields, "return_fields");
  return to_python(run([&](sg::Client& c) { return c.create(entity_type, fields, returned); }));
}

py::object PyClient::update(const std::string& entity_type, std::int64_t entity_id, py::handle data,
                            py::handle multi_entity_update_modes) {
  const Dict fields = dict_arg(data, "data");
  const Dict modes = dict_arg(multi_entity_update_modes, "multi_entity_update_modes");
  return to_python(
      run([&](sg::Client& c) { return c.update(entity_type, entity_id, fields, modes); }));
}

py::object PyClient::delete_entity(const std::string& entity_type, std::int64_t entity_id) {
  return to_python(run([&](sg::Client& c) { return c.delete_entity(entity_type, entity_id); }));
}

py::object PyClient::revive(const std::string& entity_type, std::int64_t entity_id) {
  return to_python(run([&](sg::Client& c) { return c.revive(entity_type, entity_id); }));
}

py::object PyClient::batch(py::handle requests) {
  if (!PyList_Check(requests.ptr())) {
    throw ApiError{{sg::ErrorKind::kShotgunError,
                    "batch() expects a list.  Instead was sent a " +
                        py::repr(py::type::of(requests)).cast<std::string>(),
                    0,
                    0,
                    {}},
                   server_};
  }
  const List wire = list_arg(requests, "requests");
  return to_python(Value(run([&](sg::Client& c) { return c.batch(wire); })));
}

py::object PyClient::summarize(const std::string& entity_type, py::handle filters,
                               py::handle summary_fields, py::handle filter_operator,
                               py::handle grouping, bool include_archived_projects) {
  const Value wire_filters = to_value(filters);
  const List fields = list_arg(summary_fields, "summary_fields");
  sg::SummarizeOptions o;
  o.filter_operator = to_string_arg(filter_operator, "filter_operator");
  if (!grouping.is_none()) o.grouping = list_arg(grouping, "grouping");
  o.include_archived_projects = include_archived_projects;
  return to_python(
      run([&](sg::Client& c) { return c.summarize(entity_type, wire_filters, fields, o); }));
}

py::object PyClient::schema_read(py::handle project_entity) {
  const Value project = to_value(project_entity);
  return to_python(run([&](sg::Client& c) { return c.schema_read(project); }));
}

py::object PyClient::schema_field_read(const std::string& entity_type, py::handle field_name,
                                       py::handle project_entity) {
  const std::string field = to_string_arg(field_name, "field_name");
  const Value project = to_value(project_entity);
  return to_python(
      run([&](sg::Client& c) { return c.schema_field_read(entity_type, field, project); }));
}

py::object PyClient::schema_entity_read(py::handle project_entity) {
  const Value project = to_value(project_entity);
  return to_python(run([&](sg::Client& c) { return c.schema_entity_read(project); }));
}

py::object PyClient::text_search(const std::string& text, py::handle entity_types,
                                 py::handle project_ids, py::handle limit) {
  const Dict types = dict_arg(entity_types, "entity_types");
  const List projects = list_arg(project_ids, "project_ids");
  std::optional<int> max;
  if (!limit.is_none()) max = limit.cast<int>();
  return to_python(run([&](sg::Client& c) { return c.text_search(text, types, projects, max); }));
}

std::string PyClient::get_session_token() {
  return run([](sg::Client& c) { return c.get_session_token(); });
}

void PyClient::set_session_uuid(py::handle session_uuid) {
  std::string uuid = to_string_arg(session_uuid, "session_uuid");
  py::gil_scoped_release release;
  std::lock_guard lock(mutex_);
  client_->set_session_uuid(std::move(uuid));
}

py::object PyClient::call(const std::string& method_name, py::handle params) {
  const Value wire = to_value(params);
  return to_python(run([&](sg::Client& c) { return c.call(method_name, wire); }));
}

}  // namespace sgeventd::standin
