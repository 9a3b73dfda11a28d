#include <gtest/gtest.h>

#include "tool_runner.hpp"

namespace p2panda::apps::test {
namespace {

// Replaces the value following `option` in `args`.
std::vector<std::string> with(std::vector<std::string> args, const std::string& option,
                              const std::string& value) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == option) args[i + 1] = value;
  }
  return args;
}

std::vector<std::string> plus(std::vector<std::string> args, std::vector<std::string> more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(OpSign, ReproducesVectorB3) {
  const ToolRun run = run_tool(b3_sign_args());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.err.empty()) << run.err;
  ASSERT_EQ(run.out.find('\n'), run.out.size() - 1) << "one line of JSON";
  const auto json = run.json();
  ASSERT_TRUE(json.is_object()) << run.out;
  EXPECT_EQ(json.size(), 3u);
  EXPECT_EQ(json["header"], kB3Header);
  EXPECT_EQ(json["header"].get<std::string>().substr(0, 4), "8701");
  EXPECT_EQ(json["id"], kB3Id);
  EXPECT_EQ(json["body"], kB3Body);
}

TEST(OpSign, ReproducesVectorB3PruneSuccessor) {
  const ToolRun run = run_tool(b3_prune_sign_args());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.err.empty()) << run.err;
  const auto json = run.json();
  EXPECT_EQ(json["header"], kB3PruneHeader);
  EXPECT_EQ(json["id"], kB3PruneId);
  EXPECT_TRUE(json["body"].is_null());
}

TEST(OpSign, KeyMayBeAKeyFile) {
  TempDir dir;
  write_file(dir.file("seed"), kSeed + "\n");
  const ToolRun run = run_tool(with(b3_sign_args(), "--key", dir.file("seed")));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.json()["id"], kB3Id);
}

TEST(OpSign, BodyFileMatchesBodyHex) {
  TempDir dir;
  write_file(dir.file("body"), "mHello, Panda!");  // the CBOR text "Hello, Panda!"
  std::vector<std::string> args = b3_sign_args();
  args.resize(args.size() - 2);  // drop --body-hex
  const ToolRun run = run_tool(plus(args, {"--body-file", dir.file("body")}));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.json()["id"], kB3Id);
  EXPECT_EQ(run.json()["body"], kB3Body);
}

TEST(OpSign, WarnsButSignsAnOperationThatBreaksARule) {
  const ToolRun run = run_tool(with(b3_sign_args(), "--seq", "1"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("BacklinkMissing"), std::string::npos) << run.err;
  EXPECT_TRUE(run.json()["header"].is_string());
}

TEST(OpSign, RejectsBadArguments) {
  const std::vector<std::vector<std::string>> cases = {
      with(b3_sign_args(), "--topic", "00"),
      with(b3_sign_args(), "--topic", std::string(64, 'g')),
      with(b3_sign_args(), "--seq", "4294967296"),
      with(b3_sign_args(), "--seq", "-1"),
      with(b3_sign_args(), "--seq", "1x"),
      with(b3_sign_args(), "--seq", ""),
      with(b3_sign_args(), "--timestamp", "18446744073709551616"),
      with(b3_sign_args(), "--body-hex", "abc"),
      with(b3_sign_args(), "--key", kSeed.substr(2)),  // not a seed, so a (missing) file
      plus(b3_sign_args(), {"--backlink", kB3Id.substr(2)}),
      plus(b3_sign_args(), {"--body-file", "/dev/null"}),
      {"op", "sign", "--key", kSeed, "--topic", kZeroTopic, "--seq", "0"},  // no --timestamp
  };
  for (const auto& args : cases) {
    const ToolRun run = run_tool(args);
    std::string line;
    for (const auto& arg : args) line += arg + " ";
    EXPECT_EQ(run.exit_code, 2) << line;
    EXPECT_TRUE(run.out.empty()) << line << "\n" << run.out;
    EXPECT_FALSE(run.err.empty()) << line;
  }
}

TEST(OpSign, AcceptsTheLargestSeqNum) {
  const ToolRun run =
      run_tool(plus(with(b3_sign_args(), "--seq", "4294967295"), {"--backlink", kB3Id}));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.err.empty()) << run.err;
}

}  // namespace
}  // namespace p2panda::apps::test
