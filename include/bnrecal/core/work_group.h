// Cooperating processes that split a numbered sequence of work items (batches of an evaluation or
// a recalibration pass) and then share what each computed. Item t belongs to rank t % size, so a
// process needs to know neither the number of items nor the other ranks' speed; each rank's results
// are put back in item order, which makes a distributed result the single-process one.
//
//   if (group.owns(t)) { ...compute item t, append to local... }
//   std::vector<nlohmann::json> all = group.all_gather_json(local);   // all[r]: rank r's
//
// dist/process_group.h implements it over torch.distributed (c10d, Gloo); a null WorkGroup* in an
// options struct means one process.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bnrecal {

class WorkGroup {
 public:
  virtual ~WorkGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool owns(int64_t item) const { return item % size() == rank(); }
  // A collective: every rank calls it with its own bytes and receives every rank's, by rank.
  // Throws when a rank has gone (a crash, a lost connection) or does not answer within the timeout.
  virtual std::vector<std::string> all_gather(const std::string& local) = 0;
  // The same for JSON values, exchanged as CBOR, which keeps every double bit for bit.
  std::vector<nlohmann::json> all_gather_json(const nlohmann::json& local) {
    const std::vector<uint8_t> cbor = nlohmann::json::to_cbor(local);
    std::vector<nlohmann::json> all;
    for (const std::string& bytes : all_gather(std::string(cbor.begin(), cbor.end()))) {
      all.push_back(nlohmann::json::from_cbor(bytes));
    }
    return all;
  }
};

}  // namespace bnrecal
