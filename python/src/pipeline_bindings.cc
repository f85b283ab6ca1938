// Pipelines from Python: load them (a YAML file or text), run them once, stream them, and
// read or reset their state (include/inlet/pipeline.h).
#include <nanobind/stl/function.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <atomic>

#include "bindings.h"
#include "errors.h"
#include "inlet/pipeline.h"

namespace inlet::python {

namespace {

// A flag another Python thread sets to stop a stream (Stream.stop()).
struct StopFlag {
  std::atomic<bool> value{false};
};

RunReport Run(const Pipeline& pipeline, bool dry_run,
              const std::optional<std::string>& backfill_from,
              const std::optional<std::string>& backfill_to) {
  RunOptions o;
  o.dry_run = dry_run;
  o.backfill_from = backfill_from;
  o.backfill_to = backfill_to;
  std::atomic<bool> stop{false};
  o.stop = &stop;
  return RunReleasedOrRaise<RunReport>([&] { return RunPipeline(pipeline, o); }, &stop);
}

StreamReport Stream(const Pipeline& pipeline, StopFlag& stop, int64_t idle_exit_ms,
                    bool catch_up, nb::object on_progress, int64_t progress_interval_ms) {
  StreamOptions o;
  o.idle_exit_ms = idle_exit_ms;
  o.stop = &stop.value;
  o.catch_up = catch_up;
  o.handle_signals = false;  // Python owns the signals: Ctrl-C sets stop (RunReleased)
  o.progress_interval_ms = progress_interval_ms;
  if (!on_progress.is_none()) {
    o.on_progress = [on_progress](const StreamReport& r) {
      nb::gil_scoped_acquire gil;
      try {
        on_progress(r);
      } catch (nb::python_error& e) {
        e.discard_as_unraisable("inlet stream progress callback");
      }
    };
  }
  return RunReleasedOrRaise<StreamReport>([&] { return RunStream(pipeline, o); },
                                          &stop.value, /*stop_ends_work=*/true);
}

}  // namespace

void AddPipelines(nb::module_& m) {
  nb::class_<Pipeline>(m, "Pipeline", "One validated pipeline of a pipeline file.")
      .def_prop_ro("name", &Pipeline::name)
      .def_prop_ro("source_kind", &Pipeline::source_kind)
      .def_prop_ro("streams", &Pipeline::streams)
      .def_prop_ro("source_location", &Pipeline::source_location)
      .def_prop_ro("table", &Pipeline::table)
      .def_prop_ro("strategy", &Pipeline::strategy)
      .def_prop_ro("file", &Pipeline::file)
      .def_prop_ro("line", &Pipeline::line)
      .def("__repr__", [](const Pipeline& p) {
        return "Pipeline(name='" + p.name() + "', strategy='" + p.strategy() +
               "', table='" + p.table() + "')";
      });

  m.def(
      "load_pipeline_file",
      [](const std::string& path) { return Unwrap(LoadPipelineFile(path)); },
      nb::arg("path"));
  m.def(
      "parse_pipeline_text",
      [](const std::string& text, const std::string& file, const std::string& base_dir) {
        return Unwrap(ParsePipelineText(text, file, base_dir));
      },
      nb::arg("text"), nb::arg("file"), nb::arg("base_dir"));

  nb::class_<RunReport::SkippedFile>(m, "SkippedFile")
      .def_ro("file", &RunReport::SkippedFile::file)
      .def_ro("reason", &RunReport::SkippedFile::reason)
      .def_ro("quarantined", &RunReport::SkippedFile::quarantined);

  nb::class_<MaintenanceReport>(m, "MaintenanceReport",
                                "What table maintenance did after a commit.")
      .def_ro("optimize", &MaintenanceReport::optimize)
      .def_ro("vacuum", &MaintenanceReport::vacuum)
      .def_ro("checkpoint", &MaintenanceReport::checkpoint)
      .def("to_json", &MaintenanceReport::ToJson)
      .def("__str__", &MaintenanceReport::ToText);

  nb::class_<RunReport>(m, "RunReport", "What one run of a pipeline did.")
      .def_ro("pipeline", &RunReport::pipeline)
      .def_ro("table", &RunReport::table)
      .def_ro("strategy", &RunReport::strategy)
      .def_prop_ro(
          "status", [](const RunReport& r) { return RunStatusName(r.status); },
          "committed, no_changes, no_significant_changes, dry_run, skipped or "
          "failed.")
      .def_ro("rows_read", &RunReport::rows_read)
      .def_ro("rows_skipped_watermark", &RunReport::rows_skipped_watermark)
      .def_ro("rows_deduplicated", &RunReport::rows_deduplicated)
      .def_ro("rows_rejected", &RunReport::rows_rejected)
      .def_ro("rows_written", &RunReport::rows_written)
      .def_ro("rows_inserted", &RunReport::rows_inserted)
      .def_ro("rows_updated", &RunReport::rows_updated)
      .def_ro("rows_deleted", &RunReport::rows_deleted)
      .def_ro("rows_late", &RunReport::rows_late)
      .def_ro("changed_percent", &RunReport::changed_percent)
      .def_ro("watermark_before", &RunReport::watermark_before)
      .def_ro("watermark_after", &RunReport::watermark_after)
      .def_ro("files_read", &RunReport::files_read)
      .def_ro("files_written", &RunReport::files_written)
      .def_ro("bytes_written", &RunReport::bytes_written)
      .def_ro("partitions_touched", &RunReport::partitions_touched)
      .def_ro("table_version", &RunReport::table_version)
      .def_ro("run", &RunReport::run)
      .def_ro("commits", &RunReport::commits)
      .def_ro("duration_ms", &RunReport::duration_ms)
      .def_ro("attempts", &RunReport::attempts)
      .def_ro("maintenance", &RunReport::maintenance)
      .def_ro("warnings", &RunReport::warnings)
      .def_ro("files_skipped", &RunReport::files_skipped)
      .def_ro("error", &RunReport::error)
      .def("to_json", &RunReport::ToJson,
           "The report as one line of JSON (inlet run --json).")
      .def("__str__", &RunReport::ToText);

  nb::class_<StreamReport>(m, "StreamReport", "What a stream did (so far).")
      .def_ro("pipeline", &StreamReport::pipeline)
      .def_ro("table", &StreamReport::table)
      .def_ro("topic", &StreamReport::topic)
      .def_ro("messages", &StreamReport::messages)
      .def_ro("rows_written", &StreamReport::rows_written)
      .def_ro("dead_letters", &StreamReport::dead_letters)
      .def_ro("skipped", &StreamReport::skipped)
      .def_ro("tombstones", &StreamReport::tombstones)
      .def_ro("rows_inserted", &StreamReport::rows_inserted)
      .def_ro("rows_updated", &StreamReport::rows_updated)
      .def_ro("rows_deleted", &StreamReport::rows_deleted)
      .def_ro("rows_late", &StreamReport::rows_late)
      .def_ro("commits", &StreamReport::commits)
      .def_ro("batches_discarded", &StreamReport::batches_discarded)
      .def_ro("rebalances", &StreamReport::rebalances)
      .def_ro("table_version", &StreamReport::table_version)
      .def_ro("duration_ms", &StreamReport::duration_ms)
      .def_ro("lag", &StreamReport::lag)
      .def_ro("position", &StreamReport::position)
      .def_ro("lag_bytes", &StreamReport::lag_bytes)
      .def_ro("lag_ms", &StreamReport::lag_ms)
      .def_prop_ro("status",
                   [](const StreamReport& r) { return StreamStatusName(r.status); })
      .def_ro("error", &StreamReport::error)
      .def("to_json", &StreamReport::ToJson);

  nb::class_<StopFlag>(m, "StopFlag", "Set to stop a stream at its next commit.")
      .def(nb::init<>())
      .def("set", [](StopFlag& f) { f.value.store(true); })
      .def("is_set", [](const StopFlag& f) { return f.value.load(); });

  m.def("run_pipeline", &Run, nb::arg("pipeline"), nb::arg("dry_run"),
        nb::arg("backfill_from").none(), nb::arg("backfill_to").none());
  m.def("run_stream", &Stream, nb::arg("pipeline"), nb::arg("stop"),
        nb::arg("idle_exit_ms"), nb::arg("catch_up"), nb::arg("on_progress").none(),
        nb::arg("progress_interval_ms"));
}

}  // namespace inlet::python
