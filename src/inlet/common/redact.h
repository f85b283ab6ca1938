// Keeping secrets out of messages: a URI's password and secret query parameters, and any
// known secret text. Header-only, so that every target (the libpq boundary included) can
// use it without linking the core.
#pragma once

#include <cctype>
#include <string>
#include <vector>

namespace inlet {

/// `uri` with the password of its user-info part and the values of secret query
/// parameters (password, token, secret, client_secret, access_token, api_key) as ***.
inline std::string RedactUri(const std::string& uri) {
  std::string out = uri;
  auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t end = out.find_first_of("/?#", start);
    if (end == std::string::npos) end = out.size();
    size_t at = out.rfind('@', end == 0 ? 0 : end - 1);
    if (at != std::string::npos && at >= start) {
      size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at)
        out = out.substr(0, colon + 1) + "***" + out.substr(at);
    }
  }
  auto query = out.find('?');
  if (query == std::string::npos) return out;
  static const std::vector<std::string> secret = {
      "password", "token", "secret", "client_secret", "access_token", "api_key"};
  std::string result = out.substr(0, query + 1);
  size_t pos = query + 1;
  while (pos <= out.size()) {
    size_t amp = out.find('&', pos);
    if (amp == std::string::npos) amp = out.size();
    std::string param = out.substr(pos, amp - pos);
    size_t eq = param.find('=');
    std::string key = param.substr(0, eq);
    for (auto& c : key)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool hide = eq != std::string::npos;
    if (hide) {
      hide = false;
      for (const auto& s : secret) hide = hide || key == s;
    }
    result += hide ? param.substr(0, eq + 1) + "***" : param;
    if (amp < out.size()) result += "&";
    pos = amp + 1;
  }
  return result;
}

/// `text` with every occurrence of each non-empty secret replaced by ***.
inline std::string MaskSecrets(std::string text,
                               const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.empty()) continue;
    for (size_t at = text.find(s); at != std::string::npos; at = text.find(s, at + 3))
      text.replace(at, s.size(), "***");
  }
  return text;
}

}  // namespace inlet
