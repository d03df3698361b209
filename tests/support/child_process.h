// Child processes for tests and benchmarks that need more than one process (the redis
// store's multi-process tests, memo_races' process herd): start a program with pipes to
// its stdin and stdout, read its output line by line with a deadline, end it. Header-only,
// POSIX.
//
// A child is killed with SIGKILL when the process that started it dies (PR_SET_PDEATHSIG),
// so a crashed test or benchmark leaves no process behind. Between fork and exec the child
// makes only async-signal-safe calls, so starting one from a threaded process is safe.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace memo_test {

class ChildProcess {
 public:
  struct Pipes {
    bool in = false;   // a pipe to its stdin (else /dev/null)
    bool out = false;  // a pipe from its stdout (else /dev/null)
  };

  // args[0] is the program (searched in PATH); stderr goes to `stderr_path`.
  ChildProcess(const std::vector<std::string>& args, Pipes pipes,
               const std::string& stderr_path = "/dev/null") {
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if ((pipes.in && ::pipe2(in, O_CLOEXEC) != 0) || (pipes.out && ::pipe2(out, O_CLOEXEC) != 0)) {
      throw std::runtime_error("pipe failed");
    }
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
      const int null_fd = ::open("/dev/null", O_RDWR);
      const int err_fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(pipes.in ? in[0] : null_fd, 0);
      ::dup2(pipes.out ? out[1] : null_fd, 1);
      ::dup2(err_fd >= 0 ? err_fd : null_fd, 2);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    if (pipes.in) {
      ::close(in[0]);
      to_ = in[1];
    }
    if (pipes.out) {
      ::close(out[1]);
      from_ = out[0];
    }
  }
  ~ChildProcess() {
    kill();
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Writes `text` to its stdin; false when that failed.
  bool write(const std::string& text) {
    return to_ >= 0 && ::write(to_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  }

  // The next line of its output, or "" when none came within `timeout` (or it ended).
  std::string line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (const auto newline = buffer_.find('\n'); newline != std::string::npos) {
        std::string first = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return first;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (from_ < 0 || left.count() <= 0) return "";
      pollfd watch{from_, POLLIN, 0};
      if (::poll(&watch, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[512];
      const ssize_t got = ::read(from_, chunk, sizeof chunk);
      if (got <= 0) return "";
      buffer_.append(chunk, static_cast<std::size_t>(got));
    }
  }

  // Its exit status (128 + signal when killed), or -1 if it did not end within `timeout`.
  int wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (pid_ <= 0 || std::chrono::steady_clock::now() >= deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // SIGKILL (a crash, as far as anyone else can tell) and reap.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  std::string buffer_;
};

}  // namespace memo_test
