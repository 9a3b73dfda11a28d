// `p2panda op inspect`: one JSON object describing a header, and an exit code saying whether it is
// a valid Node API operation. The keys are always all present (null where a value is absent or
// the header could not be decoded), so scripts can read them without checking first.
#include <iostream>
#include <nlohmann/json.hpp>
#include <p2panda/extensions.hpp>

#include "commands.hpp"

namespace p2panda::apps {
namespace {

using Json = nlohmann::ordered_json;

template <class T>
Json hex_or_null(const std::optional<T>& value) {
  return value ? Json(value->to_hex()) : Json(nullptr);
}

Json undecodable_report(const Error& error) {
  Json report;
  report["valid"] = false;
  report["error"] = error.to_string();
  for (const char* key : {"id", "version", "public_key", "signature", "payload_size",
                          "payload_hash", "seq_num", "backlink", "extensions"}) {
    report[key] = nullptr;
  }
  return report;
}

int report_undecodable(const Error& error) {
  std::cout << undecodable_report(error).dump() << '\n';
  return kExitUsage;
}

Json extensions_json(const NodeExtensions& extensions) {
  Json out;
  out["log_id"] = extensions.log_id.to_hex();
  out["timestamp"] = extensions.timestamp.value();
  out["prune"] = extensions.prune;
  return out;
}

// The first rule the operation breaks, checking the operation before its extensions.
Json describe(const Operation& operation, std::optional<Error>& broken) {
  const Header& header = operation.header();
  if (auto valid = validate_operation(operation); !valid) broken = valid.error();
  auto extensions = node_extensions(header);
  if (!extensions && !broken) broken = extensions.error();

  Json report;
  report["valid"] = !broken;
  report["error"] = broken ? Json(broken->to_string()) : Json(nullptr);
  report["id"] = operation.id().to_hex();
  report["version"] = header.version;
  report["public_key"] = header.public_key.to_hex();
  report["signature"] = hex_or_null(header.signature);
  report["payload_size"] = header.payload_size;
  report["payload_hash"] = hex_or_null(header.payload_hash);
  report["seq_num"] = header.seq_num.value();
  report["backlink"] = hex_or_null(header.backlink);
  report["extensions"] = extensions ? extensions_json(*extensions) : Json(nullptr);
  return report;
}

Result<Bytes> header_bytes(const std::string& header_arg) {
  if (header_arg != "-") return from_hex(trim(header_arg));
  auto text = read_file("-");
  if (!text) return Unexpected{std::move(text).error()};
  return from_hex(trim(*text));
}

}  // namespace

int run_op_inspect(const std::string& header_arg, const std::optional<std::string>& body_hex,
                   const std::optional<std::string>& body_file) {
  if (header_arg == "-" && body_file == "-") {
    return usage_error("the header and the body cannot both come from stdin");
  }
  auto body = load_body(body_hex, body_file);
  if (!body) return usage_error(body.error().to_string());

  // Bad header hex is reported like a header that does not decode: the caller handed us bytes
  // that are not an operation either way.
  auto bytes = header_bytes(header_arg);
  if (!bytes && bytes.error().code() == Errc::Io) return usage_error(bytes.error().to_string());
  if (!bytes) return report_undecodable(bytes.error());
  auto operation = Operation::decode(*bytes, std::move(*body));
  if (!operation) return report_undecodable(operation.error());
  std::optional<Error> broken;
  std::cout << describe(*operation, broken).dump() << '\n';
  return broken ? kExitInvalid : kExitOk;
}

}  // namespace p2panda::apps
