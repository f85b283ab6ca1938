// Streams' counters in the Prometheus text format, for node_exporter's textfile collector
// or any scraper that reads a file (inlet stream --metrics-file).
#include "inlet/pipeline/metrics.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <tuple>

#include "inlet/pipeline.h"

namespace inlet {

std::string PrometheusLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

namespace {

std::string Labels(const StreamReport& r) {
  return "pipeline=\"" + PrometheusLabelValue(r.pipeline) + "\",topic=\"" +
         PrometheusLabelValue(r.topic) + "\"";
}

// The metrics that are a count of the report, as is.
struct Count {
  const char* name;
  const char* type;
  const char* help;
  int64_t StreamReport::*field;
};
constexpr Count kCounts[] = {
    {"inlet_stream_messages_total", "counter",
     "Messages consumed, dead letters and skipped ones included.",
     &StreamReport::messages},
    {"inlet_stream_rows_written_total", "counter", "Rows committed to the table.",
     &StreamReport::rows_written},
    {"inlet_stream_dead_letters_total", "counter",
     "Messages committed to the dead-letter table.", &StreamReport::dead_letters},
    {"inlet_stream_skipped_total", "counter",
     "Messages read again that the table already held.", &StreamReport::skipped},
    {"inlet_stream_tombstones_total", "counter", "Null messages of a change stream.",
     &StreamReport::tombstones},
    {"inlet_stream_rows_late_total", "counter",
     "Changes older than what the table holds for their key.", &StreamReport::rows_late},
    {"inlet_stream_commits_total", "counter", "Table commits.", &StreamReport::commits},
    {"inlet_stream_batches_discarded_total", "counter",
     "Batches dropped because another consumer committed their offsets first.",
     &StreamReport::batches_discarded},
    {"inlet_stream_rebalances_total", "counter", "Partition assignments and revocations.",
     &StreamReport::rebalances},
    {"inlet_stream_table_version", "gauge",
     "The table version of the last commit (-1: none yet).",
     &StreamReport::table_version},
};

}  // namespace

std::string PrometheusText(const std::vector<StreamReport>& reports) {
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help,
                    const std::function<int64_t(const StreamReport&)>& value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
    for (const auto& r : reports)
      out << name << '{' << Labels(r) << "} " << value(r) << '\n';
  };
  for (const auto& c : kCounts) {
    metric(c.name, c.type, c.help, [&c](const StreamReport& r) { return r.*c.field; });
  }
  metric(
      "inlet_stream_running", "gauge", "1 while the stream runs, 0 once it has stopped.",
      [](const StreamReport& r) { return r.status == StreamStatus::kRunning ? 1 : 0; });
  out << "# HELP inlet_stream_lag_messages Messages in the partition after the table's "
         "offset.\n"
         "# TYPE inlet_stream_lag_messages gauge\n";
  for (const auto& r : reports) {
    for (const auto& [p, n] : r.lag) {
      out << "inlet_stream_lag_messages{" << Labels(r) << ",partition=\"" << p << "\"} "
          << n << '\n';
    }
  }
  for (auto [name, help, field] :
       {std::tuple{"inlet_stream_lag_bytes",
                   "Bytes of the source's log after what the table holds (postgres_cdc).",
                   &StreamReport::lag_bytes},
        std::tuple{"inlet_stream_lag_seconds",
                   "Age of the oldest source change the table does not hold yet "
                   "(postgres_cdc).",
                   &StreamReport::lag_ms}}) {
    bool any = false;
    for (const auto& r : reports) any = any || (r.*field).has_value();
    if (!any) continue;
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n";
    for (const auto& r : reports) {
      if (!(r.*field)) continue;
      out << name << '{' << Labels(r) << "} ";
      if (field == &StreamReport::lag_ms)
        out << static_cast<double>(*(r.*field)) / 1000.0;
      else
        out << *(r.*field);
      out << '\n';
    }
  }
  return out.str();
}

arrow::Status WriteFileAtomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) return arrow::Status::IOError("cannot write ", tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return arrow::Status::IOError("cannot replace ", path);
  }
  return arrow::Status::OK();
}

}  // namespace inlet
