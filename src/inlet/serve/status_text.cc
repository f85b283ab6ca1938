#include "inlet/serve/status_text.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <sstream>

#include "inlet/common/json.h"
#include "inlet/pipeline/metrics.h"
#include "inlet/time.h"

namespace inlet::serve {

namespace {

std::string Label(const PipelineStatus& p) {
  return "pipeline=\"" + PrometheusLabelValue(p.name) + "\"";
}

std::string Seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(ms) / 1000.0);
  return buf;
}

std::string Iso(int64_t ms) { return FormatTimestampMillisIso(ms); }

Json ReportJson(const RunRecord& r) {
  auto report = ParseJson(r.report.ToJson(), "run report");
  return Json{{"pipeline", r.report.pipeline},
              {"trigger", r.trigger},
              {"attempt", r.attempt},
              {"started", Iso(r.started_ms)},
              {"finished", Iso(r.finished_ms)},
              {"report", report.ok() ? *report : Json(nullptr)}};
}

std::string Html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Rows written by each of the last runs, as bars (failed runs red).
std::string Chart(const PipelineStatus& p) {
  const int width = 360, height = 60;
  size_t n = p.runs.size();
  if (n == 0) return "<span class=dim>no runs yet</span>";
  int64_t most = 1;
  for (const auto& r : p.runs) most = std::max(most, r.report.rows_written);
  double bar = static_cast<double>(width) / static_cast<double>(std::max<size_t>(n, 10));
  std::ostringstream svg;
  svg << "<svg width=" << width << " height=" << height + 14
      << " role=img aria-label=\"rows written per run\">";
  size_t i = 0;
  for (const auto& r : p.runs) {
    // Committed runs in blue by rows written; runs that changed nothing as a grey stub;
    // failed runs as a full red bar.
    RunStatus st = r.report.status;
    bool failed = st == RunStatus::kFailed;
    bool committed = st == RunStatus::kCommitted;
    double h = failed      ? height
               : committed ? std::max(3.0, static_cast<double>(r.report.rows_written) *
                                               height / static_cast<double>(most))
                           : 3.0;
    const char* color = failed ? "#d9534f" : committed ? "#4a90d9" : "#b0b0b0";
    svg << "<rect x=" << static_cast<int>(i * bar)
        << " y=" << static_cast<int>(height - h)
        << " width=" << std::max(1, static_cast<int>(bar) - 2)
        << " height=" << static_cast<int>(h) << " fill=\"" << color << "\"><title>"
        << Html(Iso(r.started_ms)) << ": " << RunStatusName(st) << ", "
        << r.report.rows_written << " rows written</title></rect>";
    ++i;
  }
  svg << "<text x=0 y=" << height + 12 << " font-size=10>last " << n << " runs; tallest "
      << most << " rows; grey: nothing to change; red: failed</text></svg>";
  return svg.str();
}

}  // namespace

