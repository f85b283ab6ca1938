// JSON input (arrays and NDJSON) through Arrow's JSON reader. Text that is a date or a
// time is typed as CSV types it (a bare date a date, a time with a zone a UTC timestamp,
// one without a timestamp_ntz), columns keep the file's order, and errors name lines.
#pragma once

#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "inlet/source/debezium.h"

namespace inlet {

/// Opens the input anew (a second reading may be needed).
using InputOpener =
    std::function<arrow::Result<std::shared_ptr<arrow::io::InputStream>>()>;

/// An opener of an in-memory buffer.
InputOpener BufferOpener(std::shared_ptr<arrow::Buffer> buffer);

/// NDJSON: types (may be null) are parsed as given, the declared columns keep Arrow's
/// inference, the other text columns that hold dates or times are typed as CSV types
/// them. file_order: with types, keep the first record's column order.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenJsonLines(
    const InputOpener& open, std::shared_ptr<arrow::Schema> types = nullptr,
    std::set<std::string> declared = {}, bool file_order = true);

/// JSON text: an array of objects or one object per line (NDJSON). name is for messages.
/// Text that is a date or a time is typed as CSV types it (a bare date a date, a time
/// with a zone a UTC timestamp, one without a timestamp_ntz), but in the declared
/// columns, whose types are the caller's to give.
/// types: columns parsed with these types by Arrow (numbers and strings alike), whatever
/// the rest infers; the columns keep the first record's order.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenJsonText(
    std::shared_ptr<arrow::Buffer> text, const std::string& name,
    const std::set<std::string>& declared = {},
    std::shared_ptr<arrow::Schema> types = nullptr);

/// Debezium change events held in memory (see DecodeDebeziumFile).
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDebeziumText(
    std::shared_ptr<arrow::Buffer> text, const std::string& name,
    const DebeziumOptions& options);

/// Where the first malformed JSON value of a file is ("line 7: malformed JSON"), lines
/// counted from 1; empty when there is none. Reads the file again: for error paths.
/// With Arrow's message of a column whose values change kind ("changed from number to
/// string"), where that happens ("line 7, column 'id': a string where ...").
std::string LocateJsonError(const std::string& path, const std::string& format,
                            const std::string& arrow_message = "");
/// The same in a file's (uncompressed) text, read elsewhere (from object storage).
std::string LocateJsonErrorInText(const std::string& text, const std::string& format,
                                  const std::string& arrow_message = "");

}  // namespace inlet
