// The rows of a whole extract of Parquet files as one stream of batches, for runs that
// need no extract in memory (a snapshot diff, a streamed full refresh).
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <memory>
#include <vector>

#include "inlet/source/source.h"
#include "inlet/source/source_files.h"

namespace inlet {

/// Each file's row groups are decoded a batch at a time (memory holds a batch, not a
/// file). The files' schemas are unified as ReadSourceFiles unifies its tables (declared
/// columns get their types; other numbers widen; a column a file lacks is null there); a
/// value that does not convert, or a file that cannot be read, fails naming the file
/// (and row). A trailing kPartColumn numbers each row's file, by its index in files.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenParquetExtract(
    std::vector<SourceFile> files, DeclaredSchema declared,
    std::shared_ptr<const SourceStore> store);

}  // namespace inlet
