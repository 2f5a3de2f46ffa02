// index_iterator.h - a forward iterator over anything with operator[](size_t).
//
// For containers that store their elements compactly and hand out each one
// through operator[] (a view, or a reference to a shared value), so a
// range-for works over them like over a std::vector.
#pragma once

#include <cstddef>
#include <iterator>
#include <type_traits>

namespace listgate {

template <class Container>
class IndexIterator {
 public:
  using reference = decltype(std::declval<const Container&>()[size_t{0}]);
  using value_type = std::remove_cvref_t<reference>;
  using iterator_category = std::forward_iterator_tag;
  using difference_type = std::ptrdiff_t;
  using pointer = void;

  IndexIterator() = default;
  IndexIterator(const Container* c, size_t i) : c_(c), i_(i) {}
  reference operator*() const { return (*c_)[i_]; }
  IndexIterator& operator++() {
    ++i_;
    return *this;
  }
  IndexIterator operator++(int) {
    IndexIterator old = *this;
    ++i_;
    return old;
  }
  bool operator==(const IndexIterator& other) const { return i_ == other.i_; }

 private:
  const Container* c_ = nullptr;
  size_t i_ = 0;
};

}  // namespace listgate
