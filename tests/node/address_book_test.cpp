// The address book over a real (in-memory) SQLite store: signed infos with last write wins,
// forged infos refused, bootstrap nodes trusted and never stale, connection outcomes and
// staleness, and what is dialled first.
#include "node/address_book.hpp"

#include <gtest/gtest.h>

#include "../store/store_fixture.hpp"
#include "store/sqlite_store.hpp"

namespace p2panda::node {
namespace {

using discovery::InfoUpdate;

net::SocketAddress local(std::uint16_t port) { return {asio::ip::address_v4::loopback(), port}; }

class AddressBookTest : public testing::Test {
 protected:
  std::unique_ptr<store::SqliteStore> store_ = std::move(*store::SqliteStore::open());
  AddressBook book_{*store_};
  PrivateKey key_ = PrivateKey::generate();
  const Timestamp now_{1'000'000};
};

TEST_F(AddressBookTest, NewerSignedInfoWinsOlderAndForgedAreRefused) {
  auto first = discovery::sign_transport_info(key_, {10, 0}, {to_ip_port(local(1))});
  auto second = discovery::sign_transport_info(key_, {10, 1}, {to_ip_port(local(2))});
  EXPECT_EQ(*book_.update(key_.public_key(), first, now_), InfoUpdate::Accept);
  EXPECT_EQ(*book_.update(key_.public_key(), second, now_), InfoUpdate::Accept);
  EXPECT_EQ(*book_.update(key_.public_key(), first, now_), InfoUpdate::Older);
  auto forged = second;
  forged.timestamp.micros = 99;
  EXPECT_EQ(*book_.update(key_.public_key(), forged, now_), InfoUpdate::Invalid);
  // Someone else's info under our key: refused.
  auto other = discovery::sign_transport_info(PrivateKey::generate(), {50, 0}, {});
  EXPECT_EQ(*book_.update(key_.public_key(), other, now_), InfoUpdate::Invalid);
  auto held = book_.info(key_.public_key());
  ASSERT_TRUE(held && *held);
  EXPECT_EQ(**held, second);
  auto peers = book_.dialable();
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ(peers->at(0).addresses, std::vector<net::SocketAddress>{local(2)});
}

TEST_F(AddressBookTest, ItPersistsAcrossReopening) {
  test::TempDir dir;  // removed with everything in it, the WAL and its index too, whatever happens
  const auto path = dir.file("address_book.db");
  auto info = discovery::sign_transport_info(key_, {10, 0}, {to_ip_port(local(7))});
  {
    auto file = store::SqliteStore::open({.url = path});
    ASSERT_TRUE(file);
    AddressBook book(**file);
    ASSERT_TRUE(book.update(key_.public_key(), info, now_));
    (*file)->close();
  }
  {
    auto file = store::SqliteStore::open({.url = path});
    ASSERT_TRUE(file);
    AddressBook book(**file);
    auto held = book.info(key_.public_key());
    ASSERT_TRUE(held && *held);
    EXPECT_EQ(**held, info);
  }
}

TEST_F(AddressBookTest, FailedLastAttemptMakesANodeStaleButNeverABootstrapNode) {
  auto peer_key = PrivateKey::generate();
  auto info = discovery::sign_transport_info(peer_key, {1, 0}, {to_ip_port(local(3))});
  ASSERT_TRUE(book_.update(peer_key.public_key(), info, now_));
  const net::PeerAddress bootstrap{key_.public_key(), {local(4)}};
  ASSERT_TRUE(book_.insert_bootstrap(bootstrap, now_));

  ASSERT_TRUE(book_.record_connection(peer_key.public_key(), true, Timestamp(10)));
  ASSERT_TRUE(book_.record_connection(peer_key.public_key(), false, Timestamp(20)));
  ASSERT_TRUE(book_.record_connection(key_.public_key(), false, Timestamp(20)));
  auto records = store_->query([](store::StoreReader& reader) { return reader.all_nodes(); });
  ASSERT_TRUE(records);
  for (const auto& record : *records) {
    EXPECT_EQ(record.failures, 1u);
    EXPECT_EQ(is_stale(record), !record.bootstrap);
  }
  auto peers = book_.dialable();
  ASSERT_TRUE(peers);
  ASSERT_EQ(peers->size(), 1u);  // the stale one is left out
  EXPECT_EQ(peers->at(0).node_id, key_.public_key());

  // A later success makes it fresh again, and bootstrap nodes are dialled first.
  ASSERT_TRUE(book_.record_connection(peer_key.public_key(), true, Timestamp(30)));
  peers = book_.dialable();
  ASSERT_EQ(peers->size(), 2u);
  EXPECT_EQ(peers->at(0).node_id, key_.public_key());
  // Bootstrap rows survive pruning.
  auto pruned = store_->transact(
      [](store::StoreWriter& writer) { return writer.remove_nodes_older_than(Timestamp::now()); });
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, 1u);
  EXPECT_TRUE(*book_.info(key_.public_key()));
}

TEST_F(AddressBookTest, ABootstrapNodeThatAnnouncesItselfStaysBootstrap) {
  ASSERT_TRUE(book_.insert_bootstrap({key_.public_key(), {local(4)}}, now_));
  auto signed_info =
      discovery::sign_transport_info(key_, {now_.value() + 1, 0}, {to_ip_port(local(5))});
  EXPECT_EQ(*book_.update(key_.public_key(), signed_info, now_), InfoUpdate::Accept);
  auto record =
      store_->query([&](store::StoreReader& reader) { return reader.node(key_.public_key()); });
  ASSERT_TRUE(record && *record);
  EXPECT_TRUE((*record)->bootstrap);
  // Configuring it again keeps the newer signed info.
  ASSERT_TRUE(book_.insert_bootstrap({key_.public_key(), {local(4)}}, now_));
  EXPECT_EQ(**book_.info(key_.public_key()), signed_info);
}

}  // namespace
}  // namespace p2panda::node
