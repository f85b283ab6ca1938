#include "inlet/serve/endpoint.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "inlet/common/json.h"
#include "inlet/serve/status_text.h"
#include "inlet/status.h"

namespace inlet::serve {

struct Endpoint::Server {
  httplib::Server http;
};

namespace {

// A constant-time comparison: the token's bytes are not leaked by timing.
bool SameSecret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

void Routes(httplib::Server* http, Service* service, const std::string& token) {
  http->set_pre_routing_handler([token](const httplib::Request& req,
                                        httplib::Response& res) {
    if (token.empty() || req.path == "/health" || req.path == "/ready")
      return httplib::Server::HandlerResponse::Unhandled;
    if (SameSecret(req.get_header_value("Authorization"), "Bearer " + token))
      return httplib::Server::HandlerResponse::Unhandled;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer");
    res.set_content("{\"error\":\"a bearer token is required\"}\n", "application/json");
    return httplib::Server::HandlerResponse::Handled;
  });
  http->Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  http->Get("/ready", [service](const httplib::Request&, httplib::Response& res) {
    bool ready = service->Ready();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
  });
  http->Get("/metrics", [service](const httplib::Request&, httplib::Response& res) {
    res.set_content(MetricsText(service->Status(), service->started_ms()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  http->Get("/api/pipelines", [service](const httplib::Request&, httplib::Response& res) {
    res.set_content(PipelinesJson(service->Status()) + "\n", "application/json");
  });
  http->Get("/api/runs", [service](const httplib::Request& req, httplib::Response& res) {
    size_t limit = 0;
    if (req.has_param("limit")) {
      try {
        limit = std::stoul(req.get_param_value("limit"));
      } catch (const std::exception&) {
        res.status = 400;
        res.set_content("{\"error\":\"limit: expected a number\"}\n", "application/json");
        return;
      }
    }
    res.set_content(
        RunsJson(service->Status(), req.get_param_value("pipeline"), limit) + "\n",
        "application/json");
  });
  http->Post(R"(/api/pipelines/([^/]+)/run)", [service](const httplib::Request& req,
                                                        httplib::Response& res) {
    auto st = service->Trigger(req.matches[1]);
    res.status = st.ok() ? 202 : st.IsKeyError() ? 404 : st.IsAlreadyExists() ? 409 : 400;
    Json body = st.ok() ? Json{{"status", "queued"}} : Json{{"error", ErrorText(st)}};
    res.set_content(DumpJson(body) + "\n", "application/json");
  });
  http->Get("/", [service](const httplib::Request&, httplib::Response& res) {
    res.set_content(StatusPage(service->Status(), service->started_ms()),
                    "text/html; charset=utf-8");
  });
}

}  // namespace

arrow::Result<std::unique_ptr<Endpoint>> Endpoint::Start(Service* service,
                                                         const std::string& listen,
                                                         const std::string& token) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return arrow::Status::Invalid("--listen '", listen, "': expected host:port");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    return arrow::Status::Invalid("--listen '", listen, "': expected host:port");
  }
  std::unique_ptr<Endpoint> e(new Endpoint());
  e->server_ = std::make_unique<Server>();
  httplib::Server& http = e->server_->http;
  Routes(&http, service, token);
  int bound = port == 0 ? http.bind_to_any_port(host)
                        : (http.bind_to_port(host, port) ? port : -1);
  if (bound <= 0)
    return arrow::Status::IOError("cannot listen on ", listen,
                                  " (in use, or not an address of this host)");
  std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  e->address_ = "http://" + shown + ":" + std::to_string(bound);
  e->thread_ = std::thread([&http] { http.listen_after_bind(); });
  // Until it listens, stop() would not stop it.
  for (int i = 0; i < 5000 && !http.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return e;
}

void Endpoint::Stop() {
  if (server_) server_->http.stop();
  if (thread_.joinable()) thread_.join();
}

Endpoint::~Endpoint() { Stop(); }

}  // namespace inlet::serve
