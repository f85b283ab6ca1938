#include "inlet/common/uri.h"

#include "inlet/testing/util.h"

namespace inlet {

TEST(Uri, PercentEncodingRoundTrips) {
  std::string raw = "a b/c%d=e:f/\xc3\xa9.parquet";
  std::string enc = PercentEncodePath(raw);
  EXPECT_EQ(enc, "a%20b/c%25d=e%3Af/%C3%A9.parquet");
  EXPECT_EQ(PercentDecode(enc), raw);
  EXPECT_EQ(PercentDecode("100%"), "100%");  // malformed escapes stay
  EXPECT_EQ(PercentDecode("%zz"), "%zz");
}

TEST(Uri, HiveEscapesSpecialCharacters) {
  EXPECT_EQ(EscapePartitionValue("a/b=c:d%e"), "a%2Fb%3Dc%3Ad%25e");
  EXPECT_EQ(EscapePartitionValue("plain value"), "plain value");
}

TEST(Uri, JoinPath) {
  EXPECT_EQ(JoinPath("/t/", "/x"), "/t/x");
  EXPECT_EQ(JoinPath("/t", "a/b"), "/t/a/b");
}

}  // namespace inlet
