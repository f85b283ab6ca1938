#include "inlet/predicate.h"

#include <arrow/status.h>

#include <cctype>
#include <cstring>

namespace inlet {

namespace {

struct Token {
  enum Kind { kWord, kQuoted, kOp, kEnd } kind;
  std::string text;
  size_t pos;
};

arrow::Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '\'' || c == '"' || c == '`') {
      // '...' is a literal; "..." and `...` quote a column name.
      char q = c;
      size_t start = i++;
      std::string text;
      while (true) {
        if (i >= s.size()) {
          return arrow::Status::Invalid("unterminated quote at position ", start, " in '",
                                        s, "'");
        }
        if (s[i] == q && i + 1 < s.size() && s[i + 1] == q) {
          text += q;
          i += 2;
        } else if (s[i] == q) {
          ++i;
          break;
        } else {
          text += s[i++];
        }
      }
      out.push_back({q == '\'' ? Token::kQuoted : Token::kWord, text, start});
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      size_t start = i++;
      if (i < s.size() && (s[i] == '=' || (c == '<' && s[i] == '>'))) ++i;
      out.push_back({Token::kOp, std::string(s.substr(start, i - start)), start});
    } else {
      size_t start = i;
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) &&
             s[i] != '=' && s[i] != '!' && s[i] != '<' && s[i] != '>' && s[i] != '\'') {
        ++i;
      }
      out.push_back({Token::kWord, std::string(s.substr(start, i - start)), start});
    }
  }
  out.push_back({Token::kEnd, "", s.size()});
  return out;
}

bool IsKeyword(const Token& t, const char* kw) {
  if (t.kind != Token::kWord || t.text.size() != std::strlen(kw)) return false;
  for (size_t i = 0; i < t.text.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(t.text[i])) != kw[i]) return false;
  }
  return true;
}

arrow::Result<CompareOp> ParseOp(const std::string& op) {
  if (op == "=" || op == "==") return CompareOp::kEq;
  if (op == "!=" || op == "<>") return CompareOp::kNe;
  if (op == "<") return CompareOp::kLt;
  if (op == "<=") return CompareOp::kLe;
  if (op == ">") return CompareOp::kGt;
  if (op == ">=") return CompareOp::kGe;
  return arrow::Status::Invalid("unknown operator '", op, "'");
}

}  // namespace

std::string Predicate::ToString() const {
  switch (op) {
    case CompareOp::kIsNull:
      return column + " IS NULL";
    case CompareOp::kIsNotNull:
      return column + " IS NOT NULL";
    default:
      break;
  }
  static const char* kOps[] = {"=", "!=", "<", "<=", ">", ">="};
  std::string quoted = "'";
  for (char c : literal) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return column + " " + kOps[static_cast<int>(op)] + " " + quoted + "'";
}

arrow::Result<Conjunction> ParseConjunction(std::string_view text) {
  ARROW_ASSIGN_OR_RAISE(auto tokens, Tokenize(text));
  Conjunction out;
  size_t i = 0;
  auto fail = [&](const std::string& what) {
    return arrow::Status::Invalid("cannot parse predicate '", text, "' at position ",
                                  tokens[i].pos, ": ", what);
  };
  if (tokens[0].kind == Token::kEnd) return out;
  while (true) {
    if (tokens[i].kind != Token::kWord) return fail("expected a column name");
    Predicate p;
    p.column = tokens[i++].text;
    if (IsKeyword(tokens[i], "IS")) {
      ++i;
      bool negated = IsKeyword(tokens[i], "NOT");
      if (negated) ++i;
      if (!IsKeyword(tokens[i], "NULL")) return fail("expected NULL");
      ++i;
      p.op = negated ? CompareOp::kIsNotNull : CompareOp::kIsNull;
    } else {
      if (tokens[i].kind != Token::kOp)
        return fail("expected an operator (= != < <= > >=)");
      ARROW_ASSIGN_OR_RAISE(p.op, ParseOp(tokens[i].text));
      ++i;
      if (tokens[i].kind != Token::kWord && tokens[i].kind != Token::kQuoted) {
        return fail("expected a literal");
      }
      p.literal = tokens[i++].text;
    }
    out.push_back(std::move(p));
    if (tokens[i].kind == Token::kEnd) break;
    if (!IsKeyword(tokens[i], "AND"))
      return fail("expected AND (only AND-ed comparisons are supported)");
    ++i;
  }
  return out;
}

}  // namespace inlet
