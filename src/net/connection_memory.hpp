// The allocator behind one ngtcp2 connection.
//
// Why it exists: ngtcp2 0.12 (the version Debian 12 ships) can lose track of a STREAM frame it
// allocated. A frame built for four or more data vectors comes from the heap; when a partial
// retransmission shrinks its vector count in place, ngtcp2 later decides by that count that the
// frame came from the connection's object pool and puts it there instead of freeing it. The pool
// forgets such frames when the connection is deleted, so every affected connection leaks a few
// hundred bytes (ngtcp2 issue #1244, fixed upstream in 1.6.0). A node that runs for months over
// lossy links would grow without bound.
//
// Every block ngtcp2 takes through this allocator is linked into a list, so that whatever is
// still allocated after ngtcp2_conn_del can be freed. Used on the connection's thread only.
#pragma once

#include <cstddef>
#include <cstdint>

#include <ngtcp2/ngtcp2.h>

namespace p2panda::net {

class ConnectionMemory {
 public:
  ConnectionMemory();
  ~ConnectionMemory();  // frees what is left: ngtcp2_conn_del must have run before
  ConnectionMemory(const ConnectionMemory&) = delete;
  ConnectionMemory& operator=(const ConnectionMemory&) = delete;

  // Pass to ngtcp2_conn_client_new / ngtcp2_conn_server_new; must outlive the connection.
  const ngtcp2_mem* get() const { return &mem_; }

  // Blocks allocated and not yet freed.
  std::size_t live_blocks() const { return live_; }

  // Frees every block still allocated and returns how many there were. Only after the connection
  // that used this allocator has been deleted: ngtcp2 holds none of them any more.
  std::size_t release_all();

  // Blocks freed by release_all() in this process so far: ngtcp2's leftovers.
  static std::uint64_t reclaimed_total();

 private:
  struct alignas(std::max_align_t) Header {
    Header* prev;
    Header* next;
  };

  static void* do_malloc(std::size_t size, void* self);
  static void do_free(void* ptr, void* self);
  static void* do_calloc(std::size_t count, std::size_t size, void* self);
  static void* do_realloc(void* ptr, std::size_t size, void* self);

  void* link(Header* header);
  void unlink(Header* header);

  ngtcp2_mem mem_{};
  Header list_{&list_, &list_};  // sentinel of a circular list
  std::size_t live_ = 0;
};

}  // namespace p2panda::net
