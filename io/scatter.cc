#include "io/scatter.h"

#include <cstdint>
#include <stdexcept>

#include "io/collective.h"

namespace rnnsearch {
namespace {

constexpr std::size_t kU64 = 8;

void PutU64(std::string& out, std::uint64_t v) {
  for (std::size_t i = 0; i < kU64; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void CheckFields(const Record& r, std::size_t fields, const std::string& what) {
  if (r.size() != fields) {
    throw std::invalid_argument(what + ": expected " + std::to_string(fields) +
                                " field(s), found " + std::to_string(r.size()));
  }
}

void PutRecord(std::string& out, const Record& r) {
  for (const std::string& field : r) {
    PutU64(out, field.size());
    out += field;
  }
}

// Reads a message of the wire format, checking every item against the
// bytes left; `what` names the message in errors.
class Reader {
 public:
  Reader(std::string_view bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}

  std::size_t left() const { return bytes_.size() - at_; }

  std::uint64_t U64(const std::string& item) {
    if (left() < kU64) {
      Fail(at_, item, "an 8-byte number", std::to_string(left()) + " byte(s) left");
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < kU64; ++i) {
      v |= std::uint64_t{static_cast<unsigned char>(bytes_[at_ + i])} << (8 * i);
    }
    at_ += kU64;
    return v;
  }

  // A number that must equal `want`.
  void Expect(const std::string& item, std::uint64_t want) {
    const std::size_t at = at_;
    const std::uint64_t v = U64(item);
    if (v != want) Fail(at, item, std::to_string(want), std::to_string(v));
  }

  // A count of at least `least` items that take at least `min_bytes` each,
  // so that no more than the bytes left can hold.
  std::size_t Count(const std::string& item, std::size_t min_bytes, std::size_t least = 0) {
    const std::size_t at = at_;
    const std::uint64_t n = U64(item);
    const std::size_t most = left() / min_bytes;
    if (n < least || n > most) {
      Fail(at, item,
           "from " + std::to_string(least) + " to " + std::to_string(most) + " (what the " +
               std::to_string(left()) + " byte(s) left can hold)",
           std::to_string(n));
    }
    return static_cast<std::size_t>(n);
  }

  // An index below `total` that `seen` does not have yet; marks it seen.
  std::size_t Index(const std::string& item, std::vector<bool>& seen) {
    const std::size_t at = at_;
    const std::uint64_t i = U64(item);
    if (i >= seen.size()) {
      Fail(at, item, "an index below the input's " + std::to_string(seen.size()) + " record(s)",
           std::to_string(i));
    }
    if (seen[static_cast<std::size_t>(i)]) {
      Fail(at, item, "an index not given before", std::to_string(i) + " again");
    }
    seen[static_cast<std::size_t>(i)] = true;
    return static_cast<std::size_t>(i);
  }

  // A record of `fields` fields into *out (skipped when out is null).
  void ReadRecord(const std::string& item, std::size_t fields, Record* out) {
    if (out != nullptr) out->reserve(fields);
    for (std::size_t f = 0; f < fields; ++f) {
      const std::string field = item + " field " + std::to_string(f);
      const std::size_t at = at_;
      const std::uint64_t n = U64(field + " length");
      if (n > left()) {
        Fail(at, field + " length", "at most the " + std::to_string(left()) + " byte(s) left",
             std::to_string(n));
      }
      const auto len = static_cast<std::size_t>(n);
      if (out != nullptr) out->emplace_back(bytes_.substr(at_, len));
      at_ += len;
    }
  }

  void End() {
    if (left() != 0) {
      Fail(at_, "end", "the end of the message", std::to_string(left()) + " more byte(s)");
    }
  }

  [[noreturn]] void Fail(std::size_t at, const std::string& item, const std::string& expected,
                         const std::string& found) const {
    throw std::runtime_error(what_ + ", " + item + " at byte " + std::to_string(at) + " of " +
                             std::to_string(bytes_.size()) + ": expected " + expected + ", found " +
                             found);
  }

 private:
  std::string_view bytes_;
  std::string what_;
  std::size_t at_ = 0;
};

// The smallest encoding of an indexed record of `fields` fields.
std::size_t MinRecordBytes(std::size_t fields) { return kU64 * (1 + fields); }

}  // namespace

namespace wire {

std::string EncodeGroups(std::size_t fields, const std::vector<Record>& records,
                         const std::vector<std::vector<std::size_t>>& groups) {
  std::vector<bool> seen(records.size(), false);
  std::string out;
  PutU64(out, fields);
  PutU64(out, records.size());
  PutU64(out, groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::string where = "ScatterGroups: group " + std::to_string(g);
    if (groups[g].empty()) throw std::invalid_argument(where + ": expected records, found none");
    PutU64(out, groups[g].size());
    for (std::size_t i : groups[g]) {
      if (i >= records.size() || seen[i]) {
        throw std::invalid_argument(where + ": expected an index below " +
                                    std::to_string(records.size()) + " in no other group, found " +
                                    std::to_string(i) + (i < records.size() ? " again" : ""));
      }
      seen[i] = true;
      CheckFields(records[i], fields, "ScatterGroups: record " + std::to_string(i));
      PutU64(out, i);
      PutRecord(out, records[i]);
    }
  }
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) {
      throw std::invalid_argument("ScatterGroups: expected every record in a group, found record " +
                                  std::to_string(i) + " in none");
    }
  }
  return out;
}

Share DecodeGroups(std::string_view bytes, std::size_t fields, int rank, int ranks) {
  Reader in(bytes, "groups message");
  in.Expect("field count", fields);
  Share share;
  share.total = in.Count("record count", MinRecordBytes(fields));
  const std::size_t n_groups = in.Count("group count", kU64 + MinRecordBytes(fields));
  std::vector<bool> seen(share.total, false);
  for (std::size_t g = 0; g < n_groups; ++g) {
    const std::string group = "group " + std::to_string(g);
    const bool mine = g % static_cast<std::size_t>(ranks) == static_cast<std::size_t>(rank);
    const std::size_t size = in.Count(group + " size", MinRecordBytes(fields), 1);
    if (mine) share.groups.emplace_back().reserve(size);
    for (std::size_t k = 0; k < size; ++k) {
      const std::string item = group + " record " + std::to_string(k);
      const std::size_t index = in.Index(item + " index", seen);
      IndexedRecord* r = mine ? &share.groups.back().emplace_back() : nullptr;
      if (r != nullptr) r->index = index;
      in.ReadRecord(item, fields, r != nullptr ? &r->record : nullptr);
    }
  }
  in.End();
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i]) {
      in.Fail(bytes.size(), "groups", "every record in a group",
              "record " + std::to_string(i) + " in none");
    }
  }
  return share;
}

