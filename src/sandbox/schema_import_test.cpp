// A studio's schema loaded from the files of tests/fixtures/schema (made by its
// make_schema_fixture.py in the formats mockgun and `sgeventd schema dump` write).
#include "sandbox/schema_import.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "sgeventd/json.h"

namespace sgeventd::sandbox {
namespace {

const std::string kFixtures = SGEVENTD_SCHEMA_FIXTURE_DIR;

bool warned(const ImportedSchema& s, const std::string& text) {
  return std::any_of(s.warnings.begin(), s.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

void expect_studio_schema(const ImportedSchema& s) {
  const Schema& schema = s.schema;
  // Only the studio's types, plus what the sandbox cannot run without.
  std::vector<std::string> types;
  for (const auto& [name, e] : schema.entities()) types.push_back(name);
  EXPECT_EQ(types, (std::vector<std::string>{"ApiUser", "CustomEntity01", "EventLogEntry",
                                             "HumanUser", "Project", "Shot", "Step", "Task"}));
  EXPECT_TRUE(warned(s, "ApiUser is not in the schema"));
  EXPECT_TRUE(warned(s, "EventLogEntry is not in the schema"));
  EXPECT_EQ(schema.entity("CustomEntity01")->display_name, "Episode");
  EXPECT_EQ(schema.entity("HumanUser")->display_name, "Person");
  EXPECT_EQ(schema.entity("CustomEntity01")->display_field, "code");
  EXPECT_EQ(schema.entity("Task")->display_field, "content");

  const FieldDef* status = *schema.field("Shot", "sg_status_list");
  EXPECT_EQ(status->type, FieldType::kStatusList);
  EXPECT_EQ(status->display_name, "Status");
  EXPECT_EQ(status->valid_values,
            (std::vector<std::string>{"wtg", "rdy", "ip", "fin", "hld", "omt"}));
  EXPECT_EQ(status->default_value, Value("wtg"));
  const FieldDef* link = *schema.field("Task", "entity");
  EXPECT_EQ(link->type, FieldType::kEntity);
  EXPECT_EQ(link->valid_types, (std::vector<std::string>{"Shot", "CustomEntity01"}));
  // The starter's mirror of Task.entity survives where the studio has both sides.
  EXPECT_EQ(link->reverse_field, "tasks");
  EXPECT_EQ((*schema.field("Shot", "sg_fps"))->default_value, Value(24.0));
  EXPECT_FALSE((*schema.field("Shot", "id"))->editable);
  // A text field's "" default is no default.
  EXPECT_TRUE((*schema.field("Shot", "code"))->default_value.is_null());

  // Data types a site has and the sandbox does not: text, said, and said back by schema_read.
  const FieldDef* cost = *schema.field("Shot", "sg_bid_cost");
  EXPECT_EQ(cost->type, FieldType::kText);
  EXPECT_EQ(Schema::field_schema(*cost)["data_type"]["value"], Value("currency"));
  EXPECT_TRUE(warned(s, "Shot.sg_bid_cost: data type 'currency' is not emulated: kept as text"));
  EXPECT_TRUE(warned(s, "Task.sg_timecode: data type 'timecode'"));
  EXPECT_TRUE(warned(s, "Step.entity_type: data type 'entity_type'"));
  // A field of the starter's the studio does not have is not there.
  EXPECT_FALSE(schema.field("Shot", "sg_sequence"));
  // The accounts keep what the sandbox's logins need.
  EXPECT_TRUE(schema.field("ApiUser", "firstname"));
  EXPECT_TRUE(schema.field("EventLogEntry", "meta"));
}

TEST(SchemaImport, MockgunsPicklePair) {
  auto s = load_schema(kFixtures + "/schema.pickle", kFixtures + "/schema_entity.pickle");
  ASSERT_TRUE(s) << s.error();
  expect_studio_schema(*s);
}

TEST(SchemaImport, TheJsonSgeventdApiPrints) {
  auto s = load_schema(kFixtures + "/schema.json", kFixtures + "/schema_entity.json");
  ASSERT_TRUE(s) << s.error();
  expect_studio_schema(*s);
}

TEST(SchemaImport, AFolderFindsBothFiles) {
  auto s = load_schema(kFixtures);
  ASSERT_TRUE(s) << s.error();
  expect_studio_schema(*s);
  EXPECT_FALSE(warned(*s, "no schema_entity_read file"));
}

TEST(SchemaImport, WithoutTheEntityFileDisplayNamesFallBack) {
  auto s = load_schema(kFixtures + "/schema.json");
  ASSERT_TRUE(s) << s.error();
  EXPECT_TRUE(warned(*s, "no schema_entity_read file"));
  EXPECT_EQ(s->schema.entity("CustomEntity01")->display_name, "CustomEntity01");
  EXPECT_EQ(s->schema.entity("Shot")->display_name, "Shot");
}

TEST(SchemaImport, TheWireAnswerWithItsResultsWrapperIsReadToo) {
  auto s = schema_from_api(
      Value(Dict{{"results",
                  Dict{{"Shot", Dict{{"code", Dict{{"data_type", Dict{{"value", "text"}}}}}}}}}}),
      Value());
  ASSERT_TRUE(s) << s.error();
  EXPECT_TRUE(s->schema.field("Shot", "code"));
  EXPECT_TRUE(s->schema.field("Shot", "created_at"));  // what every entity has
}

TEST(SchemaImport, FilesThatAreNotASchemaSaySo) {
  auto swapped = load_schema(kFixtures + "/schema_entity.json");
  ASSERT_FALSE(swapped);
  EXPECT_NE(swapped.error().find("schema_entity_read answer"), std::string::npos)
      << swapped.error();

  const auto dir = std::filesystem::temp_directory_path() / "sgeventd-schema-import-test";
  std::filesystem::create_directories(dir);
  const auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream(dir / name, std::ios::binary) << bytes;
    return (dir / name).string();
  };
  auto garbage = load_schema(write("garbage", "not json"));
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().find("neither JSON nor a pickle"), std::string::npos)
      << garbage.error();
  auto list = load_schema(write("list.json", "[1, 2]"));
  ASSERT_FALSE(list);
  EXPECT_NE(list.error().find("not a schema_read answer"), std::string::npos) << list.error();
  // A pickle that would run code is refused before anything is read.
  auto evil = load_schema(write("evil.pickle", std::string("\x80\x02"
                                                           "cos\nsystem\n",
                                                           13)));
  ASSERT_FALSE(evil);
  EXPECT_NE(evil.error().find("refusing"), std::string::npos) << evil.error();
  auto missing = load_schema((dir / "nothing-here").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("cannot be read"), std::string::npos) << missing.error();
  auto empty_dir = load_schema(dir.string());
  ASSERT_FALSE(empty_dir);
  EXPECT_NE(empty_dir.error().find("neither schema.json nor schema.pickle"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sgeventd::sandbox
