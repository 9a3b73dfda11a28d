#include "net/alpn.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

namespace p2panda::net {
namespace {

// The TLS extension number of ALPN (RFC 7301).
constexpr unsigned kAlpnExtension = 16;
// gnutls_alpn_set_protocols() accepts names strictly shorter than the slot.
constexpr std::size_t kGnutlsApiLimit = kMaxAlpnLength - 1;

// GnuTLS's ALPN extension state (lib/ext/alpn.h, alpn_ext_st), unchanged from 3.2 to 3.8. We only
// ever touch it after checking that it holds what the public API just put there.
struct GnutlsAlpnState {
  std::uint8_t protocols[kMaxServerAlpns][kMaxAlpnLength];
  unsigned protocol_size[kMaxServerAlpns];
  unsigned size;
  std::uint8_t* selected_protocol;
  unsigned selected_protocol_size;
  unsigned flags;
};

gnutls_datum_t datum(ByteSpan bytes) {
  return gnutls_datum_t{const_cast<unsigned char*>(bytes.data()),
                        static_cast<unsigned>(bytes.size())};
}

Unexpected refused(const std::string& why) {
  return fail(Errc::HandshakeRejected, "ALPN: " + why);
}

// Does `state` hold exactly `placeholders`, with nothing selected yet?
bool holds(const GnutlsAlpnState& state, const std::vector<gnutls_datum_t>& placeholders,
           unsigned flags) {
  if (state.size != placeholders.size() || state.flags != flags ||
      state.selected_protocol != nullptr || state.selected_protocol_size != 0) {
    return false;
  }
  for (std::size_t i = 0; i < placeholders.size(); ++i) {
    if (state.protocol_size[i] != placeholders[i].size ||
        std::memcmp(state.protocols[i], placeholders[i].data, placeholders[i].size) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<void> set_alpn_protocols(gnutls_session_t session, const std::vector<ByteSpan>& alpns,
                                unsigned flags) {
  if (alpns.empty() || alpns.size() > kMaxServerAlpns) {
    return fail(Errc::InvalidArgument, "ALPN: 1 to " + std::to_string(kMaxServerAlpns) +
                                           " protocols per session, got " +
                                           std::to_string(alpns.size()));
  }
  bool needs_full_slots = false;
  for (auto alpn : alpns) {
    if (alpn.empty() || alpn.size() > kMaxAlpnLength) {
      return fail(Errc::InvalidArgument, "ALPN must be 1 to " + std::to_string(kMaxAlpnLength) +
                                             " bytes, got " + std::to_string(alpn.size()));
    }
    needs_full_slots = needs_full_slots || alpn.size() > kGnutlsApiLimit;
  }

  // Placeholders: each name cut to what the API accepts, made distinct from its neighbours by the
  // index in the last byte so a mix-up in the layout check cannot go unnoticed.
  std::vector<Bytes> cut;
  std::vector<gnutls_datum_t> placeholders;
  for (std::size_t i = 0; i < alpns.size(); ++i) {
    Bytes name(alpns[i].begin(), alpns[i].begin() + std::min(alpns[i].size(), kGnutlsApiLimit));
    if (needs_full_slots && alpns[i].size() > kGnutlsApiLimit) {
      name.back() = static_cast<std::uint8_t>(0xa0 + i);
    }
    cut.push_back(std::move(name));
  }
  for (const auto& name : cut) placeholders.push_back(datum(name));

  int rv = gnutls_alpn_set_protocols(session, placeholders.data(),
                                     static_cast<unsigned>(placeholders.size()), flags);
  if (rv < 0) return refused(std::string("gnutls_alpn_set_protocols: ") + gnutls_strerror(rv));
  if (!needs_full_slots) return {};

  gnutls_ext_priv_data_t data = nullptr;
  rv = gnutls_ext_get_data(session, kAlpnExtension, &data);
  if (rv < 0 || data == nullptr) {
    return refused("names of 32 bytes need GnuTLS's ALPN state, which it did not give");
  }
  auto* state = static_cast<GnutlsAlpnState*>(data);
  if (!holds(*state, placeholders, flags)) {
    return refused(std::string("GnuTLS ") + gnutls_check_version(nullptr) +
                   " keeps ALPN state in an unknown layout; names of 32 bytes are unsupported");
  }
  for (std::size_t i = 0; i < alpns.size(); ++i) {
    std::memcpy(state->protocols[i], alpns[i].data(), alpns[i].size());
    state->protocol_size[i] = static_cast<unsigned>(alpns[i].size());
  }
  return {};
}

}  // namespace p2panda::net
