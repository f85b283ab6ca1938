#include "inlet/iceberg/position_deletes.h"

#include <arrow/array/builder_binary.h>
#include <arrow/array/builder_primitive.h>
#include <arrow/io/interfaces.h>
#include <arrow/table.h>
#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/writer.h>

namespace inlet::iceberg {

arrow::Result<int64_t> WritePositionDeleteFile(const TableStore& store,
                                               const std::string& rel,
                                               const std::string& data_file,
                                               const std::vector<uint64_t>& positions) {
  auto id = [](int32_t v) {
    return arrow::key_value_metadata({"PARQUET:field_id"}, {std::to_string(v)});
  };
  auto schema = arrow::schema(
      {arrow::field("file_path", arrow::utf8(), false, id(kDeleteFilePathId)),
       arrow::field("pos", arrow::int64(), false, id(kDeletePosId))});
  arrow::StringBuilder paths;
  arrow::Int64Builder pos;
  ARROW_RETURN_NOT_OK(paths.Reserve(static_cast<int64_t>(positions.size())));
  ARROW_RETURN_NOT_OK(pos.Reserve(static_cast<int64_t>(positions.size())));
  for (uint64_t p : positions) {
    ARROW_RETURN_NOT_OK(paths.Append(data_file));
    ARROW_RETURN_NOT_OK(pos.Append(static_cast<int64_t>(p)));
  }
  ARROW_ASSIGN_OR_RAISE(auto path_array, paths.Finish());
  ARROW_ASSIGN_OR_RAISE(auto pos_array, pos.Finish());
  auto table = arrow::Table::Make(schema, {path_array, pos_array});
  auto props = parquet::WriterProperties::Builder()
                   .compression(arrow::Compression::ZSTD)
                   ->created_by("inlet")
                   ->build();
  const std::string path = store.Resolve(rel);
  ARROW_ASSIGN_OR_RAISE(auto sink, store.fs()->OpenOutputStream(path));
  auto st = parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), sink,
                                       1024 * 1024, props);
  if (st.ok()) st = sink->Close();
  if (!st.ok())
    return st.WithMessage("cannot write position delete file ", rel, " of ",
                          store.location(), ": ", st.message());
  ARROW_ASSIGN_OR_RAISE(auto info, store.fs()->GetFileInfo(path));
  return info.size();
}

}  // namespace inlet::iceberg
