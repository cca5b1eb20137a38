#include "status_client.hpp"

#include "rcbroker/admin/address.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <cstdint>
#include <simdjson.h>
#include <sstream>
#include <vector>

namespace rcsubmit {

using rcbroker::admin::address;
using rcbroker::admin::parse_address;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t max_reply_body = 4u * 1024u * 1024u;

std::string_view strip_scheme(std::string_view text) {
  constexpr std::string_view scheme = "http://";
  if (text.substr(0, scheme.size()) == scheme)
    text.remove_prefix(scheme.size());
  while (!text.empty() && text.back() == '/')
    text.remove_suffix(1);
  return text;
}

/// One HTTP exchange on its own io_context; every step is bounded by the stream's deadline and
/// the whole by `run_for`.
class exchange {
public:
  exchange(const address& where, std::string_view target, std::chrono::milliseconds timeout)
      : where_(where), timeout_(timeout), request_{http::verb::get, std::string{target}, 11} {
    request_.set(http::field::host, where.host);
    request_.set(http::field::user_agent, "rcbroker-status");
    request_.keep_alive(false);
    parser_.body_limit(max_reply_body);
  }

  http_reply run() {
    resolver_.async_resolve(where_.host, std::to_string(where_.port),
                            [this](beast::error_code ec, tcp::resolver::results_type results) {
                              if (ec)
                                return fail("cannot resolve " + where_.host, ec);
                              connect(results);
                            });
    ioc_.run_for(timeout_);
    if (!done_)
      reply_.error = "no answer within " + std::to_string(timeout_.count()) + " ms";
    return std::move(reply_);
  }

private:
  void connect(const tcp::resolver::results_type& results) {
    stream_.expires_after(timeout_);
    stream_.async_connect(results, [this](beast::error_code ec, const tcp::endpoint&) {
      if (ec)
        return fail("cannot connect to " + where_.url(), ec);
      http::async_write(stream_, request_, [this](beast::error_code ec, std::size_t) {
        if (ec)
          return fail("cannot send the request", ec);
        http::async_read(stream_, buffer_, parser_, [this](beast::error_code ec, std::size_t) {
          if (ec)
            return fail("bad or no response", ec);
          auto& res = parser_.get();
          reply_.status = res.result_int();
          reply_.content_type = std::string{res[http::field::content_type]};
          reply_.body = std::move(res.body());
          done_ = true;
        });
      });
    });
  }

  void fail(const std::string& what, beast::error_code ec) {
    reply_.error = what + ": " + ec.message();
    done_ = true;
  }

  address where_;
  std::chrono::milliseconds timeout_;
  asio::io_context ioc_;
  tcp::resolver resolver_{ioc_};
  beast::tcp_stream stream_{ioc_};
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  http::response_parser<http::string_body> parser_;
  http_reply reply_;
  bool done_ = false;
};

// -- the status document as tables -------------------------------------------------------------

namespace dom = simdjson::dom;

// Each takes an element or a lookup result: a missing member reads as 0, "" or "-".
template <class Element>
std::uint64_t number(Element e, const char* key) {
  std::uint64_t n = 0;
  if (e[key].get_uint64().get(n))
    return 0;
  return n;
}

template <class Element>
std::string text(Element e, const char* key) {
  std::string_view s;
  if (e[key].get_string().get(s))
    return {};
  return std::string{s};
}

template <class Element>
std::string list(Element e, const char* key) {
  dom::array arr;
  if (e[key].get_array().get(arr))
    return "-";
  std::string out;
  for (auto item : arr) {
    std::string_view s;
    if (item.get_string().get(s))
      continue;
    if (!out.empty())
      out += ", ";
    out += s;
  }
  return out.empty() ? "-" : out;
}

std::string duration_text(double seconds) {
  auto total = static_cast<std::uint64_t>(seconds < 0 ? 0 : seconds);
  auto d = total / 86400, h = (total / 3600) % 24, m = (total / 60) % 60, s = total % 60;
  std::ostringstream out;
  if (d > 0)
    out << d << "d ";
  if (d > 0 || h > 0)
    out << h << "h ";
  if (d > 0 || h > 0 || m > 0)
    out << m << "m ";
  out << s << "s";
  return out.str();
}

/// A table with a left-aligned first column and right-aligned number columns.
void table(std::ostream& out, const std::vector<std::string>& header,
           const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t i = 0; i < header.size(); ++i)
    width[i] = header[i].size();
  for (auto& row : rows)
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      auto pad = std::string(width[i] - cells[i].size(), ' ');
      if (i == 0)
        out << cells[i] << pad;
      else
        out << "  " << pad << cells[i];
    }
    out << "\n";
  };
  line(header);
  for (auto& row : rows)
    line(row);
}

void peer_table(std::ostream& out, dom::element doc, const char* key, const char* title,
                bool with_capacity) {
  dom::array arr;
  if (doc[key].get_array().get(arr))
    return;
  std::vector<std::vector<std::string>> rows;
  for (auto p : arr) {
    std::vector<std::string> row{text(p, "name")};
    if (with_capacity)
      row.push_back(std::to_string(number(p, "capacity")));
    row.push_back(std::to_string(number(p, "in_flight")));
    rows.push_back(std::move(row));
  }
  out << "\n";
  if (rows.empty()) {
    out << "no " << key << "\n";
    return;
  }
  std::vector<std::string> header{title};
  if (with_capacity)
    header.push_back("CAPACITY");
  header.push_back("IN FLIGHT");
  table(out, header, rows);
}

