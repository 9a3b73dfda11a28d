#include "net/connection_memory.hpp"

#include <atomic>
#include <cstdlib>
#include <limits>

namespace p2panda::net {
namespace {

std::atomic<std::uint64_t> g_reclaimed{0};

}  // namespace

ConnectionMemory::ConnectionMemory() {
  mem_.user_data = this;
  mem_.malloc = &ConnectionMemory::do_malloc;
  mem_.free = &ConnectionMemory::do_free;
  mem_.calloc = &ConnectionMemory::do_calloc;
  mem_.realloc = &ConnectionMemory::do_realloc;
}

ConnectionMemory::~ConnectionMemory() { release_all(); }

std::size_t ConnectionMemory::release_all() {
  std::size_t freed = 0;
  while (list_.next != &list_) {
    Header* header = list_.next;
    unlink(header);
    std::free(header);
    ++freed;
  }
  g_reclaimed.fetch_add(freed, std::memory_order_relaxed);
  return freed;
}

std::uint64_t ConnectionMemory::reclaimed_total() {
  return g_reclaimed.load(std::memory_order_relaxed);
}

void* ConnectionMemory::link(Header* header) {
  header->prev = list_.prev;
  header->next = &list_;
  list_.prev->next = header;
  list_.prev = header;
  ++live_;
  return header + 1;
}

void ConnectionMemory::unlink(Header* header) {
  header->prev->next = header->next;
  header->next->prev = header->prev;
  --live_;
}

void* ConnectionMemory::do_malloc(std::size_t size, void* self) {
  if (size > std::numeric_limits<std::size_t>::max() - sizeof(Header)) return nullptr;
  auto* header = static_cast<Header*>(std::malloc(sizeof(Header) + size));
  if (header == nullptr) return nullptr;
  return static_cast<ConnectionMemory*>(self)->link(header);
}

void ConnectionMemory::do_free(void* ptr, void* self) {
  if (ptr == nullptr) return;
  Header* header = static_cast<Header*>(ptr) - 1;
  static_cast<ConnectionMemory*>(self)->unlink(header);
  std::free(header);
}

void* ConnectionMemory::do_calloc(std::size_t count, std::size_t size, void* self) {
  if (size != 0 && count > (std::numeric_limits<std::size_t>::max() - sizeof(Header)) / size) {
    return nullptr;
  }
  auto* header = static_cast<Header*>(std::calloc(1, sizeof(Header) + count * size));
  if (header == nullptr) return nullptr;
  return static_cast<ConnectionMemory*>(self)->link(header);
}

void* ConnectionMemory::do_realloc(void* ptr, std::size_t size, void* self) {
  auto* memory = static_cast<ConnectionMemory*>(self);
  if (ptr == nullptr) return do_malloc(size, self);
  if (size > std::numeric_limits<std::size_t>::max() - sizeof(Header)) return nullptr;
  Header* header = static_cast<Header*>(ptr) - 1;
  // Unlinked while realloc may move it; on failure the old block stays valid and goes back.
  memory->unlink(header);
  auto* moved = static_cast<Header*>(std::realloc(header, sizeof(Header) + size));
  if (moved == nullptr) {
    memory->link(header);
    return nullptr;
  }
  return memory->link(moved);
}

}  // namespace p2panda::net
