// Simple row predicates: `col op literal`, AND-ed. They drive file skipping (partition
// values and min/max/null statistics) and row filtering in scans.
#pragma once

#include <arrow/result.h>

#include <string>
#include <string_view>
#include <vector>

namespace inlet {

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe, kIsNull, kIsNotNull };

/// One comparison of a column with a literal. The literal is kept as text and converted
/// to the column's type when the predicate is bound to a schema.
struct Predicate {
  std::string column;
  CompareOp op = CompareOp::kEq;
  std::string literal;  // unused for kIsNull / kIsNotNull

  std::string ToString() const;
};

/// A conjunction of predicates; empty means "all rows".
using Conjunction = std::vector<Predicate>;

/// Parses "a = 1 AND b >= 'x y' AND c IS NULL". String literals use single quotes ('' for
/// a quote); numbers, dates and timestamps may be quoted or bare. On failure returns
/// Invalid naming the position of the problem.
arrow::Result<Conjunction> ParseConjunction(std::string_view text);

}  // namespace inlet
