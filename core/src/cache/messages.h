// Records the messages a cached function emits while it runs (see memo::emit), so
// they can be stored with the entry and replayed on every hit. Recorders nest: a
// message reaches every recorder active on the thread, so an outer cached function
// also replays what the functions it called emitted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace memo::detail {

class MessageRecorder {
 public:
  MessageRecorder();
  ~MessageRecorder();
  MessageRecorder(const MessageRecorder&) = delete;
  MessageRecorder& operator=(const MessageRecorder&) = delete;

  std::vector<std::string> take() { return std::move(messages_); }

  // Called by memo::emit for every recorder active on this thread.
  static void record(std::string_view message);

 private:
  MessageRecorder* outer_;
  std::vector<std::string> messages_;
};

}  // namespace memo::detail
