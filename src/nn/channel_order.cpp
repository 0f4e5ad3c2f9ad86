#include "bnrecal/nn/channel_order.h"

#include <algorithm>
#include <numeric>

#include "bnrecal/core/error.h"

namespace bnrecal {

ChannelOrders channel_orders_from_json(const nlohmann::json& orders) {
  if (!orders.is_object()) {
    throw InputError(std::string("checkpoint metadata '") + kChannelOrderKey +
                     "' must be an object {\"layer name\": [c0, c1, ...]}");
  }
  ChannelOrders out;
  for (const auto& [name, entry] : orders.items()) {
    const bool integers =
        entry.is_array() && std::all_of(entry.begin(), entry.end(),
                                        [](const nlohmann::json& v) { return v.is_number_integer(); });
    if (!integers) {
      throw InputError("layer '" + name + "': " + kChannelOrderKey +
                       " must be a list of input channel indices");
    }
    out[name] = entry.get<std::vector<int64_t>>();
  }
  return out;
}

nlohmann::json channel_orders_to_json(const ChannelOrders& orders) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, order] : orders) j[name] = order;
  return j;
}

void check_channel_order_layers(const ChannelOrders& orders,
                                const std::vector<std::string>& layer_names) {
  std::string unknown;
  for (const auto& entry : orders) {
    if (std::find(layer_names.begin(), layer_names.end(), entry.first) == layer_names.end()) {
      unknown += (unknown.empty() ? "'" : ", '") + entry.first + "'";
    }
  }
  if (!unknown.empty()) {
    throw InputError(std::string("checkpoint metadata '") + kChannelOrderKey +
                     "' names no conv/linear layer of this model: " + unknown);
  }
}

std::string channel_order_summary(const ChannelOrders& orders) {
  if (orders.empty()) return "identity";
  const auto permuted = std::count_if(orders.begin(), orders.end(),
                                      [](const auto& entry) { return !is_identity_order(entry.second); });
  return std::to_string(permuted) + " of " + std::to_string(orders.size()) + " listed layers permuted";
}

bool is_identity_order(const std::vector<int64_t>& order) {
  for (size_t p = 0; p < order.size(); ++p) {
    if (order[p] != static_cast<int64_t>(p)) return false;
  }
  return true;
}

std::vector<int64_t> identity_order(int64_t channels) {
  std::vector<int64_t> order(static_cast<size_t>(std::max<int64_t>(channels, 0)));
  std::iota(order.begin(), order.end(), int64_t{0});
  return order;
}

void validate_channel_order(const std::vector<int64_t>& order, int64_t channels,
                            const std::string& layer) {
  const std::string what = "layer '" + layer + "': " + kChannelOrderKey + " ";
  if (channels > 0 && static_cast<int64_t>(order.size()) != channels) {
    throw InputError(what + "has " + std::to_string(order.size()) + " entries but the layer has " +
                     std::to_string(channels) + " input channels per group");
  }
  const int64_t n = static_cast<int64_t>(order.size());
  std::vector<bool> seen(order.size(), false);
  for (int64_t c : order) {
    if (c < 0 || c >= n) {
      throw InputError(what + "is not a permutation of 0.." + std::to_string(n - 1) + ": entry " +
                       std::to_string(c) + " is out of range");
    }
    if (seen[c]) {
      throw InputError(what + "is not a permutation: channel " + std::to_string(c) +
                       " appears twice");
    }
    seen[c] = true;
  }
}

}  // namespace bnrecal
