// `sgeventd schema dump --out DIR`: a site's schema, read once (read-only), in the files
// `sgeventd sandbox --schema DIR` loads and mockgun reads:
//   schema.json, schema_entity.json       schema_read and schema_entity_read, as `api` prints
//   schema.pickle, schema_entity.pickle   the same, pickled as mockgun's generate_schema does
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/site_flags.h"
#include "sgeventd/json.h"
#include "value/pickle_writer.h"

namespace sgeventd::cli {
namespace {

struct DumpOptions {
  SiteFlags site;
  std::string out;
};

// Written beside the final name and renamed over it, so an interrupted dump never leaves a
// half file that a later --schema would read.
bool write_file(const std::filesystem::path& path, const std::string& bytes, std::string& error) {
  const std::filesystem::path temp = path.string() + ".partial";
  {
    std::ofstream f(temp, std::ios::binary | std::ios::trunc);
    f << bytes;
    f.flush();
    if (!f) {
      error = "cannot write " + temp.string();
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    error = "cannot rename " + temp.string() + ": " + ec.message();
    return false;
  }
  return true;
}

int run_dump(const DumpOptions& o) {
  const auto fail = [](int code, const std::string& message) {
    std::cerr << "sgeventd schema dump: " << message << "\n";
    return code;
  };
  auto client = connect_site(o.site);
  if (!client) return fail(client.error().exit_code, client.error().message);
  auto fields = client->schema_read();
  if (!fields) return fail(kExitFailure, "schema_read: " + fields.error().describe());
  auto entities = client->schema_entity_read();
  if (!entities) return fail(kExitFailure, "schema_entity_read: " + entities.error().describe());

  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec) return fail(kExitFailure, "cannot make " + o.out + ": " + ec.message());
  const std::filesystem::path dir(o.out);
  std::string error;
  for (const auto& [name, answer] :
       {std::pair{"schema", &*fields}, {"schema_entity", &*entities}}) {
    auto pickled = pickle::pickle_value(*answer);
    if (!pickled) return fail(kExitFailure, std::string(name) + ": " + pickled.error());
    if (!write_file(dir / (std::string(name) + ".json"),
                    to_json(*answer, {.style = JsonStyle::Pretty}) + "\n", error) ||
        !write_file(dir / (std::string(name) + ".pickle"), *pickled, error)) {
      return fail(kExitFailure, error);
    }
  }
  std::size_t field_count = 0;
  if (const Dict* types = fields->if_dict()) {
    for (const auto& [type, defs] : *types) {
      if (const Dict* d = defs.if_dict()) field_count += d->size();
    }
  }
  std::cout << "wrote " << (dir / "schema.json").string() << ", schema_entity.json, "
            << "schema.pickle and schema_entity.pickle: "
            << (fields->if_dict() ? fields->as_dict().size() : 0) << " entity types, "
            << field_count << " fields\n";
  return kExitOk;
}

}  // namespace

void add_schema_command(CLI::App& app, Runner& run) {
  auto* schema = app.add_subcommand("schema", "Work with a site's schema (see `schema dump`).");
  schema->require_subcommand(1);
  auto o = std::make_shared<DumpOptions>();
  auto* dump = schema->add_subcommand(
      "dump",
      "Read a site's schema (schema_read and schema_entity_read; read-only) into DIR as JSON "
      "and as the pickle pair mockgun reads. `sgeventd sandbox --schema DIR` (or [sandbox] "
      "schema) then runs a sandbox with the studio's entity types and fields.");
  dump->add_option("--out", o->out, "folder to write (made if missing; files replaced)")
      ->required();
  add_site_flags(*dump, o->site, /*writes=*/false);
  dump->footer(std::string("Example:\n"
                           "  sgeventd schema dump -c shotgunEventDaemon.conf --out schema/\n"
                           "  sgeventd sandbox --schema schema/\n") +
               kSiteFlagsFooter +
               "\nExit status: 0 ok, 1 the site or a file failed, 2 bad "
               "arguments.");
  dump->callback([&run, o] { run = [o] { return run_dump(*o); }; });
}

}  // namespace sgeventd::cli
