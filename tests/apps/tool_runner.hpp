// Runs the `p2panda` executable for the black-box tests, and gives them a scratch directory.
// Test-only; one thread at a time per runner call.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace p2panda::apps::test {

struct ToolRun {
  int exit_code = -1;  // -1 when the tool did not exit normally
  std::string out;
  std::string err;
  // `out` parsed as JSON; a discarded value when it is not JSON.
  nlohmann::json json() const;
};

// Runs P2PANDA_TOOL with `args`, feeding `input` on stdin.
ToolRun run_tool(const std::vector<std::string>& args, const std::string& input = "");

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& contents);
std::string read_file(const std::string& path);

// Values from /work/shared/vectors/p2panda-0.7.md (A4 signing key, B3 operations).
inline const std::string kSeed = "f47b55d7a1cc5ee3effd80a4e4a0c33112317d0432da9de6ae019ae7e78e16aa";
inline const std::string kPublicKey =
    "e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b51620";
inline const std::string kZeroTopic(64, '0');
inline const std::string kLogId =
    "2ada83c1819a5372dae1238fc1ded123c8104fdaa15862aaee69428a1820fcda";
inline const std::string kB3Body = "6d48656c6c6f2c2050616e646121";
inline const std::string kB3PayloadHash =
    "c6208537343f375abecc6811528fe87ed3b51f344765e7586f645bd05ed27e90";
inline const std::string kB3Header =
    "87015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b51620584003dc572dcee1b0"
    "39dc0d874b4d001a9adfaf34de980fdb5116a516f31f7bd6b7fc24ea7fc90487b311f98c9ec2836dce95877599"
    "904e16abb66f86fe0ca8f10e0e5820c6208537343f375abecc6811528fe87ed3b51f344765e7586f645bd05ed2"
    "7e900085010058202ada83c1819a5372dae1238fc1ded123c8104fdaa15862aaee69428a1820fcda1b00060a24"
    "181e4000f4";
inline const std::string kB3Signature =
    "03dc572dcee1b039dc0d874b4d001a9adfaf34de980fdb5116a516f31f7bd6b7fc24ea7fc90487b311f98c9ec2"
    "836dce95877599904e16abb66f86fe0ca8f10e";
inline const std::string kB3Id = "3e99b5df1e513c29828328aecf5ee80a4f40838f6c7635db4db0371123107aaf";
inline const std::string kB3PruneHeader =
    "87015820e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b5162058402b8484b4d298f1"
    "7ae433dacbc00ab965c46b110fb065513540156bbab51358baf00d088082f39e4ec629b7b524e48487e8850316"
    "671e080f2a9a19983165f506000158203e99b5df1e513c29828328aecf5ee80a4f40838f6c7635db4db0371123"
    "107aaf85010058202ada83c1819a5372dae1238fc1ded123c8104fdaa15862aaee69428a1820fcda1b00060a24"
    "181e4001f5";
inline const std::string kB3PruneId =
    "401bda88c22549803a227c97e8429c4e0251bac7be24773f31c012c557f79909";

// `op sign` arguments for B3 (seq 0 with body) and its seq 1 prune successor.
std::vector<std::string> b3_sign_args();
std::vector<std::string> b3_prune_sign_args();

}  // namespace p2panda::apps::test
