// A small least-recently-used cache of objects that are expensive to build
// (the model's fixed-shape ops, keyed by batch shape). At most `capacity`
// entries live at once; getting a missing key builds it with `make` and,
// when full, destroys the least recently used entry first. References
// returned stay valid until that entry is evicted (the next Get of another
// missing key may evict it).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <utility>

namespace rnnsearch {

template <class Key, class Value>
class LruCache {
 public:
  explicit LruCache(std::size_t capacity) : capacity_(capacity) { assert(capacity >= 1); }

  // The entry of `key`, built by make() -> std::unique_ptr<Value> if absent.
  template <class Make>
  Value& Get(const Key& key, Make&& make) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      ++hits_;
      order_.splice(order_.begin(), order_, it->second);  // most recent first
      return *it->second->second;
    }
    ++misses_;
    if (order_.size() >= capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();  // destroys the value before the new one is built
    }
    std::unique_ptr<Value> value = make();
    order_.emplace_front(key, std::move(value));
    index_.emplace(key, order_.begin());
    return *order_.front().second;
  }

  std::size_t size() const { return order_.size(); }
  std::size_t capacity() const { return capacity_; }
  std::int64_t hits() const { return hits_; }
  std::int64_t misses() const { return misses_; }

 private:
  using Entry = std::pair<Key, std::unique_ptr<Value>>;
  std::size_t capacity_;
  std::list<Entry> order_;  // most recently used first
  std::map<Key, typename std::list<Entry>::iterator> index_;
  std::int64_t hits_ = 0, misses_ = 0;
};

}  // namespace rnnsearch
