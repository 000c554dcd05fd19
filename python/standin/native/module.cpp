// shotgun_api3._sgeventd: the C++ api3 client for the stand-in's Python layer
// (python/standin/shotgun_api3/shotgun.py), which owns names, signatures and exception
// classes; this module only moves values and releases the GIL around network I/O.
#include <pybind11/pybind11.h>

#include "client.h"
#include "convert.h"

namespace py = pybind11;
using sgeventd::standin::ApiError;
using sgeventd::standin::PyClient;

namespace {

// shotgun_api3.errors.from_native(kind, message, error_code, http_status, server, headers):
// builds the exception instance. Kept for the interpreter's lifetime.
PyObject* g_make_error = nullptr;

// Runs in pybind11's exception translator, with the GIL held.
void raise_api_error(const ApiError& e) {
  if (!g_make_error) {
    PyErr_SetString(PyExc_RuntimeError, e.error.describe().c_str());
    return;
  }
  try {
    py::list headers;
    for (const auto& [name, value] : e.error.headers) headers.append(py::make_tuple(name, value));
    py::object error = py::reinterpret_borrow<py::object>(g_make_error)(
        sgeventd::sg::kind_name(e.error.kind), e.error.message, e.error.error_code,
        e.error.http_status, e.server, headers);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
  } catch (py::error_already_set& failed) {
    failed.restore();
  }
}

}  // namespace

PYBIND11_MODULE(_sgeventd, m) {
  m.doc() = "sgeventd's C++ api3 client, for the shotgun_api3 stand-in";

  m.def(
      "_init",
      [](py::object local_timezone, py::object make_error) {
        sgeventd::standin::init_conversions(std::move(local_timezone));
        PyObject* previous = g_make_error;
        g_make_error = make_error.release().ptr();
        Py_XDECREF(previous);
      },
      py::arg("local_timezone"), py::arg("make_error"));

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ApiError& e) {
      raise_api_error(e);
    }
  });

  // Arguments are positional: the Python layer has already applied shotgun_api3's names and
  // defaults.
  py::class_<PyClient>(m, "Client")
      .def(py::init<const py::dict&>())
      .def("reconfigure", &PyClient::reconfigure)
      .def("close", &PyClient::close)
      .def("connect", &PyClient::connect)
      .def("server_caps", &PyClient::server_caps)
      .def_property_readonly("server", &PyClient::server)
      .def("info", &PyClient::info)
      .def("find", &PyClient::find)
      .def("find_one", &PyClient::find_one)
      .def("create", &PyClient::create)
      .def("update", &PyClient::update)
      .def("delete", &PyClient::delete_entity)
      .def("revive", &PyClient::revive)
      .def("batch", &PyClient::batch)
      .def("summarize", &PyClient::summarize)
      .def("schema_read", &PyClient::schema_read)
      .def("schema_field_read", &PyClient::schema_field_read)
      .def("schema_entity_read", &PyClient::schema_entity_read)
      .def("text_search", &PyClient::text_search)
      .def("get_session_token", &PyClient::get_session_token)
      .def("set_session_uuid", &PyClient::set_session_uuid)
      .def("call", &PyClient::call);
}
