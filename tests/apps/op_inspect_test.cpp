#include <gtest/gtest.h>

#include <p2panda/operation.hpp>

#include "tool_runner.hpp"

namespace p2panda::apps::test {
namespace {

// A4.1 from the vectors: a valid p2panda-core header, but without Node API extensions.
const std::string kHeaderWithoutExtensions =
    "85015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b51620584011815a20d4e04a"
    "8ddb52a02313cd5237f7cc799980cb7b666c5a3c17dfb0fb9af383b1368ed200e77d5ace1cf025b358c8f6b931"
    "f687f285807f16761766160200 00";

bool starts_with(const nlohmann::json& value, const std::string& prefix) {
  return value.is_string() && value.get<std::string>().rfind(prefix, 0) == 0;
}

void expect_all_keys(const nlohmann::json& json) {
  for (const char* key : {"valid", "error", "id", "version", "public_key", "signature",
                          "payload_size", "payload_hash", "seq_num", "backlink", "extensions"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
}

TEST(OpInspect, DescribesVectorB3) {
  const ToolRun run = run_tool({"op", "inspect", kB3Header, "--body-hex", kB3Body});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  ASSERT_EQ(run.out.find('\n'), run.out.size() - 1) << "one line of JSON";
  const auto json = run.json();
  expect_all_keys(json);
  EXPECT_EQ(json["valid"], true);
  EXPECT_TRUE(json["error"].is_null());
  EXPECT_EQ(json["id"], kB3Id);
  EXPECT_EQ(json["version"], 1);
  EXPECT_EQ(json["public_key"], kPublicKey);
  EXPECT_EQ(json["signature"], kB3Signature);
  EXPECT_EQ(json["payload_size"], 14);
  EXPECT_EQ(json["payload_hash"], kB3PayloadHash);
  EXPECT_EQ(json["seq_num"], 0);
  EXPECT_TRUE(json["backlink"].is_null());
  EXPECT_EQ(json["extensions"]["log_id"], kLogId);
  EXPECT_EQ(json["extensions"]["timestamp"].get<std::uint64_t>(), 1700000000000000u);
  EXPECT_EQ(json["extensions"]["prune"], false);
}

TEST(OpInspect, AcceptsAHeaderWithoutItsBody) {
  const ToolRun run = run_tool({"op", "inspect", kB3Header});
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_EQ(run.json()["valid"], true);
}

TEST(OpInspect, DescribesThePruneSuccessor) {
  const ToolRun run = run_tool({"op", "inspect", kB3PruneHeader});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const auto json = run.json();
  EXPECT_EQ(json["valid"], true);
  EXPECT_EQ(json["id"], kB3PruneId);
  EXPECT_EQ(json["seq_num"], 1);
  EXPECT_EQ(json["backlink"], kB3Id);
  EXPECT_EQ(json["payload_size"], 0);
  EXPECT_TRUE(json["payload_hash"].is_null());
  EXPECT_EQ(json["extensions"]["timestamp"].get<std::uint64_t>(), 1700000000000001u);
  EXPECT_EQ(json["extensions"]["prune"], true);
}

TEST(OpInspect, ReadsTheHeaderFromStdin) {
  const ToolRun run =
      run_tool({"op", "inspect", "-", "--body-hex", kB3Body}, "\n " + kB3Header + "\n");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.json()["id"], kB3Id);
}

TEST(OpInspect, ReadsTheBodyFromAFile) {
  TempDir dir;
  write_file(dir.file("body"), "mHello, Panda!");
  const ToolRun run = run_tool({"op", "inspect", kB3Header, "--body-file", dir.file("body")});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
}

TEST(OpInspect, TamperedBodyBreaksThePayloadHash) {
  std::string body = kB3Body;
  body.back() = '2';  // same length, different bytes
  const ToolRun run = run_tool({"op", "inspect", kB3Header, "--body-hex", body});
  EXPECT_EQ(run.exit_code, 1);
  const auto json = run.json();
  EXPECT_EQ(json["valid"], false);
  EXPECT_TRUE(starts_with(json["error"], "PayloadHashMismatch")) << json["error"];
  EXPECT_EQ(json["id"], kB3Id);  // still fully described
  EXPECT_EQ(json["extensions"]["log_id"], kLogId);
}

// A seq 1 operation without a backlink (and without the prune flag): `op sign` builds it with a
// warning, and `op inspect` decodes it and names the broken rule.
TEST(OpInspect, SeqOneWithoutBacklinkIsReportedAsBacklinkMissing) {
  std::vector<std::string> args = b3_sign_args();
  args[7] = "1";  // --seq 1; no --backlink, no --prune
  const ToolRun signed_op = run_tool(args);
  ASSERT_EQ(signed_op.exit_code, 0) << signed_op.err;
  EXPECT_NE(signed_op.err.find("BacklinkMissing"), std::string::npos) << signed_op.err;
  const std::string header = signed_op.json()["header"];
  const ToolRun run = run_tool({"op", "inspect", header, "--body-hex", kB3Body});
  EXPECT_EQ(run.exit_code, 1);
  const auto json = run.json();
  EXPECT_EQ(json["valid"], false);
  EXPECT_TRUE(starts_with(json["error"], "BacklinkMissing")) << json["error"];
  EXPECT_EQ(json["seq_num"], 1);
  EXPECT_TRUE(json["backlink"].is_null());
}

// Headers the tool cannot make (validly signed, but with extensions that are not the Node API's)
// are built with the core library.
std::string signed_header_with_extensions(Bytes extensions) {
  auto key = PrivateKey::from_hex(kSeed);
  Header header;
  header.extensions = std::move(extensions);
  return to_hex(Operation::create(*key, header, std::nullopt).header_bytes());
}

TEST(OpInspect, MalformedExtensionsAreNamedAndNull) {
  const std::string header = signed_header_with_extensions({0x82, 0x01, 0x00});  // [1, 0]
  const ToolRun run = run_tool({"op", "inspect", header});
  EXPECT_EQ(run.exit_code, 1);
  const auto json = run.json();
  EXPECT_EQ(json["valid"], false);
  EXPECT_TRUE(starts_with(json["error"], "ExtensionsMalformed")) << json["error"];
  EXPECT_TRUE(json["extensions"].is_null());
  EXPECT_EQ(json["public_key"], kPublicKey);
}

TEST(OpInspect, UnknownExtensionsVersionIsUnsupported) {
  const std::string header = signed_header_with_extensions({0x82, 0x02, 0x00});  // [2, 0]
  const ToolRun run = run_tool({"op", "inspect", header});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(starts_with(run.json()["error"], "ExtensionsUnsupported")) << run.out;
}

TEST(OpInspect, FlippedSignatureByteIsSignatureInvalid) {
  std::string header = kB3Header;
  const auto at = header.find(kB3Signature);
  ASSERT_NE(at, std::string::npos);
  header[at + 10] = header[at + 10] == '0' ? '1' : '0';
  const ToolRun run = run_tool({"op", "inspect", header, "--body-hex", kB3Body});
  EXPECT_EQ(run.exit_code, 1);
  const auto json = run.json();
  EXPECT_EQ(json["valid"], false);
  EXPECT_TRUE(starts_with(json["error"], "SignatureInvalid")) << json["error"];
}

TEST(OpInspect, HeaderWithoutExtensionsIsNotANodeOperation) {
  std::string header = kHeaderWithoutExtensions;
  header.erase(header.find(' '), 1);
  const ToolRun run = run_tool({"op", "inspect", header});
  EXPECT_EQ(run.exit_code, 1);
  const auto json = run.json();
  EXPECT_TRUE(starts_with(json["error"], "ExtensionsMissing")) << json["error"];
  EXPECT_TRUE(json["extensions"].is_null());
  EXPECT_EQ(json["public_key"], kPublicKey);
}

void expect_undecodable(const ToolRun& run, const std::string& error_prefix) {
  EXPECT_EQ(run.exit_code, 2);
  const auto json = run.json();
  ASSERT_TRUE(json.is_object()) << run.out;
  expect_all_keys(json);
  EXPECT_EQ(json["valid"], false);
  EXPECT_TRUE(starts_with(json["error"], error_prefix)) << json["error"];
  for (const char* key : {"id", "version", "public_key", "signature", "payload_size",
                          "payload_hash", "seq_num", "backlink", "extensions"}) {
    EXPECT_TRUE(json[key].is_null()) << key;
  }
}

TEST(OpInspect, GarbageHexCannotBeDecoded) {
  expect_undecodable(run_tool({"op", "inspect", "not-hex"}), "InvalidHex");
  expect_undecodable(run_tool({"op", "inspect", "870"}), "InvalidHex");
  expect_undecodable(run_tool({"op", "inspect", "-"}, "zz\n"), "InvalidHex");
}

TEST(OpInspect, TruncatedHeaderCannotBeDecoded) {
  expect_undecodable(run_tool({"op", "inspect", kB3Header.substr(0, kB3Header.size() - 2)}),
                     "Cbor");
  expect_undecodable(run_tool({"op", "inspect", kB3Header.substr(0, 40)}), "Cbor");
  expect_undecodable(run_tool({"op", "inspect", ""}), "Cbor");
}

TEST(OpInspect, BadArgumentsExitTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {"op", "inspect"},
      {"op", "inspect", kB3Header, "--body-hex", "zz"},
      {"op", "inspect", kB3Header, "--body-file", "/nonexistent/body"},
      {"op", "inspect", kB3Header, "--body-hex", kB3Body, "--body-file", "/dev/null"},
      {"op", "inspect", "-", "--body-file", "-"},
  };
  for (const auto& args : cases) {
    const ToolRun run = run_tool(args);
    EXPECT_EQ(run.exit_code, 2) << args.back();
    EXPECT_FALSE(run.err.empty()) << args.back();
  }
}

}  // namespace
}  // namespace p2panda::apps::test
