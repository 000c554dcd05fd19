// How fast a 500-event EventLogEntry page (the daemon's poll answer) decodes into Values:
// status check, JSON parse, datetime conversion, "results" unwrapping. Prints JSON.
// Run by hand: build/bin/bench_decode_event_page [pages]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sg/response.h"
#include "sgeventd/json.h"

namespace {

using namespace sgeventd;

// A page shaped like a real site's: status changes, creations with in_create changes,
// multi-entity changes with added/removed, retirements (sg-protocol.md section 11).
std::string event_page(int count) {
  List entities;
  for (int i = 0; i < count; ++i) {
    const int id = 2011530 + i;
    Dict event{{"type", "EventLogEntry"},
               {"id", id},
               {"created_at", "2015-07-09T19:33:37Z"},
               {"project", Dict{{"id", 66}, {"name", "Testing Sandbox"}, {"type", "Project"}}},
               {"user", Dict{{"id", 42}, {"name", "Ford Escort"}, {"type", "HumanUser"}}},
               {"session_uuid", "e8b61250-f31b-11e8-bb75-0242ac110004"}};
    switch (i % 4) {
      case 0:
        event.append("event_type", "Shotgun_Task_Change");
        event.append("attribute_name", "sg_status_list");
        event.append("entity", Dict{{"id", 11793}, {"name", "Art"}, {"type", "Task"}});
        event.append("meta", Dict{{"type", "attribute_change"},
                                  {"attribute_name", "sg_status_list"},
                                  {"entity_type", "Task"},
                                  {"entity_id", 11793},
                                  {"field_data_type", "status_list"},
                                  {"old_value", "fin"},
                                  {"new_value", "wtg"}});
        break;
      case 1:
        event.append("event_type", "Shotgun_Task_New");
        event.append("attribute_name", nullptr);
        event.append("entity", Dict{{"id", 67378}, {"name", "something"}, {"type", "Task"}});
        event.append("meta",
                     Dict{{"type", "new_entity"}, {"entity_type", "Task"}, {"entity_id", 67378}});
        break;
      case 2:
        event.append("event_type", "Shotgun_Task_Change");
        event.append("attribute_name", "task_assignees");
        event.append("entity", Dict{{"id", 28786}, {"name", "Anim"}, {"type", "Task"}});
        event.append(
            "meta",
            Dict{{"type", "attribute_change"},
                 {"attribute_name", "task_assignees"},
                 {"entity_type", "Task"},
                 {"entity_id", 28786},
                 {"field_data_type", "multi_entity"},
                 {"added", List{Dict{{"type", "HumanUser"},
                                     {"id", 7},
                                     {"name", "A B"},
                                     {"status", "act"},
                                     {"valid", "valid"}}}},
                 {"removed",
                  List{Dict{
                      {"type", "HumanUser"}, {"id", 1}, {"status", "act"}, {"valid", "valid"}}}}});
        break;
      default:
        event.append("event_type", "Shotgun_Task_Retirement");
        event.append("attribute_name", nullptr);
        event.append("entity", nullptr);
        event.append("meta", Dict{{"type", "entity_retirement"},
                                  {"entity_type", "Task"},
                                  {"entity_id", 67531},
                                  {"id", 67531},
                                  {"class_name", "Task"},
                                  {"display_name", "another to delete"},
                                  {"retirement_date", "2015-07-13 22:32:35 UTC"}});
    }
    entities.push_back(std::move(event));
  }
  return to_json(Dict{{"results", Dict{{"entities", std::move(entities)},
                                       {"paging_info", Dict{{"has_next_page", true}}}}}});
}

}  // namespace

int main(int argc, char** argv) {
  const int pages = argc > 1 ? std::atoi(argv[1]) : 2000;
  sg::HttpResponse response;
  response.status = 200;
  response.headers.emplace_back("content-type", "application/json; charset=utf-8");
  response.body = event_page(500);

  std::size_t checksum = 0;
  for (int i = 0; i < 20; ++i) (void)sg::decode_response(response);  // warm up
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < pages; ++i) {
    auto decoded = sg::decode_response(response);
    if (!decoded) {
      std::fprintf(stderr, "decode failed: %s\n", decoded.error().message.c_str());
      return 1;
    }
    checksum += (*decoded)["entities"].as_list().size();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "{\"benchmark\": \"decode_event_page\", \"events_per_page\": 500, \"page_bytes\": %zu, "
      "\"pages\": %d, \"seconds\": %.3f, \"pages_per_second\": %.1f, "
      "\"events_per_second\": %.0f, \"megabytes_per_second\": %.1f, \"checksum\": %zu}\n",
      response.body.size(), pages, seconds, pages / seconds, pages * 500 / seconds,
      static_cast<double>(response.body.size()) * pages / seconds / 1e6, checksum);
  return 0;
}
