// Signed transport infos: signing and verifying, the user-data text form, the storage form, and
// last-write-wins.
#include "discovery/transport_info.hpp"

#include <gtest/gtest.h>

namespace p2panda::discovery {
namespace {

IpPort local(std::uint16_t port) { return IpPort{dns::V4{127, 0, 0, 1}, port}; }

TEST(TransportInfo, SignsAndVerifies) {
  auto key = PrivateKey::generate();
  auto info = sign_transport_info(key, {10, 0}, {local(2), local(1), local(2)});
  EXPECT_EQ(info.addresses, (std::vector<IpPort>{local(1), local(2)}));  // sorted, unique
  EXPECT_TRUE(verify_transport_info(key.public_key(), info));
  EXPECT_FALSE(verify_transport_info(PrivateKey::generate().public_key(), info));
  auto moved = info;
  moved.addresses.push_back(local(3));  // an address the node never signed
  EXPECT_FALSE(verify_transport_info(key.public_key(), moved));
  auto later = info;
  later.timestamp.lamport = 1;
  EXPECT_FALSE(verify_transport_info(key.public_key(), later));
}

TEST(TransportInfo, UserDataIsP2pandasText) {
  auto key = PrivateKey::generate();
  auto info = sign_transport_info(key, {1700000000000000, 3}, {local(9)});
  const auto text = to_user_data(info);
  EXPECT_EQ(text, info.signature.to_hex() + "|1700000000000000/3");
  EXPECT_LE(text.size(), 245u);  // iroh's UserData limit
  auto parsed = parse_user_data(text);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->signature, info.signature);
  EXPECT_EQ(parsed->timestamp, info.timestamp);
  EXPECT_FALSE(parsed->relay_url);
  // A relay url is kept: it is part of what the node signed.
  auto with_relay = sign_transport_info(key, {1700000000000000, 3}, {local(9)},
                                        "https://relay.example/");
  const auto relay_text = to_user_data(with_relay);
  EXPECT_EQ(relay_text,
            with_relay.signature.to_hex() + "|1700000000000000/3|https://relay.example/");
  auto relayed = parse_user_data(relay_text);
  ASSERT_TRUE(relayed);
  EXPECT_EQ(relayed->relay_url, "https://relay.example/");
  EXPECT_FALSE(parse_user_data(relay_text + "|more"));  // p2panda takes 2 or 3 parts
  EXPECT_FALSE(parse_user_data(text + "|"));
  EXPECT_FALSE(parse_user_data("nothex|1/2"));
  EXPECT_FALSE(parse_user_data(info.signature.to_hex() + "|1"));
  EXPECT_FALSE(parse_user_data(info.signature.to_hex() + "|1/x"));
  EXPECT_FALSE(parse_user_data(info.signature.to_hex()));
}

TEST(TransportInfo, StorageFormRoundTrips) {
  auto key = PrivateKey::generate();
  dns::V6 v6{};
  v6[15] = 1;
  auto info = sign_transport_info(key, {5, 6}, {local(1), IpPort{v6, 7}});
  auto back = decode_transport_info(encode_transport_info(info));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, info);
  auto relayed = sign_transport_info(key, {5, 6}, {local(1)}, "https://relay.example/");
  auto relayed_back = decode_transport_info(encode_transport_info(relayed));
  ASSERT_TRUE(relayed_back) << relayed_back.error().message();
  EXPECT_EQ(*relayed_back, relayed);
  EXPECT_TRUE(verify_transport_info(key.public_key(), *relayed_back));
  auto bytes = encode_transport_info(info);
  bytes.pop_back();
  EXPECT_FALSE(decode_transport_info(bytes));
  EXPECT_FALSE(decode_transport_info(Bytes{0x80}));
}

TEST(TransportInfo, LastWriteWinsAndInvalidIsRefused) {
  auto key = PrivateKey::generate();
  const auto node = key.public_key();
  auto first = sign_transport_info(key, {100, 0}, {local(1)});
  auto second = sign_transport_info(key, {100, 1}, {local(2)});
  EXPECT_EQ(decide_update(node, std::nullopt, first), InfoUpdate::Accept);
  EXPECT_EQ(decide_update(node, first, second), InfoUpdate::Accept);
  EXPECT_EQ(decide_update(node, second, first), InfoUpdate::Older);
  EXPECT_EQ(decide_update(node, second, second), InfoUpdate::Older);  // same: nothing new
  auto forged = second;
  forged.timestamp.micros = 200;
  EXPECT_EQ(decide_update(node, first, forged), InfoUpdate::Invalid);
}

TEST(TransportInfo, HybridTimestampAlwaysMovesForward) {
  EXPECT_EQ(HybridTimestamp::next(std::nullopt, 5), (HybridTimestamp{5, 0}));
  EXPECT_EQ(HybridTimestamp::next(HybridTimestamp{5, 0}, 9), (HybridTimestamp{9, 0}));
  EXPECT_EQ(HybridTimestamp::next(HybridTimestamp{9, 0}, 3),
            (HybridTimestamp{9, 1}));  // clock back
}

}  // namespace
}  // namespace p2panda::discovery
