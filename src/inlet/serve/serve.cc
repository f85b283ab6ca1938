// Serve(): the service and its endpoint, stopped by SIGINT or SIGTERM. The signals are
// blocked in every thread (streams' and librdkafka's inherit the mask) and taken by
// sigwait here, so that one signal reaches the service, its runs and its streams alike.
#include "inlet/serve.h"

#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <thread>

#include "inlet/log.h"
#include "inlet/serve/endpoint.h"
#include "inlet/serve/service.h"

namespace inlet {

arrow::Status Serve(const std::string& file, const ServeOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto pipelines, LoadPipelineFile(file));
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  serve::ServiceSettings settings;
  settings.history = std::max<size_t>(1, options.history);
  settings.max_concurrent_runs = std::max<size_t>(1, options.max_concurrent_runs);
  settings.on_run = options.on_run;
  serve::Service service(std::move(pipelines), settings);
  ARROW_ASSIGN_OR_RAISE(auto endpoint,
                        serve::Endpoint::Start(&service, options.listen, options.token));
  if (options.on_listening) options.on_listening(endpoint->address());
  service.Start();
  int signal = 0;
  sigwait(&signals, &signal);
  Log(LogLevel::kWarning, "serve",
      "stopping: no new runs; the runs under way finish and streams commit what they "
      "hold (a second signal abandons the runs)");
  service.Stop();
  std::thread second([&signals] {
    int again = 0;
    sigwait(&signals, &again);
    Log(LogLevel::kWarning, "serve",
        "abandoning the runs under way: their tables are as they were before them");
    std::_Exit(1);
  });
  second.detach();
  service.Wait();
  endpoint->Stop();
  return arrow::Status::OK();
}

}  // namespace inlet
