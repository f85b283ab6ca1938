// The HTTP endpoint of `inlet serve` (the boundary file of cpp-httplib): /metrics,
// /health, /ready, /api/pipelines, /api/runs, a manual run, and the status page at /.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>
#include <thread>

#include "inlet/serve/service.h"

namespace inlet::serve {

class Endpoint {
 public:
  /// Listens on host:port (port 0: any free one) for the service, in a thread of its
  /// own. token non-empty: every path but /health and /ready wants
  /// "Authorization: Bearer <token>". IOError when the address cannot be bound.
  static arrow::Result<std::unique_ptr<Endpoint>> Start(Service* service,
                                                        const std::string& listen,
                                                        const std::string& token);
  ~Endpoint();

  /// http://host:port as bound.
  const std::string& address() const { return address_; }
  /// Stops listening; requests under way finish.
  void Stop();

 private:
  Endpoint() = default;
  struct Server;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::string address_;
};

}  // namespace inlet::serve
