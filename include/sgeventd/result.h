// The result type every layer returns instead of throwing: tl::expected, marked [[nodiscard]]
// so that an ignored error does not compile (an unchecked state commit is a cursor that
// silently stays, or moves when it must not).
#pragma once

#include <utility>

#include <tl/expected.hpp>

namespace sgeventd {

template <class T, class E>
class [[nodiscard]] Expected : public tl::expected<T, E> {
 public:
  using Base = tl::expected<T, E>;
  using Base::Base;
  Expected() = default;
  // From what tl's own operations (map, and_then, ...) return.
  Expected(Base b) : Base(std::move(b)) {}  // NOLINT(google-explicit-constructor)
};

}  // namespace sgeventd
