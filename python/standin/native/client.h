// The Python-facing wrapper around one sg::Client: arguments converted with the GIL held, the
// request made with the GIL released, the answer converted back with the GIL held.
//
// sg::Client is not thread-safe, but Python code may share a Shotgun object between threads
// (shotgun_api3 tolerates it badly, but it does not crash): a mutex serialises calls. The GIL
// is always released before the mutex is taken, so a thread waiting for another's request
// never blocks the interpreter.
#pragma once

#include <pybind11/pybind11.h>

#include <mutex>
#include <optional>

#include "sgeventd/sg/client.h"

namespace sgeventd::standin {

namespace py = pybind11;

// What a failed call throws inside the module; the module's translator raises the matching
// shotgun_api3 exception (never seen by other C++ code).
struct ApiError {
  sg::Error error;
  std::string server;
};

class PyClient {
 public:
  // settings: the Python layer's dict (base_url, script_name, api_key, login, password,
  // auth_token, session_token, sudo_as_login, session_uuid, http_proxy, ca_certs,
  // convert_datetimes_to_utc, timeout_secs, rpc_attempt_interval, localized,
  // extra_auth_params, user_agent_extra). Raises ValueError as shotgun_api3's constructor.
  explicit PyClient(const py::dict& settings);

  // Applies the same keys again to a fresh client (config changes, close()).
  void reconfigure(const py::dict& settings);
  void close();
  void connect();
  py::tuple server_caps();
  std::string server() const;

  py::object info();
  py::object find(const std::string& entity_type, py::handle filters, py::handle fields,
                  py::handle order, py::handle filter_operator, int limit, bool retired_only,
                  int page, bool include_archived_projects, py::handle presets);
  py::object find_one(const std::string& entity_type, py::handle filters, py::handle fields,
                      py::handle order, py::handle filter_operator, bool retired_only,
                      bool include_archived_projects, py::handle presets);
  py::object create(const std::string& entity_type, py::handle data, py::handle return_fields);
  py::object update(const std::string& entity_type, std::int64_t entity_id, py::handle data,
                    py::handle multi_entity_update_modes);
  py::object delete_entity(const std::string& entity_type, std::int64_t entity_id);
  py::object revive(const std::string& entity_type, std::int64_t entity_id);
  py::object batch(py::handle requests);
  py::object summarize(const std::string& entity_type, py::handle filters,
                       py::handle summary_fields, py::handle filter_operator, py::handle grouping,
                       bool include_archived_projects);
  py::object schema_read(py::handle project_entity);
  py::object schema_field_read(const std::string& entity_type, py::handle field_name,
                               py::handle project_entity);
  py::object schema_entity_read(py::handle project_entity);
  py::object text_search(const std::string& text, py::handle entity_types, py::handle project_ids,
                         py::handle limit);
  std::string get_session_token();
  void set_session_uuid(py::handle session_uuid);
  py::object call(const std::string& method_name, py::handle params);

 private:
  // Runs f(client) without the GIL, under the mutex, and returns its Result's value or throws
  // ApiError.
  template <typename F>
  auto run(F&& f);
  py::object to_python(const Value& value) const;

  std::optional<sg::Client> client_;
  std::string server_;    // for error messages; set with the client
  bool to_local_ = true;  // convert_datetimes_to_utc: answers' datetimes in local time
  std::mutex mutex_;
};

}  // namespace sgeventd::standin