std::string EncodeResults(std::size_t fields, const std::vector<IndexedRecord>& results) {
  std::string out;
  PutU64(out, fields);
  PutU64(out, results.size());
  for (const IndexedRecord& r : results) {
    CheckFields(r.record, fields,
                "GatherInOrder: the result for record " + std::to_string(r.index));
    PutU64(out, r.index);
    PutRecord(out, r.record);
  }
  return out;
}

void DecodeResults(std::string_view bytes, std::size_t fields, int from, std::vector<Record>& out,
                   std::vector<bool>& seen) {
  Reader in(bytes, "results message from rank " + std::to_string(from));
  in.Expect("field count", fields);
  const std::size_t n = in.Count("result count", MinRecordBytes(fields));
  for (std::size_t k = 0; k < n; ++k) {
    const std::string item = "result " + std::to_string(k);
    const std::size_t index = in.Index(item + " index", seen);
    out[index].clear();
    in.ReadRecord(item, fields, &out[index]);
  }
  in.End();
}

}  // namespace wire

Share ScatterGroups(Comm& comm, std::size_t fields, const std::vector<Record>& records,
                    const std::vector<std::vector<std::size_t>>& groups) {
  std::string message;
  RunCollectively(comm, [&] {
    if (comm.rank() == 0) message = wire::EncodeGroups(fields, records, groups);
  });
  comm.BroadcastString(message, 0);
  Share share;
  RunCollectively(comm,
                  [&] { share = wire::DecodeGroups(message, fields, comm.rank(), comm.size()); });
  return share;
}

std::vector<Record> GatherInOrder(Comm& comm, std::size_t fields, std::size_t total,
                                  const std::vector<IndexedRecord>& mine) {
  std::string message;
  RunCollectively(comm, [&] { message = wire::EncodeResults(fields, mine); });
  const std::vector<std::string> parts = AllGatherStrings(comm, message);
  message.clear();
  std::vector<Record> out;
  RunCollectively(comm, [&] {
    if (comm.rank() != 0) return;
    out.assign(total, Record{});
    std::vector<bool> seen(total, false);
    for (std::size_t r = 0; r < parts.size(); ++r) {
      wire::DecodeResults(parts[r], fields, static_cast<int>(r), out, seen);
    }
    for (std::size_t i = 0; i < total; ++i) {
      if (!seen[i]) {
        throw std::runtime_error("GatherInOrder: expected a result for each of the " +
                                 std::to_string(total) + " record(s), found none for record " +
                                 std::to_string(i));
      }
    }
  });
  return out;
}

}  // namespace rnnsearch
