// Partition transforms against the spec's test vectors (Appendix B) and its rules for
// negative values and truncation.
#include "inlet/iceberg/transforms.h"

#include <arrow/api.h>
#include <arrow/extension/uuid.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

#include "inlet/testing/util.h"

namespace inlet::iceberg {

namespace {

std::shared_ptr<arrow::Array> Json(const std::shared_ptr<arrow::DataType>& type,
                                   const std::string& json) {
  return arrow::json::ArrayFromJSONString(type, json).ValueOrDie();
}

int32_t Bucket(const std::shared_ptr<arrow::Array>& one) {
  // bucket[INT32_MAX] leaves the masked hash itself: (hash & INT_MAX) % N.
  auto out = Apply(Transform{Transform::kBucket, INT32_MAX}, one).ValueOrDie();
  return static_cast<const arrow::Int32Array&>(*out).Value(0);
}

}  // namespace

TEST(IcebergTransforms, BucketHashesAsTheSpecSays) {
  // Appendix B's hash values, masked with INT_MAX as bucket[N] masks them.
  auto masked = [](int32_t h) { return h & INT32_MAX; };
  EXPECT_EQ(Bucket(Json(arrow::int32(), "[34]")), masked(2017239379));
  EXPECT_EQ(Bucket(Json(arrow::int64(), "[34]")), masked(2017239379));
  EXPECT_EQ(Bucket(Json(arrow::decimal128(4, 2), R"(["14.20"])")), masked(-500754589));
  EXPECT_EQ(Bucket(Json(arrow::date32(), "[17486]")), masked(-653330422));  // 2017-11-16
  EXPECT_EQ(Bucket(Json(arrow::time64(arrow::TimeUnit::MICRO), "[81068000000]")),
            masked(-662762989));  // 22:31:08
  EXPECT_EQ(Bucket(Json(arrow::timestamp(arrow::TimeUnit::MICRO), "[1510871468000000]")),
            masked(-2047944441));  // 2017-11-16T22:31:08
  EXPECT_EQ(Bucket(Json(arrow::timestamp(arrow::TimeUnit::NANO, "UTC"),
                        "[1510871468000000001]")),
            masked(-2047944441));  // nanoseconds hash as their microseconds
  EXPECT_EQ(Bucket(Json(arrow::utf8(), R"(["iceberg"])")), masked(1210000089));
  EXPECT_EQ(Bucket(Json(arrow::binary(), R"(["\u0000\u0001\u0002\u0003"])")),
            masked(-188683207));
  std::string uuid("\xf7\x9c\x3e\x09\x67\x7c\x4b\xbd\xa4\x79\x3f\x34\x9c\xb7\x85\xe7",
                   16);
  auto storage = std::make_shared<arrow::FixedSizeBinaryArray>(
      arrow::fixed_size_binary(16), 1, arrow::Buffer::FromString(uuid));
  auto uuids = arrow::ExtensionType::WrapArray(arrow::extension::uuid(), storage);
  EXPECT_EQ(Bucket(uuids), masked(1488055340));
  auto nulls =
      Apply(Transform{Transform::kBucket, 16}, Json(arrow::int64(), "[null, 34]"));
  ASSERT_TRUE(nulls.ok());
  EXPECT_TRUE((*nulls)->IsNull(0));
  EXPECT_EQ(static_cast<const arrow::Int32Array&>(**nulls).Value(1), 2017239379 % 16);
}

TEST(IcebergTransforms, TimeUnitsFloorBeforeTheEpoch) {
  auto ts = Json(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                 "[0, -1, 1709294400000000, null]");  // 1970, just before, 2024-03-01T12
  auto hours = Apply(Transform{Transform::kHour, 0}, ts).ValueOrDie();
  EXPECT_TRUE(hours->Equals(*Json(arrow::int32(), "[0, -1, 474804, null]")))
      << hours->ToString();
  auto days = Apply(Transform{Transform::kDay, 0}, ts).ValueOrDie();
  EXPECT_TRUE(days->Equals(*Json(arrow::date32(), "[0, -1, 19783, null]")))
      << days->ToString();
  auto months = Apply(Transform{Transform::kMonth, 0}, ts).ValueOrDie();
  EXPECT_TRUE(months->Equals(*Json(arrow::int32(), "[0, -1, 650, null]")))
      << months->ToString();
  auto years = Apply(Transform{Transform::kYear, 0}, ts).ValueOrDie();
  EXPECT_TRUE(years->Equals(*Json(arrow::int32(), "[0, -1, 54, null]")))
      << years->ToString();
  auto date_months =
      Apply(Transform{Transform::kMonth, 0}, Json(arrow::date32(), "[-1, 31]"))
          .ValueOrDie();
  EXPECT_TRUE(date_months->Equals(*Json(arrow::int32(), "[-1, 1]")));
  EXPECT_FALSE(ResultType(Transform{Transform::kHour, 0}, arrow::date32()).ok());
}

TEST(IcebergTransforms, TruncateAsTheSpecSays) {
  Transform t10{Transform::kTruncate, 10};
  EXPECT_TRUE(Apply(t10, Json(arrow::int32(), "[1, -1, 10, -10, null]"))
                  .ValueOrDie()
                  ->Equals(*Json(arrow::int32(), "[0, -10, 10, -10, null]")));
  EXPECT_TRUE(Apply(t10, Json(arrow::decimal128(9, 2), R"(["10.65", "-0.05"])"))
                  .ValueOrDie()
                  ->Equals(*Json(arrow::decimal128(9, 2), R"(["10.60", "-0.10"])")));
  Transform t3{Transform::kTruncate, 3};
  EXPECT_TRUE(Apply(t3, Json(arrow::utf8(), R"(["iceberg", "déjà vu", "ab"])"))
                  .ValueOrDie()
                  ->Equals(*Json(arrow::utf8(), R"(["ice", "déj", "ab"])")));
  EXPECT_EQ(ParseTransform("bucket[16]").ValueOrDie().param, 16);
  EXPECT_TRUE(ParseTransform("zorder").status().IsNotImplemented());
  EXPECT_FALSE(ParseTransform("bucket[x]").ok());
}

}  // namespace inlet::iceberg
