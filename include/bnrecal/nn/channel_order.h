// Per-layer input-channel permutations for SySMT (docs/sysmt-arithmetic.md section 1,
// "optional reordering"): which input channel sits at each position before the channels are
// grouped into thread lanes. Planned by `bnrecal reorder` (channel_reorder.h), stored in
// checkpoint metadata "channel_order" = {"layer name": [c0, c1, ...]}, applied by the sysmt policy.
//
//   bnrecal::ChannelOrders orders = bnrecal::channel_orders_from_json(metadata["channel_order"]);
//   bnrecal::check_channel_order_layers(orders, layer_names);   // InputError for unknown layers
//   std::cout << bnrecal::channel_order_summary(orders);         // "3 of 19 listed layers permuted"
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bnrecal {

// Checkpoint metadata key of the per-layer permutations.
constexpr const char* kChannelOrderKey = "channel_order";

using ChannelOrders = std::map<std::string, std::vector<int64_t>>;

// Only the JSON types are checked here (an object of integer lists; InputError naming the layer
// otherwise); whether an entry is a permutation of the right length is the policy's check,
// which knows the layer's channels.
ChannelOrders channel_orders_from_json(const nlohmann::json& orders);
nlohmann::json channel_orders_to_json(const ChannelOrders& orders);

// InputError unless every entry names one of layer_names: a checkpoint of another model, or a
// hand-edited name, would otherwise be ignored silently.
void check_channel_order_layers(const ChannelOrders& orders,
                                const std::vector<std::string>& layer_names);

// For reports: "identity" when there are no entries, else "P of N listed layers permuted"
// (`bnrecal reorder` lists every planned layer, with identity where nothing beat it).
std::string channel_order_summary(const ChannelOrders& orders);

bool is_identity_order(const std::vector<int64_t>& order);
std::vector<int64_t> identity_order(int64_t channels);

// InputError naming the layer unless order is a permutation of 0..channels-1. channels <= 0:
// the length is not known yet (a policy built without layer shapes); only the permutation is
// checked.
void validate_channel_order(const std::vector<int64_t>& order, int64_t channels,
                            const std::string& layer);

}  // namespace bnrecal
