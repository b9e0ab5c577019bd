#include "ledger/sha256.h"

#include <gtest/gtest.h>

namespace ledger {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(ToHex(Sha256::Of("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256::Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, ReusableAfterFinish) {
  Sha256 sha;
  sha.Update("a").Update("bc");
  EXPECT_EQ(sha.Finish(), Sha256::Of("abc"));
  EXPECT_EQ(sha.Update("abc").Finish(), Sha256::Of("abc"));
}

TEST(Sha256, HexRoundTrip) {
  const Hash h = Sha256::Of("ledger");
  auto back = HashFromHex(ToHex(h));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, h);
  EXPECT_FALSE(HashFromHex("zz").has_value());
  EXPECT_FALSE(HashFromHex(std::string(64, 'g')).has_value());
}

}  // namespace
}  // namespace ledger
