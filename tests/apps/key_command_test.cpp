#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "tool_runner.hpp"

namespace p2panda::apps::test {
namespace {

bool is_lower_hex(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
  });
}

TEST(KeyCommand, GenerateWithoutOutPrintsAFreshSeed) {
  const ToolRun first = run_tool({"key", "generate"});
  const ToolRun second = run_tool({"key", "generate"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_EQ(first.out.size(), 65u);
  EXPECT_EQ(first.out.back(), '\n');
  EXPECT_TRUE(is_lower_hex(first.out.substr(0, 64))) << first.out;
  EXPECT_NE(first.out, second.out);
}

TEST(KeyCommand, GenerateThenShowRoundTrips) {
  TempDir dir;
  const std::string key_file = dir.file("node.key");
  const ToolRun generated = run_tool({"key", "generate", "--out", key_file});
  ASSERT_EQ(generated.exit_code, 0) << generated.err;
  ASSERT_EQ(generated.out.size(), 65u);
  EXPECT_TRUE(is_lower_hex(generated.out.substr(0, 64)));

  const std::string seed = read_file(key_file);
  ASSERT_EQ(seed.size(), 65u);
  EXPECT_EQ(seed.back(), '\n');
  EXPECT_TRUE(is_lower_hex(seed.substr(0, 64)));
  struct stat info {};
  ASSERT_EQ(::stat(key_file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  const ToolRun shown = run_tool({"key", "show", key_file});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.out, generated.out);
}

TEST(KeyCommand, GenerateNeverOverwritesAKeyFile) {
  TempDir dir;
  const std::string key_file = dir.file("node.key");
  write_file(key_file, kSeed + "\n");
  const ToolRun run = run_tool({"key", "generate", "--out", key_file});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("node.key"), std::string::npos) << run.err;
  EXPECT_EQ(read_file(key_file), kSeed + "\n");
}

TEST(KeyCommand, ShowTrimsWhitespaceAndDerivesTheKnownPublicKey) {
  TempDir dir;
  write_file(dir.file("seed"), "  \n" + kSeed + " \r\n\n");
  const ToolRun run = run_tool({"key", "show", dir.file("seed")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, kPublicKey + "\n");
}

TEST(KeyCommand, ShowRejectsMissingFile) {
  TempDir dir;
  const ToolRun run = run_tool({"key", "show", dir.file("absent")});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(run.out.empty());
  EXPECT_NE(run.err.find("absent"), std::string::npos) << run.err;
}

TEST(KeyCommand, ShowRejectsBadHexAndWrongLength) {
  TempDir dir;
  write_file(dir.file("bad"), "not a key\n");
  write_file(dir.file("short"), kSeed.substr(0, 62) + "\n");
  const ToolRun bad = run_tool({"key", "show", dir.file("bad")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("InvalidHex"), std::string::npos) << bad.err;
  const ToolRun short_seed = run_tool({"key", "show", dir.file("short")});
  EXPECT_EQ(short_seed.exit_code, 2);
  EXPECT_NE(short_seed.err.find("InvalidLength"), std::string::npos) << short_seed.err;
}

TEST(KeyCommand, ShowNeedsAFile) {
  EXPECT_EQ(run_tool({"key", "show"}).exit_code, 2);
  EXPECT_EQ(run_tool({"key"}).exit_code, 2);
}

TEST(Tool, HelpAndVersionExitZero) {
  const ToolRun help = run_tool({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("key"), std::string::npos);
  EXPECT_NE(help.out.find("op"), std::string::npos);
  const ToolRun version = run_tool({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("p2panda ", 0), 0u) << version.out;
}

TEST(Tool, UsageErrorsExitTwo) {
  EXPECT_EQ(run_tool({}).exit_code, 2);
  EXPECT_EQ(run_tool({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(run_tool({"key", "generate", "--bogus"}).exit_code, 2);
}

}  // namespace
}  // namespace p2panda::apps::test
