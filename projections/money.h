// Money: integer euro cents in a named type. Never a floating-point value.
#pragma once

#include <compare>
#include <cstdint>

namespace ledger {

struct Cents {
  int64_t value = 0;
  constexpr auto operator<=>(const Cents&) const = default;
  constexpr Cents operator+(Cents o) const { return {value + o.value}; }
  constexpr Cents operator-(Cents o) const { return {value - o.value}; }
  constexpr Cents& operator+=(Cents o) {
    value += o.value;
    return *this;
  }
  constexpr Cents& operator-=(Cents o) {
    value -= o.value;
    return *this;
  }
};

// amount * numerator / denominator, rounded half-up to the cent (denominator > 0,
// amount and numerator >= 0): the book's pro-rata rule.
constexpr Cents ProRataHalfUp(Cents amount, int64_t numerator, int64_t denominator) {
  return {(amount.value * numerator * 2 + denominator) / (2 * denominator)};
}

}  // namespace ledger
