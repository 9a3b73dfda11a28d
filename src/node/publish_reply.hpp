// PublishReply: how a queued publish answers its caller, exactly once. It wraps whatever the
// caller waits with (an awaiting coroutine's handler, a promise) and, if it is dropped unanswered
// (the node shut down with the publish still queued or its completion never run), answers
// NodeShutDown from its destructor, so no caller waits forever and no coroutine silently
// vanishes. Move-only; call it from any thread: the wrapped function decides where the answer
// goes (an awaitable's handler is posted to its own executor).
#pragma once

#include <memory>

#include <p2panda/hash.hpp>
#include <p2panda/result.hpp>

namespace p2panda::detail {

class PublishReply {
 public:
  template <class F>
  explicit PublishReply(F function) : impl_(std::make_unique<Model<F>>(std::move(function))) {}
  PublishReply(PublishReply&&) noexcept = default;
  PublishReply& operator=(PublishReply&& other) noexcept {
    if (this != &other) {
      answer_shut_down();
      impl_ = std::move(other.impl_);
    }
    return *this;
  }
  ~PublishReply() { answer_shut_down(); }

  void operator()(Result<Hash> result) {
    if (auto impl = std::move(impl_)) impl->call(std::move(result));
  }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual void call(Result<Hash> result) = 0;
  };
  template <class F>
  struct Model final : Concept {
    explicit Model(F f) : function(std::move(f)) {}
    void call(Result<Hash> result) override { function(std::move(result)); }
    F function;
  };
  void answer_shut_down() {
    if (impl_) (*this)(fail(Errc::NodeShutDown, "the node was shut down"));
  }

  std::unique_ptr<Concept> impl_;
};

}  // namespace p2panda::detail
