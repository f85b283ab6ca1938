// Keeping secrets out of messages: a URI's password and secret query parameters, and any
// known secret text. Header-only, so that every target (the libpq boundary included) can
// use it without linking the core.
#pragma once

#include <cctype>
#include <mutex>
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

/// Whether a URI's user information is ambiguous: '@' more than once (an '@' of a
/// password not percent-encoded, which may also hold '/', '?' or '#'). Clients split such
/// a URI differently (libpq at the first '@'), so part of the password would be taken for
/// the host or the parameters, and show in messages; masking cannot know which part. ('@'
/// elsewhere, in a parameter, is written %40 as well.)
inline bool AmbiguousUserInfo(const std::string& uri) {
  auto scheme = uri.find("://");
  if (scheme == std::string::npos) return false;
  auto first = uri.find('@', scheme + 3);
  return first != std::string::npos && uri.find('@', first + 1) != std::string::npos;
}

/// The refusal of a URI AmbiguousUserInfo finds (without the URI, which holds a secret).
inline std::string AmbiguousUserInfoMessage() {
  return "it holds '@' more than once: an '@' of the user name, the password or a "
         "parameter must be percent-encoded (%40; and : / ? # in a password as %3A %2F "
         "%3F %23), or give the password apart (password: ${VAR}, or PGPASSWORD)";
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

namespace redact_internal {
struct Registry {
  std::mutex mu;
  std::vector<std::string> secrets;
};
inline Registry& Secrets() {
  static Registry r;
  return r;
}
}  // namespace redact_internal

/// Remembers a secret (a password, a token, a key, a client secret) for the rest of the
/// process, with its URI-encoded form: MaskKnownSecrets hides it wherever it shows up,
/// whichever server or library echoes it into a message. Texts shorter than 4 characters
/// are not remembered (masking them would garble every message).
inline void RegisterSecret(const std::string& secret) {
  if (secret.size() < 4) return;
  // Its URI-encoded form (RFC 3986 unreserved characters kept), as a query or a form
  // carries it.
  std::string encoded;
  static const char* kHex = "0123456789ABCDEF";
  for (unsigned char c : secret) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded += static_cast<char>(c);
    } else {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  auto& r = redact_internal::Secrets();
  std::lock_guard<std::mutex> lock(r.mu);
  for (const auto& s : {secret, encoded}) {
    bool known = false;
    for (const auto& o : r.secrets) known = known || o == s;
    if (known) continue;
    // Longest first, so that a secret containing another is masked whole.
    auto at = r.secrets.begin();
    while (at != r.secrets.end() && at->size() >= s.size()) ++at;
    r.secrets.insert(at, s);
  }
}

/// `text` with every secret RegisterSecret remembered replaced by ***, where it stands as
/// a word of its own: an occurrence whose first or last character is a letter or digit
/// must not continue a longer word there (a password "postgres" is masked in "user
/// postgres" and "=postgres&", not in "postgresql://"). Applied where messages leave the
/// process (stderr, logs, reports, exceptions, alerts).
inline std::string MaskKnownSecrets(std::string text) {
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  auto& r = redact_internal::Secrets();
  std::lock_guard<std::mutex> lock(r.mu);
  for (const auto& s : r.secrets) {
    for (size_t at = text.find(s); at != std::string::npos;) {
      size_t end = at + s.size();
      bool joined = (word(s.front()) && at > 0 && word(text[at - 1])) ||
                    (word(s.back()) && end < text.size() && word(text[end]));
      if (joined) {
        at = text.find(s, at + 1);
        continue;
      }
      text.replace(at, s.size(), "***");
      at = text.find(s, at + 3);
    }
  }
  return text;
}

}  // namespace inlet
