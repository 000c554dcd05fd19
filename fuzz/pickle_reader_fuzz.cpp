// Fuzz target: any bytes at the state path (shotgunEvents' pickle, or its older text form) must
// unpickle to a well-formed graph or a typed error, never crash, hang, leak or run anything;
// and what the state importer builds on top of the graph must hold together too.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sgeventd/state/state_batch.h"
#include "state/legacy_state.h"
#include "value/pickle_reader.h"

namespace {

using sgeventd::pickle::Graph;
using sgeventd::pickle::Object;

// Every index a graph holds points into it, and every datetime has possible fields.
void check_graph(const Graph& g) {
  const std::size_t n = g.objects.size();
  if (n == 0 || g.root >= n) std::abort();
  if (g.protocol < 2 || g.protocol > 5) std::abort();
  for (const Object& o : g.objects) {
    for (std::size_t i : o.items) {
      if (i >= n) std::abort();
    }
    for (const auto& [k, v] : o.entries) {
      if (k >= n || v >= n) std::abort();
    }
    if (o.type == Object::Type::kDateTime) {
      const auto& t = o.datetime;
      if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour < 0 || t.hour > 23 ||
          t.minute < 0 || t.minute > 59 || t.second < 0 || t.second > 59 || t.microsecond < 0 ||
          t.microsecond > 999999) {
        std::abort();
      }
    }
    (void)Object::type_name(o.type);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sgeventd::state;
  namespace pickle = sgeventd::pickle;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  auto graph = pickle::unpickle(bytes);
  if (graph) {
    check_graph(*graph);
    (void)pickle::to_value(*graph);  // schema pickles: bounded even for shared references
    if (!pickle::looks_like_pickle(bytes)) std::abort();
  }
  // A tight object limit is an error, never a different graph.
  auto small = pickle::unpickle(bytes, {.max_objects = 16});
  if (small) {
    if (!graph || small->objects.size() != graph->objects.size() || small->root != graph->root) {
      std::abort();
    }
  }

  // What `sgeventd` does with the file: parse the state, then turn it into store operations.
  (void)looks_like_legacy_state(bytes);
  auto state = parse_legacy_state(bytes);
  if (pickle::looks_like_pickle(bytes) && !graph && state) std::abort();
  if (state) {
    StateBatch batch;
    (void)add_legacy_import(*state, LegacyImportOptions{}, batch);
  }
  return 0;
}
