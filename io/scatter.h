// Sharing work among the ranks of a job and collecting its results on rank
// 0 in input order, over the Comm interface (never MPI directly); used by
// `rnnsearch translate` and `rnnsearch rescore`.
//
// The work is a list of records, each a fixed number of fields of any bytes
// (newlines, NULs and empty fields included), and rank 0 cuts it into
// groups (e.g. batches of similar lengths): lists of record indices that
// together hold every record exactly once. Group g goes to rank g mod N
// (N ranks), so consecutive groups go to different ranks. Each rank
// processes its groups, gives one result record (of its own fixed number
// of fields) per input record, and rank 0 receives all results in input
// order.
//
// Wire format: every number is an unsigned 64-bit little-endian integer
// ("u64"); a record is its fields, each a u64 byte length then the bytes.
//   groups message (broadcast from rank 0):
//     u64 fields, u64 records, u64 groups, then per group:
//     u64 size, then per record: u64 index, the record
//   results message (one per rank, gathered on rank 0):
//     u64 fields, u64 count, then per result: u64 index, the record
// A decoder checks every count, length and index against the bytes left
// and the input's size, every record against its field count, that the
// indices are each given exactly once, and that nothing follows the last
// record, and throws std::runtime_error naming the message, the item and
// its byte offset, what was expected and what was found.
//
// Comm has no point-to-point messages: every rank receives the whole
// groups message (and keeps its own groups), and every rank's results
// reach every rank (rank 0 decodes them).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/comm.h"

namespace rnnsearch {

// A record: its fields, as bytes.
using Record = std::vector<std::string>;

struct IndexedRecord {
  std::size_t index = 0;  // the input record's position, from 0
  Record record;
};

// One rank's part of the work.
struct Share {
  std::size_t total = 0;  // records in the whole input
  // This rank's groups, in the order of rank 0's list; each group's records
  // in the group's order.
  std::vector<std::vector<IndexedRecord>> groups;
};

// Collective. On rank 0, `records` (each of `fields` fields) and `groups`
// (every index in [0, records.size()) exactly once, groups may not be
// empty); on the other ranks both are ignored. Returns this rank's share.
// Throws CollectiveError on every rank when rank 0's arguments break these
// rules or a message is malformed.
Share ScatterGroups(Comm& comm, std::size_t fields, const std::vector<Record>& records,
                    const std::vector<std::vector<std::size_t>>& groups);

// Collective. `mine`: this rank's results, one per record of its share,
// each of `fields` fields. Returns on rank 0 the `total` results in input
// order (result i for record i), and an empty list on the other ranks.
// Throws CollectiveError on every rank when a result has the wrong number
// of fields, an index is out of range, missing or given twice, or a
// message is malformed.
std::vector<Record> GatherInOrder(Comm& comm, std::size_t fields, std::size_t total,
                                  const std::vector<IndexedRecord>& mine);

// The two messages of the wire format above, used by the functions above
// and exposed for tests.
namespace wire {

// Throws std::invalid_argument when a record has other than `fields`
// fields or `groups` is not a partition of the records into non-empty
// groups.
std::string EncodeGroups(std::size_t fields, const std::vector<Record>& records,
                         const std::vector<std::vector<std::size_t>>& groups);
// The groups of `bytes` that go to rank `rank` of `ranks`.
Share DecodeGroups(std::string_view bytes, std::size_t fields, int rank, int ranks);

// Throws std::invalid_argument when a result has other than `fields` fields.
std::string EncodeResults(std::size_t fields, const std::vector<IndexedRecord>& results);
// Puts each result of `bytes` (rank `from`'s message) into out[index],
// marking seen[index]; out and seen have the input's size.
void DecodeResults(std::string_view bytes, std::size_t fields, int from, std::vector<Record>& out,
                   std::vector<bool>& seen);

}  // namespace wire

}  // namespace rnnsearch