void member_table(std::ostream& out, dom::array members) {
  auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
  std::vector<std::vector<std::string>> rows;
  for (auto m : members) {
    double since = 0;
    if (m["since_unix_seconds"].get_double().get(since))
      since = now.count();
    auto name = text(m, "name");
    rows.push_back({(name.empty() ? "" : name + " ") + text(m, "address"),
                    text(m, "state") + " for " + duration_text(std::max(0.0, now.count() - since)),
                    std::to_string(number(m, "free_slots")),
                    std::to_string(number(m, "tasks_sent")),
                    std::to_string(number(m, "tasks_received"))});
  }
  out << "\n";
  table(out, {"MEMBER", "STATE", "FREE", "SENT", "RECEIVED"}, rows);
}

} // namespace

http_reply http_get(std::string_view address_text, std::string_view target,
                    std::chrono::milliseconds timeout) {
  auto parsed = parse_address(strip_scheme(address_text));
  if (!parsed.value) {
    http_reply reply;
    reply.error = parsed.error;
    return reply;
  }
  exchange x{*parsed.value, target, timeout};
  return x.run();
}

namespace {

/// Parses `json` into `doc` when it is a status document (an object with slots and workers).
bool parse_status(dom::parser& parser, std::string_view json, dom::element& doc) {
  return !parser.parse(json.data(), json.size()).get(doc) && doc.is_object() &&
         !doc["slots"].error() && !doc["workers"].error();
}

} // namespace

bool render_status_table(std::string_view json, std::string& result) {
  dom::parser parser;
  dom::element doc;
  if (!parse_status(parser, json, doc)) {
    result = "not a status document";
    return false;
  }
  std::ostringstream out;
  bool accepting = false;
  if (doc["accepting"].get_bool().get(accepting))
    accepting = false;
  double uptime = 0;
  if (doc["uptime_seconds"].get_double().get(uptime))
    uptime = 0;
  auto endpoints = doc["endpoints"];
  auto connections = doc["connections"];
  auto counters = doc["counters"];
  auto slots = doc["slots"];
  auto node = text(doc, "node");
  std::vector<std::vector<std::string>> summary{
      {"node", (node.empty() ? "-" : node) + " (rcbroker " + text(doc, "version") + "), " +
                   (accepting ? "accepting" : "SHUTTING DOWN") + ", up " + duration_text(uptime)},
      {"clients", list(endpoints, "clients") + " (" +
                      std::to_string(number(connections, "clients")) + " connected)"},
      {"workers", list(endpoints, "workers") + " (" +
                      std::to_string(number(connections, "workers")) + " connected)"},
      {"slots", std::to_string(number(slots, "free")) + " free of " +
                    std::to_string(number(slots, "registered")) + " registered; " +
                    std::to_string(number(doc, "routes")) + " task(s) open, " +
                    std::to_string(number(doc, "queued")) + " queued"},
      {"runs", std::to_string(number(counters, "runs_received")) + " received, " +
                   std::to_string(number(counters, "runs_started")) + " started, " +
                   std::to_string(number(counters, "results_forwarded")) + " results forwarded, " +
                   std::to_string(number(counters, "results_dropped")) + " dropped"},
  };
  if (dom::element journal; !doc["journal"].get(journal))
    summary.push_back({"journal", std::to_string(number(journal, "runs")) +
                                      " run(s) held (detached, or queued), run again after a "
                                      "restart"});
  for (auto& row : summary)
    out << row[0] << std::string(10 - row[0].size(), ' ') << row[1] << "\n";
  peer_table(out, doc, "workers", "WORKER", true);
  peer_table(out, doc, "clients", "CLIENT", false);
  dom::element cluster;
  dom::array members;
  bool has_members = !doc["cluster"].get(cluster) && !cluster["members"].get_array().get(members) &&
                     members.size() > 0;
  if (!doc["cluster"].get(cluster) &&
      (has_members || number(cluster, "link_count") > 0 || number(cluster, "runs_sent") > 0 ||
       number(cluster, "runs_received") > 0)) {
    out << "\ncluster   " << number(cluster, "link_count") << " link(s) offering "
        << number(cluster, "free_slots") << " free slot(s); " << number(cluster, "runs_sent")
        << " RUN(s) sent, " << number(cluster, "runs_received") << " received\n";
    if (has_members)
      member_table(out, members);
  }
  result = out.str();
  return true;
}

int print_status(std::string_view address, std::ostream& out, std::ostream& err,
                 status_format format) {
  auto reply = http_get(address, "/status");
  if (reply.status == 0) {
    err << "cannot get the status from " << address << ": " << reply.error << "\n";
    return 1;
  }
  if (reply.status != 200) {
    err << "the node at " << address << " answered HTTP " << reply.status << ": " << reply.body
        << "\n";
    return 1;
  }
  std::string text;
  bool fine = false;
  if (format == status_format::json) {
    dom::parser parser;
    dom::element doc;
    fine = parse_status(parser, reply.body, doc);
    text = fine ? reply.body : "not a status document";
    if (fine && (text.empty() || text.back() != '\n'))
      text += '\n';
  } else {
    fine = render_status_table(reply.body, text);
  }
  if (!fine) {
    err << "the node at " << address << " sent " << text << "\n";
    return 1;
  }
  out << text;
  return 0;
}

} // namespace rcsubmit
