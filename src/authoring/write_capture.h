// The dry run's guard between a plugin and a site (`sgeventd try`, docs/testing-plugins.md): a
// loopback api3 endpoint the plugin's `sg` talks to. Reads (an allow-list of api3 methods) go
// to the site; everything else, writes and any method or path it does not know, is recorded
// and answered here, never sent, unless writes are allowed (then it is sent and recorded).
// Deny by default: a method a future site adds is a write until it is listed as a read.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sgeventd/result.h"
#include "sgeventd/sg/client.h"
#include "sgeventd/value.h"

namespace sgeventd::authoring {

struct CapturedWrite {
  std::uint64_t seq = 0;  // order among every write of the run, from 1
  std::string method;     // "create", "update", "batch", ..., or "POST /upload/..." for paths
  Value params;           // the api3 params[1] (null for other paths)
  bool sent = false;      // forwarded to the site (writes allowed)
  // For update and delete: the fields it changes as they were on the site just before, read
  // when the write came ({"sg_status_list": "wtg"}), so a report can show old -> new.
  Value before;
  Value answer;  // what the plugin got back (its "results")
};

struct CaptureOptions {
  sg::ConnectionSettings upstream;  // where reads go: base_url, proxy, TLS; no credentials
  bool allow_writes = false;        // send writes on (and still record them)
};

class WriteCapture {
 public:
  // Listens on 127.0.0.1 (a free port) at once.
  static ::sgeventd::Expected<std::unique_ptr<WriteCapture>, std::string> start(
      CaptureOptions options);
  ~WriteCapture();
  WriteCapture(const WriteCapture&) = delete;
  WriteCapture& operator=(const WriteCapture&) = delete;

  std::string url() const;  // "http://127.0.0.1:PORT", the plugin's site
  // Where reads go from now on (a sandbox started once the plugin said which scripts it uses).
  void set_upstream(const std::string& base_url);
  // The writes recorded since the call before (each is returned once).
  std::vector<CapturedWrite> take();
  // How many requests were forwarded to the site, reads and allowed writes.
  std::uint64_t forwarded() const;

 private:
  WriteCapture();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// api3 methods that only read (sent on to the site).
bool is_read_method(const std::string& method);

}  // namespace sgeventd::authoring
