// PostgreSQL for the state tests: the test run's server (tests/support/pg_server.sh, started by
// a ctest fixture, or here on first use when a test binary runs alone) and a database of this
// test process on it, dropped when the process ends.
#pragma once

#include <string>

namespace sgeventd::state::testing {

// The libpq URL of this process's own database (made on first call). A server that cannot be
// started fails the calling test (never a skip): the suite needs Debian's postgresql package.
const std::string& test_database_url();

// Another database of this process, made empty on the call (a test that needs no tables yet).
std::string fresh_database_url(const std::string& tag);

// The server's folder (its socket is there) and the script that runs it.
std::string test_server_dir();
std::string test_server_script();

// A name no other call in this process returns: one state per test in a shared database.
std::string unique_state_name(const std::string& stem);

}  // namespace sgeventd::state::testing
