// What table operations return, as read-only Python classes.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <sstream>

#include "bindings.h"
#include "inlet/table.h"

namespace inlet::python {

void AddResults(nb::module_& m) {
  nb::class_<FileCounts>(m, "FileCounts", "A number of files and their bytes.")
      .def_ro("files", &FileCounts::files)
      .def_ro("bytes", &FileCounts::bytes)
      .def("__repr__", [](const FileCounts& c) {
        return "FileCounts(files=" + std::to_string(c.files) +
               ", bytes=" + std::to_string(c.bytes) + ")";
      });

  nb::class_<CommitResult>(m, "CommitResult", "What a write committed.")
      .def_ro("version", &CommitResult::version)
      .def_ro("rows_written", &CommitResult::rows_written)
      .def_ro("files_added", &CommitResult::files_added)
      .def_ro("files_removed", &CommitResult::files_removed)
      .def_ro("bytes_written", &CommitResult::bytes_written)
      .def_ro("partitions_touched", &CommitResult::partitions_touched)
      .def_ro("attempts", &CommitResult::attempts)
      .def("__repr__", [](const CommitResult& r) {
        return "CommitResult(version=" + std::to_string(r.version) +
               ", rows_written=" + std::to_string(r.rows_written) +
               ", files_added=" + std::to_string(r.files_added) + ")";
      });

  nb::class_<MergeResult>(m, "MergeResult",
                          "What a merge, delete or update did (with dry_run: would do).")
      .def_ro("commit", &MergeResult::commit)
      .def_prop_ro("version", [](const MergeResult& r) { return r.commit.version; })
      .def_ro("rows_inserted", &MergeResult::rows_inserted)
      .def_ro("rows_updated", &MergeResult::rows_updated)
      .def_ro("rows_deleted", &MergeResult::rows_deleted)
      .def_ro("source_duplicates", &MergeResult::source_duplicates)
      .def_ro("late_discarded", &MergeResult::late_discarded)
      .def_ro("rows_truncated", &MergeResult::rows_truncated)
      .def_ro("files_scanned", &MergeResult::files_scanned)
      .def_ro("files_rewritten", &MergeResult::files_rewritten)
      .def_ro("files_marked", &MergeResult::files_marked)
      .def_ro("rows_compared", &MergeResult::rows_compared)
      .def_ro("changed", &MergeResult::changed)
      .def("__repr__", [](const MergeResult& r) {
        std::ostringstream out;
        out << "MergeResult(version=" << r.commit.version
            << ", rows_inserted=" << r.rows_inserted
            << ", rows_updated=" << r.rows_updated << ", rows_deleted=" << r.rows_deleted
            << ", changed=" << (r.changed ? "True" : "False") << ")";
        return out.str();
      });

  nb::class_<OptimizeResult>(m, "OptimizeResult", "What a compaction did.")
      .def_ro("version", &OptimizeResult::version)
      .def_ro("before", &OptimizeResult::before)
      .def_ro("after", &OptimizeResult::after)
      .def_ro("files_removed", &OptimizeResult::files_removed)
      .def_ro("files_added", &OptimizeResult::files_added)
      .def_ro("rows", &OptimizeResult::rows)
      .def_ro("partitions_optimized", &OptimizeResult::partitions_optimized)
      .def_ro("attempts", &OptimizeResult::attempts)
      .def_ro("duration_ms", &OptimizeResult::duration_ms);

  nb::class_<VacuumResult>(m, "VacuumResult", "What a vacuum deleted (would delete).")
      .def_ro("retention_hours", &VacuumResult::retention_hours)
      .def_ro("dry_run", &VacuumResult::dry_run)
      .def_ro("files", &VacuumResult::files)
      .def_ro("deleted", &VacuumResult::deleted)
      .def_ro("refs_removed", &VacuumResult::refs_removed)
      .def_ro("before", &VacuumResult::before)
      .def_ro("after", &VacuumResult::after)
      .def_ro("duration_ms", &VacuumResult::duration_ms);

  nb::class_<CheckpointResult>(m, "CheckpointResult", "What a checkpoint wrote.")
      .def_ro("version", &CheckpointResult::version)
      .def_ro("checkpoint_bytes", &CheckpointResult::checkpoint_bytes)
      .def_ro("log_before", &CheckpointResult::log_before)
      .def_ro("log_after", &CheckpointResult::log_after)
      .def_ro("duration_ms", &CheckpointResult::duration_ms);

  nb::class_<RestoreResult>(m, "RestoreResult", "What a restore committed.")
      .def_ro("version", &RestoreResult::version)
      .def_ro("restored_version", &RestoreResult::restored_version)
      .def_ro("files_added", &RestoreResult::files_added)
      .def_ro("files_removed", &RestoreResult::files_removed)
      .def_ro("attempts", &RestoreResult::attempts);
}

}  // namespace inlet::python
