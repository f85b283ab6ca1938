// Serve(): the service and its endpoint, stopped by SIGINT or SIGTERM. The signals are
// blocked first, before any thread exists, so that every thread inherits the mask
// (streams', librdkafka's, the endpoint's), and taken by sigwait here: one signal reaches
// the service, its runs and its streams alike.
#include "inlet/serve.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <thread>

#include "inlet/common/time.h"
#include "inlet/log.h"
#include "inlet/pipeline/config.h"
#include "inlet/serve/alerts.h"
#include "inlet/serve/endpoint.h"
#include "inlet/serve/service.h"

namespace inlet {

namespace {

arrow::Status ServeBlocked(const std::string& file, const ServeOptions& options,
                           const sigset_t& signals) {
  ARROW_ASSIGN_OR_RAISE(auto pipelines, LoadPipelineFile(file));
  ARROW_ASSIGN_OR_RAISE(auto alert_configs, pipeline::LoadAlerts(file));
  serve::ServiceSettings settings;
  settings.history = std::max<size_t>(1, options.history);
  settings.max_concurrent_runs = std::max<size_t>(1, options.max_concurrent_runs);
  std::map<std::string, std::string> tables;
  for (const auto& p : pipelines) tables[p.name()] = p.table();
  serve::Alerts alerts(std::move(alert_configs), std::move(tables), NowMillis());
  settings.on_run = [&options, &alerts](const RunReport& report) {
    if (options.on_run) options.on_run(report);
    alerts.OnRun(report);
  };
  settings.on_stream = [&alerts](const StreamReport& report) { alerts.OnStream(report); };
  serve::Service service(std::move(pipelines), settings);
  service.Start();
  auto endpoint = serve::Endpoint::Start(&service, options.listen, options.token);
  if (!endpoint.ok()) {
    service.Stop();
    service.Wait();
    return endpoint.status();
  }
  if (options.on_listening) options.on_listening((*endpoint)->address());
  int signal = 0;
  sigwait(&signals, &signal);
  Log(LogLevel::kWarning, "serve",
      "stopping: no new runs; the runs under way finish and streams commit what they "
      "hold (a second signal abandons the runs)");
  service.Stop();
  std::thread second([signals] {
    int again = 0;
    sigwait(&signals, &again);
    Log(LogLevel::kWarning, "serve",
        "abandoning the runs under way: their tables are as they were before them");
    std::_Exit(1);
  });
  second.detach();
  service.Wait();
  alerts.Stop();
  (*endpoint)->Stop();
  return arrow::Status::OK();
}

}  // namespace

arrow::Status Serve(const std::string& file, const ServeOptions& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigset_t before;
  pthread_sigmask(SIG_BLOCK, &signals, &before);
  auto served = ServeBlocked(file, options, signals);
  if (!served.ok()) pthread_sigmask(SIG_SETMASK, &before, nullptr);
  return served;
}

}  // namespace inlet
