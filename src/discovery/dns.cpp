#include "discovery/dns.hpp"

#include <algorithm>

namespace p2panda::discovery::dns {
namespace {

constexpr std::size_t kMaxName = 255;
constexpr std::size_t kMaxLabel = 63;

Unexpected bad(std::size_t at, const std::string& what) {
  return fail(Errc::InvalidArgument, "dns: " + what + " at offset " + std::to_string(at));
}

class Out {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void raw(ByteSpan data) { bytes_.insert(bytes_.end(), data.begin(), data.end()); }
  Result<void> name(const Name& name) {
    std::size_t length = 1;
    for (const auto& label : name) {
      if (label.empty() || label.size() > kMaxLabel) {
        return fail(Errc::InvalidArgument, "dns: label \"" + label + "\" is empty or too long");
      }
      length += label.size() + 1;
      u8(static_cast<std::uint8_t>(label.size()));
      raw(as_bytes(label));
    }
    if (length > kMaxName) return fail(Errc::InvalidArgument, "dns: name over 255 bytes");
    u8(0);
    return {};
  }
  std::size_t size() const { return bytes_.size(); }
  void patch_u16(std::size_t at, std::uint16_t v) {
    bytes_[at] = static_cast<std::uint8_t>(v >> 8);
    bytes_[at + 1] = static_cast<std::uint8_t>(v);
  }
  Bytes take() && { return std::move(bytes_); }

