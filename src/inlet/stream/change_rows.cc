#include "inlet/stream/change_rows.h"

#include "inlet/source/source.h"

namespace inlet::stream {

arrow::Status ChangeRows::Add(const std::vector<Column>& columns, const Values& values,
                              std::string_view op, pgoutput::Lsn commit_lsn,
                              pgoutput::Lsn lsn) {
  if (cached_for_ != &columns || cached_.size() != columns.size()) {
    cached_.clear();
    for (const auto& c : columns) {
      Slot& slot = SlotOf(c);
      if (!slot.type.type->Equals(*c.type.type))
        return arrow::Status::Invalid(
            "column '", c.name, "' changed type from ", slot.type.type->ToString(),
            " to ", c.type.type->ToString(),
            " while the stream ran: a table column keeps its type");
      cached_.push_back(&slot);
    }
    cached_for_ = &columns;
  }
  for (size_t i = 0; i < columns.size(); ++i) {
    Slot& slot = *cached_[i];
    slot.seen = true;
    const auto& v = values[i];
    if (v && *v) {
      auto st = pgtext::Append(slot.type, **v, slot.values.get());
      if (!st.ok())
        return st.WithMessage("column '", columns[i].name, "' (", slot.type.pg_type,
                              "): ", st.message());
    } else {
      ARROW_RETURN_NOT_OK(slot.values->AppendNull());
    }
    if (!v) ARROW_RETURN_NOT_OK(NotGiven(slot));
    if (v && slot.given) ARROW_RETURN_NOT_OK(slot.given->Append(true));
  }
  // Columns of the batch that this row's relation no longer has.
  if (slots_.size() != columns.size()) {
    for (auto& [name, slot] : slots_) {
      if (slot.seen) {
        slot.seen = false;
        continue;
      }
      ARROW_RETURN_NOT_OK(slot.values->AppendNull());
      ARROW_RETURN_NOT_OK(NotGiven(slot));
    }
  } else {
    for (Slot* slot : cached_) slot->seen = false;
  }
  ARROW_RETURN_NOT_OK(op_.Append(op));
  ARROW_RETURN_NOT_OK(commit_lsn_.Append(static_cast<int64_t>(commit_lsn)));
  ARROW_RETURN_NOT_OK(lsn_.Append(static_cast<int64_t>(lsn)));
  ++rows_;
  return arrow::Status::OK();
}

// The batch so far as a table (and a fresh one begins).
arrow::Result<std::shared_ptr<arrow::Table>> ChangeRows::Finish() {
  arrow::FieldVector fields;
  arrow::ArrayVector arrays;
  for (const auto& name : order_) {
    Slot& slot = slots_.at(name);
    std::shared_ptr<arrow::Array> a;
    ARROW_RETURN_NOT_OK(slot.values->Finish(&a));
    fields.push_back(arrow::field(name, slot.type.type));
    arrays.push_back(std::move(a));
    if (slot.given) {
      ARROW_RETURN_NOT_OK(slot.given->Finish(&a));
      fields.push_back(arrow::field(kGivenPrefix + name, arrow::boolean()));
      arrays.push_back(std::move(a));
    }
  }
  std::shared_ptr<arrow::Array> a;
  ARROW_RETURN_NOT_OK(op_.Finish(&a));
  fields.push_back(arrow::field(kOpColumn, arrow::utf8()));
  arrays.push_back(std::move(a));
  ARROW_RETURN_NOT_OK(commit_lsn_.Finish(&a));
  fields.push_back(arrow::field(kPgCommitLsnColumn, arrow::int64()));
  arrays.push_back(std::move(a));
  ARROW_RETURN_NOT_OK(lsn_.Finish(&a));
  fields.push_back(arrow::field(kPgLsnColumn, arrow::int64()));
  arrays.push_back(std::move(a));
  auto out = arrow::Table::Make(arrow::schema(fields), arrays, rows_);
  slots_.clear();
  order_.clear();
  cached_.clear();
  cached_for_ = nullptr;
  rows_ = 0;
  return out;
}

ChangeRows::Slot& ChangeRows::SlotOf(const Column& c) {
  auto it = slots_.find(c.name);
  if (it != slots_.end()) return it->second;
  Slot slot;
  slot.type = c.type;
  slot.values = *arrow::MakeBuilder(c.type.type);
  // Rows before the column appeared did not give it.
  if (rows_ > 0) {
    (void)slot.values->AppendNulls(rows_);
    slot.given = std::make_unique<arrow::BooleanBuilder>();
    (void)slot.given->AppendValues(rows_, false);
  }
  order_.push_back(c.name);
  return slots_.emplace(c.name, std::move(slot)).first->second;
}

arrow::Status ChangeRows::NotGiven(Slot& slot) {
  if (!slot.given) {
    slot.given = std::make_unique<arrow::BooleanBuilder>();
    ARROW_RETURN_NOT_OK(slot.given->AppendValues(rows_, true));
  }
  return slot.given->Append(false);
}

}  // namespace inlet::stream
