// Each stream layout of the driver checked byte-wise on SimTransport against a hand-written peer
// that uses only gossip/framing.hpp (no driver): what the driver must accept and what it sends.
//   0.101: the peer opens a uni stream (StreamHeader, Join); the driver answers on a uni stream of
//          its own (StreamHeader, Neighbor), and after quit sends Disconnect and FIN.
//   0.35:  the peer opens one bi stream and writes first (ProtoMessage Join); the driver answers
//          on that same stream (ProtoMessage Neighbor), and after quit sends Disconnect.
// Both: a broadcast reaches the peer and the peer's Gossip reaches the driver's application.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "gossip/framing.hpp"
#include "net/sim_hub.hpp"
#include "net/sim_transport.hpp"
#include "node/gossip_driver.hpp"

namespace p2panda::test {
namespace {

using namespace std::chrono_literals;
using gossip::Mode;

Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }
Bytes alpn_of(Mode mode) {
  auto name = mode == Mode::V035 ? gossip::kAlpnV035 : gossip::kAlpnV101;
  return Bytes(name.begin(), name.end());
}
gossip::Message gossip_of(const Bytes& content) {
  return gossip::Gossip{gossip::MessageId::from_content(content), content,
                        gossip::DeliveryScope::swarm(0)};
}

// What the raw peer saw, in order: message names, the topic of every frame or stream, contents.
struct Seen {
  std::vector<std::string> names;
  std::vector<Topic> topics;
  std::vector<Bytes> contents;
  bool clean_end = false;  // the driver's stream ended with FIN
  std::string error;
  // Kept for the second phase (after quit): the stream the driver writes to us, and its reader.
  net::ConnectionHandle connection;
  net::StreamHandle in;
  std::shared_ptr<gossip::StreamReaderV101> reader_v101;
  std::shared_ptr<gossip::StreamReaderV035> reader_v035;
};

Seen failed(std::string error) {
  Seen seen;
  seen.error = std::move(error);
  return seen;
}

// The next message on a 0.101 stream; nullopt at FIN.
net::Awaitable<Result<std::optional<gossip::Message>>> next_v101(net::StreamHandle stream,
                                                                   gossip::StreamReaderV101* reader) {
  std::vector<std::uint8_t> buffer(512);
  for (;;) {
    auto message = reader->next();
    if (!message) co_return Unexpected{message.error()};
    if (*message) co_return std::move(*message);
    auto reading = stream->read_some(std::span(buffer));
    auto read = co_await std::move(reading);
    if (!read) co_return Unexpected{read.error()};
    if (*read == 0) co_return std::nullopt;
    reader->push(ByteSpan(buffer.data(), *read));
  }
}

net::Awaitable<Result<std::optional<gossip::ProtoMessage>>> next_v035(
    net::StreamHandle stream, gossip::StreamReaderV035* reader) {
  std::vector<std::uint8_t> buffer(512);
  for (;;) {
    auto message = reader->next();
    if (!message) co_return Unexpected{message.error()};
    if (*message) co_return std::move(*message);
    auto reading = stream->read_some(std::span(buffer));
    auto read = co_await std::move(reading);
    if (!read) co_return Unexpected{read.error()};
    if (*read == 0) co_return std::nullopt;
    reader->push(ByteSpan(buffer.data(), *read));
  }
}

void note(Seen& seen, const Topic& topic, const gossip::Message& message) {
  seen.names.emplace_back(gossip::message_name(message));
  seen.topics.push_back(topic);
  if (auto* g = std::get_if<gossip::Gossip>(&message)) seen.contents.push_back(g->content);
}

// Reads until `name` arrives (noting everything); false at the end of the stream or an error.
net::Awaitable<bool> read_until_v101(net::StreamHandle stream, gossip::StreamReaderV101* reader,
                                     std::string name, Seen* seen) {
  for (;;) {
    auto next = next_v101(stream, reader);
    auto message = co_await std::move(next);
    if (!message) {
      seen->error = message.error().to_string();
      co_return false;
    }
    if (!*message) {
      seen->clean_end = true;
      co_return false;
    }
    note(*seen, reader->topic().value_or(Topic{}), **message);
    if (seen->names.back() == name) co_return true;
  }
}

net::Awaitable<bool> read_until_v035(net::StreamHandle stream, gossip::StreamReaderV035* reader,
                                     std::string name, Seen* seen) {
  for (;;) {
    auto next = next_v035(stream, reader);
    auto message = co_await std::move(next);
    if (!message) {
      seen->error = message.error().to_string();
      co_return false;
    }
    if (!*message) {
      seen->clean_end = true;
      co_return false;
    }
    note(*seen, (*message)->topic, (*message)->message);
    if (seen->names.back() == name) co_return true;
  }
}

net::Awaitable<Seen> raw_peer_v101(std::shared_ptr<net::Transport> me, net::PeerAddress driver_at,
                                   node::GossipDriver* driver, Topic topic) {
  Seen seen;
  auto connecting = me->connect(driver_at, alpn_of(Mode::V101));
  auto connection = co_await std::move(connecting);
  if (!connection) co_return failed(connection.error().to_string());
  auto opening = (*connection)->open_uni();
  auto out = co_await std::move(opening);
  if (!out) co_return failed(out.error().to_string());
  Bytes hello = gossip::encode_stream_header(topic);
  auto join = gossip::encode_frame_v101(gossip::Join{});
  hello.insert(hello.end(), join->begin(), join->end());
  auto writing = (*out)->write(hello);
  (void)co_await std::move(writing);
  // The driver answers on a uni stream of its own.
  auto accepting = (*connection)->accept_uni();
  auto in = co_await std::move(accepting);
  if (!in) co_return failed(in.error().to_string());
  seen.connection = *connection;
  seen.in = *in;
  seen.reader_v101 = std::make_shared<gossip::StreamReaderV101>();
  auto& reader = *seen.reader_v101;
  auto neighbor = read_until_v101(*in, &reader, "Neighbor", &seen);
  const bool got_neighbor = co_await std::move(neighbor);
  if (!got_neighbor) co_return seen;
  auto sent = driver->broadcast(topic, text("from driver"));
  if (!sent) co_return failed(sent.error().to_string());
  auto gossiped = read_until_v101(*in, &reader, "Gossip", &seen);
  const bool got_gossip = co_await std::move(gossiped);
  if (!got_gossip) co_return seen;
  auto ours = gossip::encode_frame_v101(gossip_of(text("from raw peer")));
  auto writing_ours = (*out)->write(*ours);
  (void)co_await std::move(writing_ours);
  co_return seen;
}

net::Awaitable<Seen> raw_peer_v035(std::shared_ptr<net::Transport> me, net::PeerAddress driver_at,
                                   node::GossipDriver* driver, Topic topic) {
  Seen seen;
  auto connecting = me->connect(driver_at, alpn_of(Mode::V035));
  auto connection = co_await std::move(connecting);
  if (!connection) co_return failed(connection.error().to_string());
  auto opening = (*connection)->open_bi();
  auto stream = co_await std::move(opening);
  if (!stream) co_return failed(stream.error().to_string());
  auto join = gossip::encode_frame_v035(topic, gossip::Join{});
  auto writing = (*stream)->write(*join);
  (void)co_await std::move(writing);
  seen.connection = *connection;
  seen.in = *stream;
  seen.reader_v035 = std::make_shared<gossip::StreamReaderV035>();
  auto& reader = *seen.reader_v035;
  auto neighbor = read_until_v035(*stream, &reader, "Neighbor", &seen);
  const bool got_neighbor = co_await std::move(neighbor);
  if (!got_neighbor) co_return seen;
  auto sent = driver->broadcast(topic, text("from driver"));
  if (!sent) co_return failed(sent.error().to_string());
  auto gossiped = read_until_v035(*stream, &reader, "Gossip", &seen);
  const bool got_gossip = co_await std::move(gossiped);
  if (!got_gossip) co_return seen;
  auto ours = gossip::encode_frame_v035(topic, gossip_of(text("from raw peer")));
  auto writing_ours = (*stream)->write(*ours);
  (void)co_await std::move(writing_ours);
  co_return seen;
}

// Second phase: the driver quits; the peer must read Disconnect, and in 0.101 then FIN.
net::Awaitable<Seen> after_quit(Seen seen, node::GossipDriver* driver) {
  driver->shutdown();
  seen.names.clear();
  if (seen.reader_v101) {
    auto reading = read_until_v101(seen.in, seen.reader_v101.get(), "Disconnect", &seen);
    const bool got = co_await std::move(reading);
    if (got) {
      auto rest = read_until_v101(seen.in, seen.reader_v101.get(), "-", &seen);
      (void)co_await std::move(rest);
    }
  } else {
    auto reading = read_until_v035(seen.in, seen.reader_v035.get(), "Disconnect", &seen);
    (void)co_await std::move(reading);
  }
  seen.connection->close(0, "done");
  co_return seen;
}

std::string mode_name(const ::testing::TestParamInfo<Mode>& param) {
  return param.param == Mode::V101 ? "V101" : "V035";
}

class GossipWire : public ::testing::TestWithParam<Mode> {};

TEST_P(GossipWire, DriverSpeaksTheLayoutByteWise) {
  const Mode mode = GetParam();
  asio::io_context io;
  auto hub = net::SimHub::create();
  const PrivateKey driver_key = PrivateKey::generate(), raw_key = PrivateKey::generate();
  std::shared_ptr<net::Transport> driver_net = hub->add(driver_key, io.get_executor());
  std::shared_ptr<net::Transport> raw_net = hub->add(raw_key, io.get_executor());
  std::promise<Bytes> delivered;
  node::GossipCallbacks callbacks;
  callbacks.received = [&delivered, once = false](const Topic&, const Bytes& content,
                                                  const NodeId&) mutable {
    if (!once) delivered.set_value(content);
    once = true;
  };
  node::GossipDriver driver(*driver_net, alpn_of(mode), mode, gossip::TopicConfig{}, 5,
                            std::move(callbacks));
  const Topic topic = Topic::random();
  std::thread thread([&io] {
    auto guard = asio::make_work_guard(io);
    io.run();
  });
  asio::post(io, asio::use_future([&] {
               driver.start();
               driver.join(topic, {});
             }))
      .get();
  const net::PeerAddress driver_at{driver_key.public_key(), {}};
  auto raw = mode == Mode::V101 ? raw_peer_v101(raw_net, driver_at, &driver, topic)
                                : raw_peer_v035(raw_net, driver_at, &driver, topic);
  auto seen_future = asio::co_spawn(io, std::move(raw), asio::use_future);
  ASSERT_EQ(seen_future.wait_for(10s), std::future_status::ready) << "the raw peer timed out";
  Seen seen = seen_future.get();
  EXPECT_EQ(seen.error, "");
  ASSERT_GE(seen.names.size(), 2u);
  EXPECT_EQ(seen.names.front(), "Neighbor");
  EXPECT_EQ(seen.names.back(), "Gossip");
  for (const auto& t : seen.topics) EXPECT_EQ(t, topic);
  ASSERT_EQ(seen.contents.size(), 1u);
  EXPECT_EQ(seen.contents[0], text("from driver"));
  auto from_raw = delivered.get_future();
  ASSERT_EQ(from_raw.wait_for(10s), std::future_status::ready) << "the peer's Gossip was lost";
  EXPECT_EQ(from_raw.get(), text("from raw peer"));
  auto quit_future = asio::co_spawn(io, after_quit(std::move(seen), &driver), asio::use_future);
  ASSERT_EQ(quit_future.wait_for(10s), std::future_status::ready) << "no Disconnect after quit";
  Seen after = quit_future.get();
  // 0.101 sends ShuffleReply before every Disconnect (gossip-wire.md §1.3); the Disconnect is last.
  ASSERT_FALSE(after.names.empty()) << after.error;
  EXPECT_EQ(after.names.back(), "Disconnect");
  if (mode == Mode::V101) {
    // 0.101: the topic's uni stream ends (FIN) right after the Disconnect.
    EXPECT_TRUE(after.clean_end) << after.error;
  }
  io.stop();
  thread.join();
}

INSTANTIATE_TEST_SUITE_P(Modes, GossipWire, ::testing::Values(Mode::V101, Mode::V035),
                         mode_name);

}  // namespace
}  // namespace p2panda::test
