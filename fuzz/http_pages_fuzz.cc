// An HTTP API's pages as a source walks them: a real HTTP server on loopback (in this
// process) answers each request with the next page of the input, and the pager follows
// the pagination the first byte picks (offset, page, cursor, Link header, next URL,
// record totals), handing each record to the JSON row decoder as a run does.
//
// Input: a mode byte, then pages separated by "\n%%\n". A page that starts with
// "Link: " has that line as its Link header. Requests past the last page get [].
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "inlet/source/http_pages.h"
#include "inlet/source/json_rows.h"

using namespace inlet;

namespace {

std::mutex mu;
std::vector<std::string> pages;  // guarded by mu
size_t served = 0;               // guarded by mu

int Port() {
  static const int port = [] {
    static httplib::Server server;
    server.Get(".*", [](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      std::string body = served < pages.size() ? pages[served] : "[]";
      ++served;
      if (body.rfind("Link: ", 0) == 0) {
        size_t end = body.find('\n');
        res.set_header("Link", body.substr(6, end == std::string::npos ? end : end - 6));
        body = end == std::string::npos ? "" : body.substr(end + 1);
      }
      res.set_content(body, "application/json");
    });
    int port = server.bind_to_any_port("127.0.0.1");
    if (port <= 0) std::abort();
    std::thread([] { server.listen_after_bind(); }).detach();
    while (!server.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return port;
  }();
  return port;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const int port = Port();
  {
    std::lock_guard<std::mutex> lock(mu);
    pages.clear();
    for (auto part : fuzz::Parts(fuzz::Text(data + 1, size - 1)))
      pages.emplace_back(part);
    served = 0;
  }
  HttpSourceConfig config;
  config.description = "source http";
  config.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/items?fixed=1";
  // Credentials keep the walk on this host: a next page elsewhere is refused unasked.
  config.auth.type = HttpAuth::Type::kBearer;
  config.auth.token = "fuzz-token";
  if (mode & 8) config.records_path = "data";
  if (mode & 16) config.paginate.total_path = "total";
  static const HttpPagination::Type kinds[] = {
      HttpPagination::Type::kNone, HttpPagination::Type::kOffset,
      HttpPagination::Type::kPage, HttpPagination::Type::kCursor,
      HttpPagination::Type::kLink, HttpPagination::Type::kNextUrl};
  config.paginate.type = kinds[(mode & 7) % 6];
  config.paginate.limit = 2;
  config.paginate.cursor_path = (mode & 32) ? "meta.next" : "next";
  config.paginate.next_url_path = (mode & 32) ? "links.next" : "next";
  config.paginate.max_pages = 32;
  config.max_retries = 0;
  config.timeout_ms = 5000;
  config.connect_timeout_ms = 2000;
  auto pager = HttpPager::Make(config, std::nullopt);
  if (!pager.ok()) std::abort();
  JsonRowOptions options;
  options.metadata = false;
  JsonRows rows(options);
  HttpPager::Callbacks callbacks;
  callbacks.on_record = [&](std::string_view record) { return rows.Append(record, {}); };
  (void)(*pager)->Walk(callbacks);
  auto table = rows.Finish(0);
  if (table.ok())
    fuzz::Require((*table)->ValidateFull().ok(), "records make valid Arrow");
  // The URL helpers on the pages' text.
  for (auto part : fuzz::Parts(fuzz::Text(data + 1, size - 1))) {
    std::string text(part.substr(0, 512));
    (void)LinkNext(text);
    (void)ResolveUrl(config.url, text);
    (void)ParseJsonPath(text);
  }
  return 0;
}
