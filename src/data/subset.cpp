#include "bnrecal/data/subset.h"

#include <algorithm>
#include <numeric>

#include "bnrecal/core/error.h"

namespace bnrecal {

SubsetSource::SubsetSource(std::shared_ptr<const DataSource> base, std::vector<int64_t> indices, std::string name)
    : base_(std::move(base)), indices_(std::move(indices)), name_(std::move(name)) {}

Batch SubsetSource::load(const std::vector<int64_t>& indices, bool augment, std::mt19937_64& rng) const {
  std::vector<int64_t> mapped(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) mapped[i] = indices_.at(static_cast<size_t>(indices[i]));
  return base_->load(mapped, augment, rng);
}

std::pair<std::shared_ptr<DataSource>, std::shared_ptr<DataSource>> split_for_validation(
    std::shared_ptr<const DataSource> source, double fraction, uint64_t seed) {
  require(fraction > 0 && fraction < 1, "validation fraction must be in (0, 1), got " + std::to_string(fraction));
  std::vector<int64_t> order(static_cast<size_t>(source->size()));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed ^ 0x5eed5a17ull);
  std::shuffle(order.begin(), order.end(), rng);
  const auto n_val = static_cast<size_t>(fraction * static_cast<double>(order.size()));
  require(n_val > 0 && n_val < order.size(), "validation fraction leaves an empty part");
  std::vector<int64_t> val(order.begin(), order.begin() + n_val), rest(order.begin() + n_val, order.end());
  std::sort(val.begin(), val.end());
  std::sort(rest.begin(), rest.end());
  const std::string name = source->name();
  return {std::make_shared<SubsetSource>(source, rest, name + "[train part]"),
          std::make_shared<SubsetSource>(source, val, name + "[validation part]")};
}

}  // namespace bnrecal
