#include "inlet/common/redact.h"

#include <gtest/gtest.h>

namespace inlet {
namespace {

// The registry is process-wide: each test registers secrets of its own.

TEST(MaskKnownSecrets, MasksASecretStandingAsAWordOfItsOwn) {
  RegisterSecret("pgsecretword");
  EXPECT_EQ(
      MaskKnownSecrets("postgresql://u:pgsecretword@h/pgsecretwordy?x=pgsecretword"),
      "postgresql://u:***@h/pgsecretwordy?x=***");
  // A common word as a password: the longer words it begins are left alone. (Registered
  // for the rest of this test process: a word no other test's message holds alone.)
  RegisterSecret("postgrex");
  EXPECT_EQ(MaskKnownSecrets("cannot connect to postgrexql://postgrex@h:1/postgrex"),
            "cannot connect to postgrexql://***@h:1/***");
  // Symbols at a secret's edges match wherever they are.
  RegisterSecret("#tok=ab!");
  EXPECT_EQ(MaskKnownSecrets("x#tok=ab!y"), "x***y");
}

TEST(MaskKnownSecrets, MasksTheLongestSecretFirstAndItsUriEncodedForm) {
  RegisterSecret("qzxw");
  RegisterSecret("qzxw efgh/ijkl");
  EXPECT_EQ(MaskKnownSecrets("token qzxw efgh/ijkl end"), "token *** end");
  EXPECT_EQ(MaskKnownSecrets("form=qzxw%20efgh%2Fijkl&"), "form=***&");
  EXPECT_EQ(MaskKnownSecrets("qzxw"), "***");
  RegisterSecret("qzx");  // too short to be remembered
  EXPECT_EQ(MaskKnownSecrets("qzx"), "qzx");
}

TEST(AmbiguousUserInfo, FindsAnAtSignNotPercentEncoded) {
  EXPECT_FALSE(AmbiguousUserInfo("postgresql://u:p%40ss@h:5432/db"));
  EXPECT_FALSE(AmbiguousUserInfo("postgresql://h/db"));
  EXPECT_TRUE(AmbiguousUserInfo("postgresql://u:p@ss@h:5432/db"));
  EXPECT_TRUE(AmbiguousUserInfo("postgresql://u:s@X:/?#@h:1/db"));
}

}  // namespace
}  // namespace inlet
