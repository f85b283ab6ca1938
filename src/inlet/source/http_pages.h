// The requests of an HTTP API source (type: http): the first URL with its parameters and
// the watermark, authentication (OAuth2 tokens fetched, cached and refreshed), retries
// with backoff, and the walk through the API's pages, each page's records handed on as
// JSON text. The boundary to libcurl is common/http.h; pages are parsed with simdjson.
#pragma once

#include <arrow/status.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inlet/common/http.h"
#include "inlet/source/source.h"

namespace inlet {

/// A path into a JSON document: "data.items", "meta.next", "results.0.id" (a numeric
/// part indexes a list). Invalid when a part is empty.
arrow::Result<std::vector<std::string>> ParseJsonPath(const std::string& path);

/// The target of a Link header's rel="next" link (RFC 8288), if there is one.
std::optional<std::string> LinkNext(const std::string& header);

/// ref (absolute, host-relative, path-relative or a query) resolved against the URL of
/// the page that gave it (RFC 3986 5.2, without dot segments).
std::string ResolveUrl(const std::string& base, const std::string& ref);

/// The placeholder url, params and body may hold.
inline constexpr char kWatermarkPlaceholder[] = "{watermark}";

class HttpPager {
 public:
  /// What a walk hands on. on_page sees each page's body before its records (to archive
  /// it); on_record each record's JSON text, in order. An error either returns ends the
  /// walk; the pager adds which page and record.
  struct Callbacks {
    std::function<arrow::Status(int64_t page, const std::string& body)> on_page;
    std::function<arrow::Status(std::string_view record)> on_record;
  };

  /// A pager for config, with {watermark} standing for `watermark` (nullopt before the
  /// first load: a parameter that is only the placeholder is left out, and a placeholder
  /// elsewhere is Invalid).
  static arrow::Result<std::unique_ptr<HttpPager>> Make(
      const HttpSourceConfig& config, std::optional<std::string> watermark);
  ~HttpPager();

  /// Fetches the pages in order until the pagination says there are no more. Fails on
  /// the first request that fails after its retries, naming its URL (secrets masked),
  /// the status and the start of the body.
  arrow::Status Walk(const Callbacks& callbacks);

  /// Hands on the records of the pages archived in dir (page-00001.json ...: a run's
  /// archive_dir directory), as Walk would have from the API, without a request.
  arrow::Status Replay(const std::string& dir, const Callbacks& callbacks);

  /// The pages' URLs as messages show them (secrets masked), from page 1.
  const std::vector<std::string>& pages() const { return pages_; }
  /// The records handed on.
  int64_t records() const { return records_; }
  /// text with every secret the source holds (or fetched) masked.
  std::string Mask(std::string text) const;

 private:
  HttpPager(const HttpSourceConfig& config, std::unique_ptr<HttpClient> client);
  arrow::Result<HttpExchange> Fetch(HttpRequest request, const std::string& shown,
                                    bool authenticate);
  arrow::Result<std::string> BearerToken(bool refresh);
  arrow::Status Decorate(HttpRequest* request);
  enum class Encoding { kNone, kQuery, kJson };
  arrow::Result<std::string> Substitute(const std::string& text, Encoding encode,
                                        const std::string& where) const;
  void AddSecret(const std::string& secret);
  arrow::Result<std::string> FirstUrl() const;
  std::string Shown(const std::string& url) const;
  arrow::Status Failed(const std::string& shown, const std::string& why) const;

  const HttpSourceConfig& config_;
  std::unique_ptr<HttpClient> client_;
  std::optional<std::string> watermark_;
  std::vector<std::string> secrets_;
  std::vector<std::string> pages_;
  int64_t records_ = 0;
};

}  // namespace inlet
