#include "inlet/iceberg/values.h"

#include <arrow/extension_type.h>
#include <arrow/util/decimal.h>

#include <cstring>

namespace inlet::iceberg {

namespace {

template <typename T>
arrow::Result<T> Little(std::string_view bytes, const arrow::DataType& type) {
  if (bytes.size() != sizeof(T))
    return arrow::Status::Invalid("a ", type.ToString(), " bound of ", bytes.size(),
                                  " bytes (expected ", sizeof(T), ")");
  T v;
  std::memcpy(&v, bytes.data(), sizeof(T));  // little-endian hosts only (x86, arm64)
  return v;
}

template <typename T>
std::string PutLittle(T v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof(T));
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Scalar>> FromSingleValue(
    std::string_view bytes, const std::shared_ptr<arrow::DataType>& type) {
  using arrow::Type;
  switch (type->id()) {
    case Type::BOOL: {
      if (bytes.size() != 1)
        return arrow::Status::Invalid("a boolean bound of ", bytes.size(), " bytes");
      return arrow::MakeScalar(bytes[0] != 0);
    }
    case Type::INT32: {
      ARROW_ASSIGN_OR_RAISE(auto v, Little<int32_t>(bytes, *type));
      return std::make_shared<arrow::Int32Scalar>(v);
    }
    case Type::DATE32: {
      ARROW_ASSIGN_OR_RAISE(auto v, Little<int32_t>(bytes, *type));
      return std::make_shared<arrow::Date32Scalar>(v);
    }
    case Type::INT64: {
      // An int column promoted to long keeps its files' 4-byte bounds.
      if (bytes.size() == 4) {
        ARROW_ASSIGN_OR_RAISE(auto v, Little<int32_t>(bytes, *type));
        return std::make_shared<arrow::Int64Scalar>(v);
      }
      ARROW_ASSIGN_OR_RAISE(auto v, Little<int64_t>(bytes, *type));
      return std::make_shared<arrow::Int64Scalar>(v);
    }
    case Type::TIME64: {
      ARROW_ASSIGN_OR_RAISE(auto v, Little<int64_t>(bytes, *type));
      return std::make_shared<arrow::Time64Scalar>(v, type);
    }
    case Type::TIMESTAMP: {
      ARROW_ASSIGN_OR_RAISE(auto v, Little<int64_t>(bytes, *type));
      return std::make_shared<arrow::TimestampScalar>(v, type);
    }
    case Type::FLOAT: {
      ARROW_ASSIGN_OR_RAISE(auto v, Little<float>(bytes, *type));
      return std::make_shared<arrow::FloatScalar>(v);
    }
    case Type::DOUBLE: {
      if (bytes.size() == 4) {  // float promoted to double
        ARROW_ASSIGN_OR_RAISE(auto v, Little<float>(bytes, *type));
        return std::make_shared<arrow::DoubleScalar>(v);
      }
      ARROW_ASSIGN_OR_RAISE(auto v, Little<double>(bytes, *type));
      return std::make_shared<arrow::DoubleScalar>(v);
    }
    case Type::STRING:
      return std::make_shared<arrow::StringScalar>(std::string(bytes));
    case Type::BINARY:
      return std::make_shared<arrow::BinaryScalar>(std::string(bytes));
    case Type::FIXED_SIZE_BINARY: {
      const auto& f = static_cast<const arrow::FixedSizeBinaryType&>(*type);
      if (static_cast<int>(bytes.size()) != f.byte_width())
        return arrow::Status::Invalid("a fixed[", f.byte_width(), "] bound of ",
                                      bytes.size(), " bytes");
      return std::make_shared<arrow::FixedSizeBinaryScalar>(
          arrow::Buffer::FromString(std::string(bytes)), type);
    }
    case Type::DECIMAL128: {
      if (bytes.empty() || bytes.size() > 16)
        return arrow::Status::Invalid("a decimal bound of ", bytes.size(), " bytes");
      ARROW_ASSIGN_OR_RAISE(auto v, arrow::Decimal128::FromBigEndian(
                                        reinterpret_cast<const uint8_t*>(bytes.data()),
                                        static_cast<int32_t>(bytes.size())));
      return std::make_shared<arrow::Decimal128Scalar>(v, type);
    }
    case Type::EXTENSION: {  // uuid: 16 bytes, big-endian, as stored
      const auto& ext = static_cast<const arrow::ExtensionType&>(*type);
      ARROW_ASSIGN_OR_RAISE(auto storage, FromSingleValue(bytes, ext.storage_type()));
      return std::static_pointer_cast<arrow::Scalar>(
          std::make_shared<arrow::ExtensionScalar>(storage, type));
    }
    default:
      return arrow::Status::NotImplemented("single values of type ", type->ToString());
  }
}

arrow::Result<std::string> ToSingleValue(const arrow::Scalar& value) {
  using arrow::Type;
  if (!value.is_valid) return arrow::Status::Invalid("a null has no single-value form");
  switch (value.type->id()) {
    case Type::BOOL:
      return std::string(1,
                         static_cast<const arrow::BooleanScalar&>(value).value ? 1 : 0);
    case Type::INT32:
      return PutLittle(static_cast<const arrow::Int32Scalar&>(value).value);
    case Type::DATE32:
      return PutLittle(static_cast<const arrow::Date32Scalar&>(value).value);
    case Type::INT64:
      return PutLittle(static_cast<const arrow::Int64Scalar&>(value).value);
    case Type::TIME64:
      return PutLittle(static_cast<const arrow::Time64Scalar&>(value).value);
    case Type::TIMESTAMP:
      return PutLittle(static_cast<const arrow::TimestampScalar&>(value).value);
    case Type::FLOAT:
      return PutLittle(static_cast<const arrow::FloatScalar&>(value).value);
    case Type::DOUBLE:
      return PutLittle(static_cast<const arrow::DoubleScalar&>(value).value);
    case Type::STRING:
    case Type::BINARY:
    case Type::FIXED_SIZE_BINARY:
      return static_cast<const arrow::BaseBinaryScalar&>(value).value->ToString();
    case Type::DECIMAL128: {
      // The minimal two's-complement big-endian form of the unscaled value.
      auto bytes = static_cast<const arrow::Decimal128Scalar&>(value).value.ToBytes();
      std::string be(bytes.rbegin(), bytes.rend());
      size_t skip = 0;
      while (skip + 1 < be.size()) {
        uint8_t b = static_cast<uint8_t>(be[skip]),
                next = static_cast<uint8_t>(be[skip + 1]);
        if ((b == 0x00 && !(next & 0x80)) || (b == 0xff && (next & 0x80))) {
          ++skip;
        } else {
          break;
        }
      }
      return be.substr(skip);
    }
    case Type::EXTENSION:
      return ToSingleValue(*static_cast<const arrow::ExtensionScalar&>(value).value);
    default:
      return arrow::Status::NotImplemented("single values of type ",
                                           value.type->ToString());
  }
}

}  // namespace inlet::iceberg
