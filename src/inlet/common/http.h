// HTTP through libcurl (the boundary file of that library for everything but S3's
// conditional PUT, which needs its own headers handling): one-off requests for cloud
// credential endpoints and the Iceberg REST catalog, and a client keeping its connection
// for the pages of an HTTP API source.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace inlet {

struct HttpResponse {
  long status = 0;
  std::string body;
};

/// Makes one request and returns the status and body, whatever the status. IOError
/// naming `what` (never the URL, which may carry secrets) when no response came:
/// connection refused, TLS failure, timeout. `ca_bundle`: a PEM file of trusted
/// certificates instead of the system's. The connection must be made within `timeout_s`
/// seconds and the whole exchange take at most three times that.
arrow::Result<HttpResponse> Http(const std::string& method, const std::string& url,
                                 const std::vector<std::string>& headers,
                                 const std::string& body, const std::string& ca_bundle,
                                 long timeout_s, const std::string& what);

/// How an HttpClient connects.
struct HttpClientOptions {
  /// The connection must be made within this, and each whole exchange take at most
  /// timeout_ms (a slow response fails as a timeout).
  int64_t connect_timeout_ms = 10000;
  int64_t timeout_ms = 30000;
  /// A response body larger than this (after decompression) is refused; 0: no limit.
  int64_t max_response_bytes = 0;
  /// TLS: a PEM file of trusted certificates instead of the system's; a client
  /// certificate and key (PEM); verify: false accepts any server certificate.
  std::string ca_bundle;
  std::string client_cert;
  std::string client_key;
  bool verify = true;
};

/// One request of an HttpClient.
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  /// Redirects are followed (to any http(s) URL); otherwise a 3xx comes back as it is.
  bool follow_redirects = true;
};

/// What came back. status 0: no response came (error says why).
struct HttpExchange {
  long status = 0;
  std::string body;
  /// Response headers of the final response, names in lower case.
  std::vector<std::pair<std::string, std::string>> headers;
  /// When status is 0: why (curl's message); retryable when another attempt may succeed
  /// (connection refused or reset, timeout, a truncated response) rather than not (a TLS
  /// certificate refused, a body over the size limit).
  std::string error;
  bool retryable = false;

  /// The value of the first header of that (lower-case) name; empty when absent.
  std::string Header(const std::string& name) const;
};

/// An HTTP/1.1 and HTTP/2 client over one libcurl handle: connections are kept alive
/// between the requests of one client (pages of one API). gzip, deflate, brotli and
/// zstd responses are decompressed. Not thread-safe.
class HttpClient {
 public:
  static arrow::Result<std::unique_ptr<HttpClient>> Make(HttpClientOptions options);
  ~HttpClient();

  /// Sends the request and returns what came back, whatever the status. Never fails
  /// itself: a transport failure is an HttpExchange with status 0.
  HttpExchange Send(const HttpRequest& request);

 private:
  HttpClient(void* curl, HttpClientOptions options);
  void* curl_;
  HttpClientOptions options_;
};

/// A Retry-After header's wait in milliseconds from now: delay-seconds or an HTTP-date
/// (RFC 9110 10.2.3); nullopt when the value is neither.
std::optional<int64_t> RetryAfterMs(const std::string& value, int64_t now_ms);

/// Percent-encodes everything but RFC 3986's unreserved characters (and '/' with
/// keep_slash, for paths), as AWS signatures and form bodies want it.
std::string UriEncode(const std::string& text, bool keep_slash = false);

}  // namespace inlet