std::string MetricsText(const std::vector<PipelineStatus>& pipelines,
                        int64_t started_ms) {
  std::ostringstream out;
  auto head = [&](const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  head("inlet_service_start_time_seconds", "gauge", "When the service started.");
  out << "inlet_service_start_time_seconds " << Seconds(started_ms) << '\n';
  head("inlet_pipeline_info", "gauge", "One per pipeline, its description in labels.");
  for (const auto& p : pipelines) {
    out << "inlet_pipeline_info{" << Label(p) << ",kind=\""
        << PrometheusLabelValue(p.kind) << "\",strategy=\""
        << PrometheusLabelValue(p.strategy) << "\",schedule=\""
        << PrometheusLabelValue(p.schedule) << "\"} 1\n";
  }
  head("inlet_runs_total", "counter", "Runs that ended, by status.");
  for (const auto& p : pipelines) {
    for (const char* status :
         {"committed", "no_changes", "no_significant_changes", "skipped", "failed"}) {
      auto it = p.runs_by_status.find(status);
      out << "inlet_runs_total{" << Label(p) << ",status=\"" << status << "\"} "
          << (it == p.runs_by_status.end() ? 0 : it->second) << '\n';
    }
  }
  auto counter = [&](const char* name, const char* help,
                     const std::function<int64_t(const PipelineStatus&)>& value,
                     bool streams = false) {
    head(name, "counter", help);
    for (const auto& p : pipelines)
      if (streams == p.stream_source)
        out << name << '{' << Label(p) << "} " << value(p) << '\n';
  };
  head("inlet_run_duration_seconds", "summary", "How long runs took.");
  for (const auto& p : pipelines) {
    if (p.stream_source) continue;
    int64_t runs = 0;
    for (const auto& [status, n] : p.runs_by_status) runs += n;
    out << "inlet_run_duration_seconds_sum{" << Label(p) << "} "
        << Seconds(p.duration_ms_total) << "\ninlet_run_duration_seconds_count{"
        << Label(p) << "} " << runs << '\n';
  }
  counter("inlet_rows_read_total", "Rows read from the source.",
          [](const PipelineStatus& p) { return p.rows_read; });
  counter("inlet_rows_written_total", "Rows committed to the table.",
          [](const PipelineStatus& p) { return p.rows_written; });
  counter("inlet_rows_rejected_total", "Rows rejected by the quality gates.",
          [](const PipelineStatus& p) { return p.rows_rejected; });
  counter("inlet_rows_inserted_total", "Rows inserted by merges.",
          [](const PipelineStatus& p) { return p.rows_inserted; });
  counter("inlet_rows_updated_total", "Rows updated by merges.",
          [](const PipelineStatus& p) { return p.rows_updated; });
  counter("inlet_rows_deleted_total", "Rows deleted by merges.",
          [](const PipelineStatus& p) { return p.rows_deleted; });
  counter("inlet_partitions_touched_total", "Partitions runs wrote to.",
          [](const PipelineStatus& p) { return p.partitions_touched; });
  counter("inlet_maintenance_optimize_runs_total", "Compactions after commits.",
          [](const PipelineStatus& p) { return p.optimize_runs; });
  counter("inlet_maintenance_files_before_total",
          "Live data files before each compaction, summed.",
          [](const PipelineStatus& p) { return p.files_before; });
  counter("inlet_maintenance_files_after_total",
          "Live data files after each compaction, summed.",
          [](const PipelineStatus& p) { return p.files_after; });
  counter("inlet_maintenance_bytes_before_total",
          "Bytes of live data files before each compaction, summed.",
          [](const PipelineStatus& p) { return p.bytes_before; });
  counter("inlet_maintenance_bytes_after_total",
          "Bytes of live data files after each compaction, summed.",
          [](const PipelineStatus& p) { return p.bytes_after; });
  counter("inlet_maintenance_vacuumed_files_total", "Files vacuum deleted.",
          [](const PipelineStatus& p) { return p.vacuumed_files; });
  counter("inlet_maintenance_failures_total", "Maintenance steps that failed.",
          [](const PipelineStatus& p) { return p.maintenance_failures; });
  head("inlet_last_changed_percent", "gauge",
       "The last snapshot diff's changed rows, as a percentage of the table's.");
  for (const auto& p : pipelines) {
    for (auto r = p.runs.rbegin(); r != p.runs.rend(); ++r) {
      if (!r->report.changed_percent) continue;
      out << "inlet_last_changed_percent{" << Label(p) << "} "
          << *r->report.changed_percent << '\n';
      break;
    }
  }
  auto gauge_ms =
      [&](const char* name, const char* help,
          const std::function<std::optional<int64_t>(const PipelineStatus&)>& v) {
        head(name, "gauge", help);
        for (const auto& p : pipelines)
          if (auto ms = v(p))
            out << name << '{' << Label(p) << "} " << Seconds(*ms) << '\n';
      };
  gauge_ms("inlet_last_success_timestamp_seconds",
           "When the last run that did not fail ended.",
           [](const PipelineStatus& p) { return p.last_success_ms; });
  gauge_ms("inlet_last_run_timestamp_seconds", "When the last run ended.",
           [](const PipelineStatus& p) -> std::optional<int64_t> {
             if (p.runs.empty()) return std::nullopt;
             return p.runs.back().finished_ms;
           });
  gauge_ms("inlet_last_run_duration_seconds", "How long the last run took.",
           [](const PipelineStatus& p) -> std::optional<int64_t> {
             if (p.runs.empty()) return std::nullopt;
             return p.runs.back().finished_ms - p.runs.back().started_ms;
           });
  gauge_ms("inlet_next_run_timestamp_seconds", "When the next run is due.",
           [](const PipelineStatus& p) { return p.next_run_ms; });
  head("inlet_table_version", "gauge",
       "The table version of the last commit (-1: none).");
  for (const auto& p : pipelines) {
    int64_t v = p.stream && p.stream->table_version >= 0 ? p.stream->table_version
                                                         : p.table_version;
    out << "inlet_table_version{" << Label(p) << "} " << v << '\n';
  }
  head("inlet_running", "gauge", "1 while a run (or the stream) is going.");
  for (const auto& p : pipelines)
    out << "inlet_running{" << Label(p) << "} " << (p.state == "running" ? 1 : 0) << '\n';
  counter(
      "inlet_stream_restarts_total", "Times a failed stream was started again.",
      [](const PipelineStatus& p) { return p.stream_restarts; }, true);
  std::vector<StreamReport> streams;
  for (const auto& p : pipelines) {
    if (!p.stream_source) continue;
    if (p.stream) {
      streams.push_back(*p.stream);
    } else {  // not reported yet
      StreamReport r;
      r.pipeline = p.name;
      r.table = p.table;
      r.topic = p.source;
      streams.push_back(r);
    }
  }
  out << PrometheusText(streams);
  return out.str();
}

std::string PipelinesJson(const std::vector<PipelineStatus>& pipelines) {
  Json out = Json::array();
  for (const auto& p : pipelines) {
    Json j{{"name", p.name},         {"kind", p.kind},         {"table", p.table},
           {"strategy", p.strategy}, {"schedule", p.schedule}, {"state", p.state}};
    j["next_run"] = p.next_run_ms ? Json(Iso(*p.next_run_ms)) : Json(nullptr);
    j["last_run"] = p.runs.empty() ? Json(nullptr) : ReportJson(p.runs.back());
    j["last_success"] = p.last_success_ms ? Json(Iso(*p.last_success_ms)) : Json(nullptr);
    Json runs = Json::object();
    for (const auto& [status, n] : p.runs_by_status) runs[status] = n;
    j["totals"] = {{"runs", runs},
                   {"rows_read", p.rows_read},
                   {"rows_written", p.rows_written},
                   {"rows_rejected", p.rows_rejected}};
    if (p.stream) {
      auto report = ParseJson(p.stream->ToJson(), "stream report");
      j["stream"] = report.ok() ? *report : Json(nullptr);
      j["stream_restarts"] = p.stream_restarts;
    }
    out.push_back(std::move(j));
  }
  return DumpJson(out);
}

std::string RunsJson(const std::vector<PipelineStatus>& pipelines,
                     const std::string& pipeline, size_t limit) {
  std::vector<const RunRecord*> runs;
  for (const auto& p : pipelines) {
    if (!pipeline.empty() && p.name != pipeline) continue;
    for (const auto& r : p.runs) runs.push_back(&r);
  }
  std::stable_sort(runs.begin(), runs.end(), [](const RunRecord* a, const RunRecord* b) {
    return a->started_ms > b->started_ms;
  });
  if (limit > 0 && runs.size() > limit) runs.resize(limit);
  Json out = Json::array();
  for (const RunRecord* r : runs) out.push_back(ReportJson(*r));
  return DumpJson(Json{{"runs", out}});
}

std::string StatusPage(const std::vector<PipelineStatus>& pipelines, int64_t started_ms) {
  std::ostringstream html;
  html << "<!doctype html><html lang=en><head><meta charset=utf-8>"
          "<meta http-equiv=refresh content=10><title>inlet serve</title><style>"
          "body{font:14px system-ui,sans-serif;margin:24px;color:#222}"
          "table{border-collapse:collapse;margin-bottom:20px}"
          "td,th{border-bottom:1px solid #ddd;padding:6px "
          "10px;text-align:left;vertical-align:top}"
          "td:nth-child(n+2){white-space:nowrap}"
          ".failed{color:#c9302c;font-weight:bold}.committed{color:#2e7d32}.dim{color:#"
          "888}"
          "pre{white-space:pre-wrap;max-width:900px;margin:0}</style></head><body>"
       << "<h1>inlet serve</h1><p class=dim>started " << Html(Iso(started_ms))
       << "; this page refreshes every 10 s; <a href=/api/pipelines>/api/pipelines</a>, "
          "<a href=/api/runs>/api/runs</a>, <a href=/metrics>/metrics</a></p>"
       << "<table><tr><th>pipeline</th><th>state</th><th>schedule</th><th>next run</th>"
          "<th>last run</th><th>rows written per run</th></tr>";
  for (const auto& p : pipelines) {
    html << "<tr><td><b>" << Html(p.name) << "</b><br><span class=dim>" << Html(p.kind)
         << " &rarr; " << Html(p.table) << " (" << Html(p.strategy) << ")</span></td><td>"
         << Html(p.state) << "</td><td>" << Html(p.schedule) << "</td><td>"
         << (p.next_run_ms ? Html(Iso(*p.next_run_ms)) : "") << "</td><td>";
    if (!p.runs.empty()) {
      const RunRecord& r = p.runs.back();
      std::string status = RunStatusName(r.report.status);
      html << "<span class=" << status << ">" << Html(status) << "</span><br>"
           << Html(Iso(r.finished_ms)) << "<br>" << r.report.rows_written << " rows, "
           << r.report.duration_ms << " ms";
    } else if (p.stream) {
      html << Html(StreamStatusName(p.stream->status)) << "<br>" << p.stream->rows_written
           << " rows, " << p.stream->commits << " commits";
    }
    html << "</td><td>" << (p.stream_source ? std::string() : Chart(p)) << "</td></tr>";
  }
  html << "</table><h2>Failures</h2>";
  bool any = false;
  for (const auto& p : pipelines) {
    for (auto r = p.runs.rbegin(); r != p.runs.rend(); ++r) {
      if (r->report.status != RunStatus::kFailed) continue;
      any = true;
      html << "<p><b>" << Html(p.name) << "</b> " << Html(Iso(r->finished_ms)) << " ("
           << Html(r->trigger) << ", attempt " << r->attempt << ")<pre class=failed>"
           << Html(r->report.error) << "</pre></p>";
    }
    if (p.stream && p.stream->status == StreamStatus::kFailed) {
      any = true;
      html << "<p><b>" << Html(p.name) << "</b> stream<pre class=failed>"
           << Html(p.stream->error) << "</pre></p>";
    }
  }
  if (!any) html << "<p class=dim>none among the runs kept</p>";
  html << "</body></html>\n";
  return html.str();
}

}  // namespace inlet::serve
