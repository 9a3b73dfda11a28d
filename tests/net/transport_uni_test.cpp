// Conformance of unidirectional streams (TransportConnection::open_uni/accept_uni) on SimTransport
// and QuicTransport: both ends open their own send-only streams on one connection, data and FIN
// arrive in order, the wrong direction is refused, and uni and bi streams are accepted apart.
#include "transport_test_util.hpp"

namespace p2panda::net::test {
namespace {

const Bytes kUni = bytes_of("test/uni");

class TransportUni : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override { network_ = std::make_unique<TestNetwork>(GetParam()); }
  void TearDown() override {
    nodes_.clear();
    network_.reset();
  }
  std::shared_ptr<Transport> add() {
    nodes_.push_back(network_->add_node());
    return nodes_.back();
  }
  std::unique_ptr<TestNetwork> network_;
  std::vector<std::shared_ptr<Transport>> nodes_;
};

// Server: accepts one uni stream, reads it to the end, checks that writing on it is refused,
// then answers on a uni stream of its own with the bytes it read, reversed.
Awaitable<void> reverse_on_own_uni(ConnectionHandle connection, std::shared_ptr<ResultBox> box) {
  auto accepting = connection->accept_uni();
  auto stream = co_await std::move(accepting);
  if (!stream) {
    box->put(Unexpected{stream.error()});
    co_return;
  }
  auto reading = read_all(*stream);
  auto data = co_await std::move(reading);
  if (!data) {
    box->put(Unexpected{data.error()});
    co_return;
  }
  const Bytes wrong_way = bytes_of("wrong way");
  auto refusing = (*stream)->write(wrong_way);
  auto refused = co_await std::move(refusing);
  box->put(refused ? fail(Errc::Io, "write on a receive-only stream succeeded") : Result<void>{});
  Bytes reply(data->rbegin(), data->rend());
  auto opening = connection->open_uni();
  auto out = co_await std::move(opening);
  if (!out) co_return;
  auto writing = (*out)->write(reply);
  auto written = co_await std::move(writing);
  if (!written) co_return;
  auto finishing = (*out)->finish();
  (void)co_await std::move(finishing);
  auto closing = connection->closed();
  (void)co_await std::move(closing);
}

Awaitable<Result<Bytes>> send_and_read_reply(std::shared_ptr<Transport> from, PeerAddress to,
                                             Bytes data) {
  auto connecting = from->connect(to, kUni);
  auto connection = co_await std::move(connecting);
  if (!connection) co_return Unexpected{connection.error()};
  auto opening = (*connection)->open_uni();
  auto stream = co_await std::move(opening);
  if (!stream) co_return Unexpected{stream.error()};
  std::vector<std::uint8_t> buffer(16);
  auto wrong_reading = (*stream)->read_some(std::span(buffer));
  auto wrong = co_await std::move(wrong_reading);
  if (wrong) co_return fail(Errc::Io, "read on a send-only stream succeeded");
  auto writing = (*stream)->write(data);
  auto written = co_await std::move(writing);
  if (!written) co_return Unexpected{written.error()};
  auto finishing = (*stream)->finish();
  auto finished = co_await std::move(finishing);
  if (!finished) co_return Unexpected{finished.error()};
  auto accepting = (*connection)->accept_uni();
  auto back = co_await std::move(accepting);
  if (!back) co_return Unexpected{back.error()};
  auto reading = read_all(*back);
  auto reply = co_await std::move(reading);
  (*connection)->close(0, "done");
  co_return reply;
}

TEST_P(TransportUni, BothEndsOpenTheirOwnStreams) {
  auto server = add();
  auto client = add();
  auto box = std::make_shared<ResultBox>();
  server->register_protocol(kUni, [box](ConnectionHandle connection) {
    return reverse_on_own_uni(std::move(connection), box);
  });
  const Bytes data = pattern(100'000, 7);
  auto reply = run_on(client->executor(),
                      send_and_read_reply(client, TestNetwork::address_of(*server), data));
  ASSERT_TRUE(reply.has_value()) << "timed out";
  ASSERT_TRUE(reply->has_value()) << reply->error().to_string();
  EXPECT_EQ(**reply, Bytes(data.rbegin(), data.rend()));
  auto refused = box->take();
  ASSERT_TRUE(refused.has_value());
  EXPECT_TRUE(refused->has_value()) << refused->error().to_string();
}

// A uni stream and a bi stream opened on one connection: accept_uni yields only the first,
// accept_bi only the second.
Awaitable<void> sort_streams(ConnectionHandle connection, std::shared_ptr<BytesBox> uni_box,
                             std::shared_ptr<BytesBox> bi_box) {
  auto accepting_bi = connection->accept_bi();
  auto bi = co_await std::move(accepting_bi);
  auto accepting_uni = connection->accept_uni();
  auto uni = co_await std::move(accepting_uni);
  if (!bi || !uni) co_return;
  auto reading_bi = read_all(*bi);
  auto from_bi = co_await std::move(reading_bi);
  auto reading_uni = read_all(*uni);
  auto from_uni = co_await std::move(reading_uni);
  uni_box->put(std::move(from_uni));
  bi_box->put(std::move(from_bi));
  auto closing = connection->closed();
  (void)co_await std::move(closing);
}

// Opens a uni or bi stream on `connection`, writes `data` and finishes.
Awaitable<Result<void>> send_on_new_stream(ConnectionHandle connection, bool uni, Bytes data) {
  auto opening = uni ? connection->open_uni() : connection->open_bi();
  auto stream = co_await std::move(opening);
  if (!stream) co_return Unexpected{stream.error()};
  auto writing = (*stream)->write(data);
  auto written = co_await std::move(writing);
  if (!written) co_return written;
  auto finishing = (*stream)->finish();
  auto finished = co_await std::move(finishing);
  co_return finished;
}

Awaitable<Result<void>> open_one_of_each(std::shared_ptr<Transport> from, PeerAddress to) {
  auto connecting = from->connect(to, kUni);
  auto connection = co_await std::move(connecting);
  if (!connection) co_return Unexpected{connection.error()};
  auto sending_uni = send_on_new_stream(*connection, true, bytes_of("uni"));
  auto sent_uni = co_await std::move(sending_uni);
  if (!sent_uni) co_return sent_uni;
  auto sending_bi = send_on_new_stream(*connection, false, bytes_of("bi"));
  auto sent_bi = co_await std::move(sending_bi);
  co_return sent_bi;
}

TEST_P(TransportUni, UniAndBiAreAcceptedApart) {
  auto server = add();
  auto client = add();
  auto uni_box = std::make_shared<BytesBox>();
  auto bi_box = std::make_shared<BytesBox>();
  server->register_protocol(kUni, [uni_box, bi_box](ConnectionHandle connection) {
    return sort_streams(std::move(connection), uni_box, bi_box);
  });
  auto sent = run_on(client->executor(), open_one_of_each(client, TestNetwork::address_of(*server)));
  ASSERT_TRUE(sent.has_value()) << "timed out";
  ASSERT_TRUE(sent->has_value()) << sent->error().to_string();
  auto uni = uni_box->take();
  auto bi = bi_box->take();
  ASSERT_TRUE(uni.has_value() && bi.has_value()) << "the server never read both streams";
  ASSERT_TRUE(uni->has_value() && bi->has_value());
  EXPECT_EQ(**uni, bytes_of("uni"));
  EXPECT_EQ(**bi, bytes_of("bi"));
}

std::string param_name(const ::testing::TestParamInfo<Kind>& param) {
  return kind_name(param.param);
}

INSTANTIATE_TEST_SUITE_P(Transports, TransportUni, ::testing::Values(Kind::Sim, Kind::Quic),
                         param_name);

}  // namespace
}  // namespace p2panda::net::test
