// mDNS messages in swarm-discovery's shape: the query, a response's records, parsing back, and
// the signed user data an announcement carries.
#include "discovery/mdns.hpp"

#include <gtest/gtest.h>

namespace p2panda::discovery::mdns {
namespace {

TEST(Mdns, ResponseCarriesSrvTxtAndAddresses) {
  auto key = PrivateKey::generate();
  const std::vector<IpPort> addresses{
      {dns::V4{127, 0, 0, 1}, 4000}, {dns::V4{127, 0, 0, 2}, 4000}, {dns::V4{127, 0, 0, 1}, 4001}};
  auto info = sign_transport_info(key, {42, 1}, addresses);
  Announcement self{key.public_key(), info.addresses, {{"user-data", to_user_data(info)}}};
  auto bytes = make_response(kService, self);
  ASSERT_TRUE(bytes) << bytes.error().message();

  auto message = dns::decode(*bytes);
  ASSERT_TRUE(message);
  EXPECT_TRUE(message->is_response());
  ASSERT_EQ(message->answers.size(), 3u);  // one SRV per port, one TXT
  const auto& srv = std::get<dns::Srv>(message->answers[0].data);
  EXPECT_EQ(message->answers[0].name.front(), key.public_key().to_base32());
  EXPECT_EQ(message->answers[0].name.front().size(), 52u);
  EXPECT_EQ(srv.target, (dns::Name{key.public_key().to_base32() + "-4000", "local"}));
  EXPECT_EQ(message->additionals.size(), 3u);

  auto parsed = parse(*bytes, kService);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->query);
  ASSERT_EQ(parsed->announcements.size(), 1u);
  EXPECT_EQ(parsed->announcements[0], self);
  auto verified = verified_info(parsed->announcements[0]);
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_EQ(*verified, info);
}

TEST(Mdns, ForgedOrMissingUserDataIsRefused) {
  auto key = PrivateKey::generate();
  auto info = sign_transport_info(key, {1, 0}, {{dns::V4{127, 0, 0, 1}, 4000}});
  // Someone re-announces the node with another address but its old signature.
  Announcement forged{
      key.public_key(), {{dns::V4{10, 0, 0, 9}, 4000}}, {{"user-data", to_user_data(info)}}};
  auto parsed = parse(*make_response(kService, forged), kService);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(verified_info(parsed->announcements.at(0)));
  Announcement bare{key.public_key(), info.addresses, {}};
  EXPECT_FALSE(verified_info(bare));
}

TEST(Mdns, QueriesForOtherServicesAreIgnored) {
  auto ours = parse(make_query(kService), kService);
  ASSERT_TRUE(ours);
  EXPECT_TRUE(ours->query);
  auto theirs = parse(make_query("irohv1"), kService);
  ASSERT_TRUE(theirs);
  EXPECT_FALSE(theirs->query);
  auto key = PrivateKey::generate();
  Announcement other{key.public_key(), {{dns::V4{127, 0, 0, 1}, 1}}, {}};
  auto foreign = parse(*make_response("irohv1", other), kService);
  ASSERT_TRUE(foreign);
  EXPECT_TRUE(foreign->announcements.empty());
}

}  // namespace
}  // namespace p2panda::discovery::mdns
