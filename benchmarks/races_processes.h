// memo_races' multi-process herd: P processes (not threads) miss one key of a cache_data
// cache on the redis store at the same instant; the store's lease lets one compute and
// the others wait for its value. See races_processes.cpp.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace memo_races {

struct ProcessHerdPlan {
  std::string server;                       // redis://host:port/db
  std::vector<int> processes;               // P values
  std::chrono::milliseconds compute{50};    // how long the function runs
  int herds = 10;                           // herds (iterations) per P
};

// Registers races/process_herd/cache_data/redis/processes:<P> for each P.
void register_process_herd(const ProcessHerdPlan& plan);

// memo_races re-runs itself as a herd member: when argv[1] is kWorkerFlag, main hands
// the rest of the command line to process_herd_worker and exits with its status.
inline constexpr const char* kWorkerFlag = "--process_herd_worker";
int process_herd_worker(int argc, char** argv);

}  // namespace memo_races