 private:
  Bytes bytes_;
};

bool type_matches(const Record& record) {
  switch (static_cast<Type>(record.type)) {
    case Type::A:
      return std::holds_alternative<V4>(record.data);
    case Type::Aaaa:
      return std::holds_alternative<V6>(record.data);
    case Type::Srv:
      return std::holds_alternative<Srv>(record.data);
    case Type::Txt:
      return std::holds_alternative<Txt>(record.data);
    case Type::Ptr:
      return std::holds_alternative<Ptr>(record.data);
    default:
      return std::holds_alternative<Other>(record.data);
  }
}

Result<void> write_record(Out& out, const Record& record) {
  if (!type_matches(record)) return fail(Errc::InvalidArgument, "dns: record data has wrong type");
  if (auto named = out.name(record.name); !named) return named;
  out.u16(record.type);
  out.u16(record.klass);
  out.u32(record.ttl);
  const std::size_t length_at = out.size();
  out.u16(0);
  Result<void> status;
  if (auto* v4 = std::get_if<V4>(&record.data)) out.raw(*v4);
  if (auto* v6 = std::get_if<V6>(&record.data)) out.raw(*v6);
  if (auto* other = std::get_if<Other>(&record.data)) out.raw(other->rdata);
  if (auto* srv = std::get_if<Srv>(&record.data)) {
    out.u16(srv->priority);
    out.u16(srv->weight);
    out.u16(srv->port);
    status = out.name(srv->target);
  }
  if (auto* ptr = std::get_if<Ptr>(&record.data)) status = out.name(ptr->target);
  if (auto* txt = std::get_if<Txt>(&record.data)) {
    for (const auto& text : txt->strings) {
      if (text.size() > 255) return fail(Errc::InvalidArgument, "dns: TXT string over 255 bytes");
      out.u8(static_cast<std::uint8_t>(text.size()));
      out.raw(as_bytes(text));
    }
    if (txt->strings.empty()) out.u8(0);  // RFC 6763 §6.1: an empty TXT holds one empty string
  }
  if (!status) return status;
  const std::size_t length = out.size() - length_at - 2;
  if (length > 0xffff) return fail(Errc::InvalidArgument, "dns: rdata too long");
  out.patch_u16(length_at, static_cast<std::uint16_t>(length));
  return {};
}

class In {
 public:
  explicit In(ByteSpan input) : input_(input) {}
  std::size_t pos() const { return pos_; }
  bool at_end() const { return pos_ == input_.size(); }
  Result<std::uint16_t> u16() {
    if (input_.size() - pos_ < 2) return bad(pos_, "truncated");
    const auto v = static_cast<std::uint16_t>((input_[pos_] << 8) | input_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  Result<std::uint32_t> u32() {
    auto hi = u16();
    if (!hi) return Unexpected{hi.error()};
    auto lo = u16();
    if (!lo) return Unexpected{lo.error()};
    return (std::uint32_t{*hi} << 16) | *lo;
  }
  Result<ByteSpan> take(std::size_t n) {
    if (input_.size() - pos_ < n) return bad(pos_, "truncated");
    auto out = input_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  // Reads a name at pos_, following pointers; pos_ moves past the name's in-place part.
  Result<Name> name() {
    Name out;
    std::size_t at = pos_, length = 1;
    bool jumped = false;
    for (;;) {
      if (at >= input_.size()) return bad(at, "truncated name");
      const std::uint8_t head = input_[at];
      if ((head & 0xc0) == 0xc0) {
        if (at + 1 >= input_.size()) return bad(at, "truncated pointer");
        const std::size_t target = ((head & 0x3f) << 8) | input_[at + 1];
        // Pointers may only go backwards: this bounds the walk and rules out loops.
        if (target >= at) return bad(at, "forward name pointer");
        if (!jumped) pos_ = at + 2;
        jumped = true;
        at = target;
        continue;
      }
      if ((head & 0xc0) != 0) return bad(at, "reserved label type");
      if (head == 0) {
        if (!jumped) pos_ = at + 1;
        return out;
      }
      if (at + 1 + head > input_.size()) return bad(at, "truncated label");
      length += head + 1;
      if (length > kMaxName) return bad(at, "name over 255 bytes");
      out.emplace_back(reinterpret_cast<const char*>(&input_[at + 1]), head);
      at += 1 + head;
    }
  }

 private:
  ByteSpan input_;
  std::size_t pos_ = 0;
};

Result<RData> read_rdata(In& in, std::uint16_t type, std::size_t length) {
  const std::size_t start = in.pos();
  auto fits = [&]() -> Result<void> {
    if (in.pos() - start != length) return bad(start, "rdata length does not match its content");
    return {};
  };
  switch (static_cast<Type>(type)) {
    case Type::A:
    case Type::Aaaa: {
      const std::size_t want = type == static_cast<std::uint16_t>(Type::A) ? 4 : 16;
      if (length != want) return bad(start, "address rdata of wrong length");
      auto raw = in.take(length);
      if (!raw) return Unexpected{raw.error()};
      if (want == 4) {
        V4 v4;
        std::copy(raw->begin(), raw->end(), v4.begin());
        return RData{v4};
      }
      V6 v6;
      std::copy(raw->begin(), raw->end(), v6.begin());
      return RData{v6};
    }
    case Type::Srv: {
      Srv srv;
      for (auto* field : {&srv.priority, &srv.weight, &srv.port}) {
        auto v = in.u16();
        if (!v) return Unexpected{v.error()};
        *field = *v;
      }
      auto target = in.name();
      if (!target) return Unexpected{target.error()};
      srv.target = std::move(*target);
      if (auto ok = fits(); !ok) return Unexpected{ok.error()};
      return RData{std::move(srv)};
    }
    case Type::Ptr: {
      auto target = in.name();
      if (!target) return Unexpected{target.error()};
      if (auto ok = fits(); !ok) return Unexpected{ok.error()};
      return RData{Ptr{std::move(*target)}};
    }
    case Type::Txt: {
      auto raw = in.take(length);
      if (!raw) return Unexpected{raw.error()};
      Txt txt;
      for (std::size_t i = 0; i < raw->size();) {
        const std::size_t n = (*raw)[i];
        if (i + 1 + n > raw->size()) return bad(start + i, "truncated TXT string");
        txt.strings.emplace_back(reinterpret_cast<const char*>(raw->data() + i + 1), n);
        i += 1 + n;
      }
      return RData{std::move(txt)};
    }
    default: {
      auto raw = in.take(length);
      if (!raw) return Unexpected{raw.error()};
      return RData{Other{Bytes(raw->begin(), raw->end())}};
    }
  }
}

Result<Record> read_record(In& in) {
  Record record;
  auto name = in.name();
  if (!name) return Unexpected{name.error()};
  record.name = std::move(*name);
  auto type = in.u16();
  if (!type) return Unexpected{type.error()};
  auto klass = in.u16();
  if (!klass) return Unexpected{klass.error()};
  auto ttl = in.u32();
  if (!ttl) return Unexpected{ttl.error()};
  auto length = in.u16();
  if (!length) return Unexpected{length.error()};
  record.type = *type;
  record.klass = *klass;
  record.ttl = *ttl;
  auto data = read_rdata(in, *type, *length);
  if (!data) return Unexpected{data.error()};
  record.data = std::move(*data);
  return record;
}

}  // namespace

Result<Bytes> encode(const Message& message) {
  const std::size_t records =
      message.answers.size() + message.authorities.size() + message.additionals.size();
  if (message.questions.size() > kMaxRecords || records > kMaxRecords) {
    return fail(Errc::InvalidArgument, "dns: too many records");
  }
  Out out;
  out.u16(message.id);
  out.u16(message.flags);
  out.u16(static_cast<std::uint16_t>(message.questions.size()));
  out.u16(static_cast<std::uint16_t>(message.answers.size()));
  out.u16(static_cast<std::uint16_t>(message.authorities.size()));
  out.u16(static_cast<std::uint16_t>(message.additionals.size()));
  for (const auto& question : message.questions) {
    if (auto named = out.name(question.name); !named) return Unexpected{named.error()};
    out.u16(question.type);
    out.u16(question.klass);
  }
  for (const auto* section : {&message.answers, &message.authorities, &message.additionals}) {
    for (const auto& record : *section) {
      if (auto written = write_record(out, record); !written) return Unexpected{written.error()};
    }
  }
  if (out.size() > kMaxMessage) return fail(Errc::InvalidArgument, "dns: message too long");
  return std::move(out).take();
}

Result<Message> decode(ByteSpan input) {
  if (input.size() > kMaxMessage) return bad(0, "message over 9000 bytes");
  In in(input);
  Message message;
  std::uint16_t counts[6];
  for (auto& count : counts) {
    auto v = in.u16();
    if (!v) return Unexpected{v.error()};
    count = *v;
  }
  message.id = counts[0];
  message.flags = counts[1];
  if (counts[2] > kMaxRecords || std::size_t{counts[3]} + counts[4] + counts[5] > kMaxRecords) {
    return bad(4, "too many records");
  }
  for (int i = 0; i < counts[2]; ++i) {
    Question question;
    auto name = in.name();
    if (!name) return Unexpected{name.error()};
    auto type = in.u16();
    if (!type) return Unexpected{type.error()};
    auto klass = in.u16();
    if (!klass) return Unexpected{klass.error()};
    message.questions.push_back({std::move(*name), *type, *klass});
  }
  std::vector<Record>* sections[3] = {&message.answers, &message.authorities, &message.additionals};
  for (int s = 0; s < 3; ++s) {
    for (int i = 0; i < counts[3 + s]; ++i) {
      auto record = read_record(in);
      if (!record) return Unexpected{record.error()};
      sections[s]->push_back(std::move(*record));
    }
  }
  if (!in.at_end()) return bad(in.pos(), "trailing bytes");
  return message;
}

bool same_name(const Name& a, const Name& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::equal(a[i].begin(), a[i].end(), b[i].begin(), b[i].end(), [](char x, char y) {
          return std::tolower(static_cast<unsigned char>(x)) ==
                 std::tolower(static_cast<unsigned char>(y));
        })) {
      return false;
    }
  }
  return true;
}

}  // namespace p2panda::discovery::dns
