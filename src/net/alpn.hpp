// ALPN on GnuTLS sessions, including p2panda's 32-byte hashed ALPNs.
//
// GnuTLS 3.7 (and 3.8) keeps ALPN names in fixed 32-byte slots but gnutls_alpn_set_protocols()
// refuses names of 32 bytes or more, and the built-in extension cannot be overridden. p2panda's
// ALPNs are BLAKE3 hashes, exactly 32 bytes. set_alpn_protocols() therefore sets 31-byte
// placeholders through the public API, finds the extension state with gnutls_ext_get_data(),
// checks that the state holds exactly those placeholders where the known layout says it should,
// and only then writes the full names into their slots. If the check fails (a GnuTLS with another
// layout) nothing is written and 32-byte names are refused with a clear error. Names of up to
// 31 bytes never touch the state. Why and how it was verified: docs/net.md "ALPN length".
#pragma once

#include <cstddef>
#include <vector>

#include <gnutls/gnutls.h>

#include <p2panda/encoding.hpp>
#include <p2panda/result.hpp>

namespace p2panda::net {

// The longest ALPN this backend carries (GnuTLS's slot size) and how many a server may offer.
inline constexpr std::size_t kMaxAlpnLength = 32;
inline constexpr std::size_t kMaxServerAlpns = 8;

// Declares `alpns` (1 to kMaxServerAlpns names of 1 to kMaxAlpnLength bytes) on a fresh
// session, as gnutls_alpn_set_protocols(session, ..., flags) would. Call at most once per session.
// Errors: InvalidArgument for an empty list, too many names, or a name of a bad length;
// HandshakeRejected when GnuTLS refuses, or its ALPN state does not have the layout that
// 32-byte names need.
Result<void> set_alpn_protocols(gnutls_session_t session, const std::vector<ByteSpan>& alpns,
                                unsigned flags);

}  // namespace p2panda::net
