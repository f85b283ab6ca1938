#include "inlet/source/http_pages.h"

#include "inlet/testing/util.h"

namespace inlet {

TEST(HttpPages, LinkHeaderNextTarget) {
  EXPECT_EQ(
      LinkNext(R"(<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last")"),
      "https://a/x?page=2");
  EXPECT_EQ(
      LinkNext(R"(<https://a/x?page=1>; rel="first", <https://a/x?page=3>; rel=next)"),
      "https://a/x?page=3");
  // A relation list, other parameters first, and case.
  EXPECT_EQ(LinkNext(R"(</x?c=abc>; title="more"; REL="prev next")"), "/x?c=abc");
  EXPECT_EQ(LinkNext(R"(<https://a/x?page=1>; rel="prev")"), std::nullopt);
  EXPECT_EQ(LinkNext(""), std::nullopt);
  EXPECT_EQ(LinkNext("<broken"), std::nullopt);
}

TEST(HttpPages, RelativeUrlsResolveAgainstThePage) {
  const std::string base = "https://api.example.com/v1/items?page=1";
  EXPECT_EQ(ResolveUrl(base, "https://other/x"), "https://other/x");
  EXPECT_EQ(ResolveUrl(base, "//cdn.example.com/y"), "https://cdn.example.com/y");
  EXPECT_EQ(ResolveUrl(base, "/v2/items?page=2"),
            "https://api.example.com/v2/items?page=2");
  EXPECT_EQ(ResolveUrl(base, "?page=2"), "https://api.example.com/v1/items?page=2");
  EXPECT_EQ(ResolveUrl(base, "more?page=2"), "https://api.example.com/v1/more?page=2");
  EXPECT_EQ(ResolveUrl("http://h:8080", "/a"), "http://h:8080/a");
  EXPECT_EQ(ResolveUrl("http://h:8080?x=1", "?x=2"), "http://h:8080/?x=2");
}

TEST(HttpPages, JsonPaths) {
  INLET_ASSIGN_OR_FAIL(auto path, ParseJsonPath("data.items.0"));
  EXPECT_EQ(path, (std::vector<std::string>{"data", "items", "0"}));
  EXPECT_FALSE(ParseJsonPath("").ok());
  EXPECT_FALSE(ParseJsonPath("data..items").ok());
  EXPECT_FALSE(ParseJsonPath("data.").ok());
}

TEST(HttpPages, RetryAfterSecondsOrDate) {
  EXPECT_EQ(RetryAfterMs("120", 0), 120000);
  EXPECT_EQ(RetryAfterMs("0", 0), 0);
  // Sun, 06 Nov 1994 08:49:37 GMT is 784111777 s after 1970.
  EXPECT_EQ(RetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", 784111777000 - 5000), 5000);
  EXPECT_EQ(RetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", 784111777000 + 5000), 0);
  EXPECT_EQ(RetryAfterMs("soon", 0), std::nullopt);
  EXPECT_EQ(RetryAfterMs("", 0), std::nullopt);
  EXPECT_EQ(RetryAfterMs("-5", 0), std::nullopt);
}

}  // namespace inlet
