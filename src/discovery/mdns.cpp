#include "discovery/mdns.hpp"

#include <algorithm>
#include <set>

namespace p2panda::discovery::mdns {
namespace {

std::string instance(const PublicKey& node) { return node.to_base32(); }

std::optional<PublicKey> node_from_label(const std::string& label) {
  auto bytes = from_base32(label);
  if (!bytes) return std::nullopt;
  auto key = PublicKey::from_bytes(*bytes);
  if (!key) return std::nullopt;
  return *key;
}

// `<x>._<service>._udp.local` -> x
std::optional<std::string> instance_label(const dns::Name& name, const dns::Name& service) {
  if (name.size() != service.size() + 1) return std::nullopt;
  if (!dns::same_name(dns::Name(name.begin() + 1, name.end()), service)) return std::nullopt;
  return name.front();
}

}  // namespace

dns::Name service_name(std::string_view service) {
  return {"_" + std::string(service), "_udp", "local"};
}

Bytes make_query(std::string_view service) {
  dns::Message message;
  message.questions.push_back(
      {service_name(service), static_cast<std::uint16_t>(dns::Type::Ptr), dns::kClassIn});
  return *dns::encode(message);  // a fixed, valid shape
}

Result<Bytes> make_response(std::string_view service, const Announcement& self) {
  dns::Message message;
  message.flags = dns::kFlagResponse | dns::kFlagAuthoritative;
  dns::Name own = service_name(service);
  own.insert(own.begin(), instance(self.node));
  std::map<std::uint16_t, std::vector<const IpPort*>> by_port;
  for (const auto& address : self.addresses) by_port[address.port].push_back(&address);
  for (const auto& [port, addresses] : by_port) {
    const dns::Name target{instance(self.node) + "-" + std::to_string(port), "local"};
    message.answers.push_back({own, static_cast<std::uint16_t>(dns::Type::Srv), dns::kClassIn, 0,
                               dns::Srv{0, 0, port, target}});
    for (const auto* address : addresses) {
      const bool v4 = std::holds_alternative<dns::V4>(address->ip);
      dns::RData data = v4 ? dns::RData{std::get<dns::V4>(address->ip)}
                           : dns::RData{std::get<dns::V6>(address->ip)};
      message.additionals.push_back(
          {target, static_cast<std::uint16_t>(v4 ? dns::Type::A : dns::Type::Aaaa), dns::kClassIn,
           0, data});
    }
  }
  if (!self.txt.empty()) {
    dns::Txt txt;
    for (const auto& [key, value] : self.txt) {
      if (key.empty()) continue;
      txt.strings.push_back(value ? key + "=" + *value : key);
    }
    message.answers.push_back(
        {own, static_cast<std::uint16_t>(dns::Type::Txt), dns::kClassIn, 0, std::move(txt)});
  }
  return dns::encode(message);
}

Result<Parsed> parse(ByteSpan datagram, std::string_view service) {
  auto message = dns::decode(datagram);
  if (!message) return Unexpected{message.error()};
  const dns::Name wanted = service_name(service);
  Parsed out;
  if (!message->is_response()) {
    for (const auto& question : message->questions) {
      const auto type = static_cast<dns::Type>(question.type);
      if ((type == dns::Type::Ptr || type == dns::Type::Any) &&
          dns::same_name(question.name, wanted)) {
        out.query = true;
      }
    }
    return out;
  }
  // SRV targets per node, then the addresses of those targets from any section.
  std::map<PublicKey, Announcement> nodes;
  std::map<std::string, std::vector<std::pair<PublicKey, std::uint16_t>>> targets;
  auto lower = [](std::string text) {
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  };
  for (const auto* section : {&message->answers, &message->additionals}) {
    for (const auto& record : *section) {
      auto label = instance_label(record.name, wanted);
      if (!label) continue;
      auto node = node_from_label(*label);
      if (!node) continue;
      auto& announcement = nodes.try_emplace(*node, Announcement{*node, {}, {}}).first->second;
      if (auto* srv = std::get_if<dns::Srv>(&record.data)) {
        std::string joined;
        for (const auto& part : srv->target) joined += lower(part) + ".";
        targets[joined].emplace_back(*node, srv->port);
      } else if (auto* txt = std::get_if<dns::Txt>(&record.data)) {
        for (const auto& text : txt->strings) {
          const auto eq = text.find('=');
          if (eq == 0 || text.empty()) continue;
          if (eq == std::string::npos) {
            announcement.txt.emplace(text, std::nullopt);
          } else {
            announcement.txt.emplace(text.substr(0, eq), text.substr(eq + 1));
          }
        }
      }
    }
  }
  for (const auto* section : {&message->answers, &message->additionals}) {
    for (const auto& record : *section) {
      std::string joined;
      for (const auto& part : record.name) joined += lower(part) + ".";
      auto found = targets.find(joined);
      if (found == targets.end()) continue;
      std::optional<std::variant<dns::V4, dns::V6>> ip;
      if (auto* v4 = std::get_if<dns::V4>(&record.data)) ip = *v4;
      if (auto* v6 = std::get_if<dns::V6>(&record.data)) ip = *v6;
      if (!ip) continue;
      for (const auto& [node, port] : found->second) {
        nodes.at(node).addresses.push_back(IpPort{*ip, port});
      }
    }
  }
  for (auto& [node, announcement] : nodes) {
    auto& addresses = announcement.addresses;
    std::sort(addresses.begin(), addresses.end());
    addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
    out.announcements.push_back(std::move(announcement));
  }
  return out;
}

Result<TransportInfo> verified_info(const Announcement& announcement) {
  auto found = announcement.txt.find(std::string(kUserDataKey));
  if (found == announcement.txt.end() || !found->second) {
    return fail(Errc::InvalidArgument, "mdns: no user data");
  }
  auto user = parse_user_data(*found->second);
  if (!user) return Unexpected{user.error()};
  TransportInfo info{user->timestamp, announcement.addresses, user->relay_url, user->signature};
  if (auto ok = verify_transport_info(announcement.node, info); !ok) {
    return Unexpected{ok.error()};
  }
  return info;
}

}  // namespace p2panda::discovery::mdns
