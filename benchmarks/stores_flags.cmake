# memo_stores' workload flags (--mix, --mix_keys, --capacity, --value_bytes,
# --latency_histogram): bad values are refused with a message, and a custom run reports
# what it promises (histogram with its maximum, items_per_second, bytes per entry).
# Uses the helpers of bad_input.cmake, included before this file.
memo_bad_input(memo_stores_mix_two_parts "three percentages GET,INSERT,ERASE summing to 100"
               $<TARGET_FILE:memo_stores> --mix=90,10)
memo_bad_input(memo_stores_mix_not_100 "summing to 100, got '90,5,4'" $<TARGET_FILE:memo_stores>
               --mix=90,5,4)
memo_bad_input(memo_stores_mix_not_percentage "'x' is not a percentage" $<TARGET_FILE:memo_stores>
               --mix=90,x,10)
memo_bad_input(memo_stores_mix_keys "--mix_keys: 'gauss' is not one of zipf, uniform"
               $<TARGET_FILE:memo_stores> --mix_keys=gauss --mix=90,5,5)
memo_bad_input(memo_stores_histogram_switch "--latency_histogram: 'yes' is not one of off, on"
               $<TARGET_FILE:memo_stores> --latency_histogram=yes)
memo_bad_input(memo_stores_value_bytes "--value_bytes: '2G' is out of range"
               $<TARGET_FILE:memo_stores> --value_bytes=2G)
memo_expect_output(memo_stores_custom_mix 0
                   "latency histogram stores/custom_uniform/flat_table/threads:2 \\([0-9]+ samples, max [0-9]+ ns\\)"
                   "\"items_per_second\": [0-9]" "\"max_ns\": [0-9]" "\"le_[0-9]+ns\": [0-9]"
                   "\"stores_workload_custom_uniform\": \"get 0.800000, replace 0.000000, insert 0.100000, erase 0.100000, capacity 500\""
                   -- $<TARGET_FILE:memo_stores> --keys=5k --threads=1,2 --engines=flat_table,mutex_map
                   --mix=80,10,10 --mix_keys=uniform --capacity=500 --value_bytes=64
                   --latency_histogram=on --benchmark_min_time=0.01 --benchmark_format=json)
memo_expect_output(memo_stores_bytes_per_entry 0 "\"bytes_per_entry\": [0-9]"
                   -- $<TARGET_FILE:memo_stores> --keys=20k --threads=1 --engines=flat_table
                   --workloads=read_heavy_zipf --benchmark_min_time=0.01 --benchmark_format=json)
# The bytes per entry come from a fresh process per engine (memo_stores --memory_probe).
memo_expect_output(memo_stores_memory_probe 0 "^bytes_per_entry=[1-9][0-9.]*"
                   -- $<TARGET_FILE:memo_stores> --memory_probe=mutex_map --keys=20k)
memo_bad_input(memo_stores_memory_probe_unknown "unknown engine 'nope'"
               $<TARGET_FILE:memo_stores> --memory_probe=nope --keys=1k)
