#include <p2panda/hash.hpp>
#include <p2panda/keys.hpp>

#include "test_util.hpp"

namespace p2panda {
namespace {

using test::hex;

TEST(Keys, Rfc8032TestOne) {
  // RFC 8032 §7.1 TEST 1: empty message.
  auto key = PrivateKey::from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  ASSERT_OK(key);
  EXPECT_EQ(key->public_key().to_hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const Signature signature = key->sign({});
  EXPECT_EQ(signature.to_hex(),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
            "1cf9b46bd25bf5f0595bbe24655141438e7a100b");
  ASSERT_OK(key->public_key().verify({}, signature));
}

TEST(Keys, VerifyRejectsTamperingAndOtherKeys) {
  const PrivateKey key = PrivateKey::generate();
  const Bytes message{1, 2, 3};
  const Signature signature = key.sign(message);
  ASSERT_OK(key.public_key().verify(message, signature));
  EXPECT_ERRC(key.public_key().verify(Bytes{1, 2, 4}, signature), SignatureInvalid);
  EXPECT_ERRC(PrivateKey::generate().public_key().verify(message, signature), SignatureInvalid);
  auto tampered = signature.array();
  tampered[10] ^= 1;
  EXPECT_ERRC(key.public_key().verify(message, Signature(tampered)), SignatureInvalid);
}

TEST(Keys, StrictVerificationRejectsNonCanonicalS) {
  const PrivateKey key = PrivateKey::generate();
  const Bytes message{9};
  auto bytes = key.sign(message).array();
  // S + L (the group order) is the same scalar mod L, but non-canonical: strict verify refuses.
  const Bytes order = hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    const unsigned sum = bytes[32 + i] + order[i] + carry;
    bytes[32 + i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
  }
  EXPECT_ERRC(key.public_key().verify(message, Signature(bytes)), SignatureInvalid);
}

TEST(Keys, StrictVerificationRejectsSmallOrderKeys) {
  // The identity point (small order): any "signature" with R = identity, S = 0 would pass a
  // lenient cofactored check for every message.
  auto identity = PublicKey::from_hex("0100000000000000000000000000000000000000000000000000000000000000");
  ASSERT_OK(identity);
  EXPECT_FALSE(identity->is_valid_point());
  std::array<std::uint8_t, 64> forged{};
  forged[0] = 1;
  EXPECT_ERRC(identity->verify(Bytes{1}, Signature(forged)), SignatureInvalid);
}

TEST(Hashing, KeyedModeMatchesTheBlake3TestVectors) {
  // BLAKE3's test_vectors.json: key "whats the Elvish word for friend", input of length 0.
  std::array<std::uint8_t, 32> key;
  const std::string_view text = "whats the Elvish word for friend";
  std::copy(text.begin(), text.end(), key.begin());
  EXPECT_EQ(Hasher::keyed(key).finalize().to_hex(),
            "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26");
  EXPECT_NE(Hasher::keyed(key).update(Bytes{0}).finalize(), Hasher::keyed(key).finalize());
}

TEST(Keys, SeedsRoundTrip) {
  const PrivateKey key = PrivateKey::generate();
  auto again = PrivateKey::from_hex(key.to_hex());
  ASSERT_OK(again);
  EXPECT_EQ(again->public_key(), key.public_key());
  EXPECT_ERRC(PrivateKey::from_bytes(Bytes(31)), InvalidLength);
  EXPECT_NE(PrivateKey::generate().public_key(), key.public_key());
}

}  // namespace
}  // namespace p2panda
