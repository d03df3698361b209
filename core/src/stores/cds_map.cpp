#include "memo/stores/cds_map.h"

#include <cds/gc/hp.h>
#include <cds/init.h>
#include <cds/intrusive/feldman_hashset_hp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <thread>

#include "clock_frames.h"

namespace memo {
namespace {

using detail::ClockFrames;
using FrameIndex = ClockFrames::Index;

constexpr std::size_t kHazardPointersPerThread = 8;  // this engine holds at most 3
constexpr std::size_t kMaxAttachedThreads = 256;

void start_libcds_once() {
  static cds::gc::HP* const gc = [] {
    cds::Initialize();
    // Never destroyed (see the header): a store may be destroyed by a static
    // destructor, and the GC must outlive every container.
    return new cds::gc::HP(kHazardPointersPerThread, kMaxAttachedThreads);
  }();
  (void)gc;
}

// Trivially destructible, so still readable while the thread's other thread_locals
// are being destroyed.
thread_local bool t_attached = false;
thread_local bool t_detached_at_exit = false;
// Set when this thread unlinked a node holding a large entry; the operation's
// AttachedScope then scans (after the operation's own guards are gone).
thread_local bool t_reclaim_soon = false;

// Entries at least this large are not left waiting in a retired node for the next
// routine scan (which comes only every 2 * 8 * 256 retirements per thread).
constexpr std::size_t kPromptReclaimBytes = std::size_t{1} << 20;

struct DetachAtThreadExit {
  ~DetachAtThreadExit() {
    if (cds::threading::Manager::isThreadAttached()) cds::threading::Manager::detachThread();
    t_attached = false;
    t_detached_at_exit = true;
  }
};

// Every entry point holds one. The first on a thread attaches it for the rest of its
// life; after the thread's exit-time detach (static destructors, later thread_local
// destructors) each one attaches just for its own duration.
class AttachedScope {
 public:
  AttachedScope() {
    if (t_attached) return;
    start_libcds_once();
    cds::threading::Manager::attachThread();
    if (t_detached_at_exit) {
      temporary_ = true;
      return;
    }
    static thread_local DetachAtThreadExit detach_at_exit;
    (void)detach_at_exit;
    t_attached = true;
  }
  ~AttachedScope() {
    if (t_reclaim_soon) {
      t_reclaim_soon = false;
      cds::gc::HP::scan();
    }
    if (temporary_) cds::threading::Manager::detachThread();
  }
  AttachedScope(const AttachedScope&) = delete;
  AttachedScope& operator=(const AttachedScope&) = delete;

 private:
  bool temporary_ = false;
};

struct LedgerTicket;

struct Node {
  Node(const Key& k, EntryPtr e, FrameIndex f) : key(k), entry(std::move(e)), frame(f) {}

  void touch() {
    // Read first: a hot entry's bit is already set, and skipping the store keeps its
    // cache line shared between readers.
    if (!referenced.load(std::memory_order_relaxed)) {
      referenced.store(true, std::memory_order_relaxed);
    }
  }

  const Key key;  // also the trie's 128-bit "hash"
  // Readers copy it under nothing but their hazard pointer. Dropped with the node, or
  // earlier by the store's destructor (see Fate), when no reader can hold the node.
  EntryPtr entry;
  const FrameIndex frame;  // ClockFrames::kNone when unbounded
  std::atomic<bool> referenced{false};
  // Set (release) when the store unlinks the node; null for a node retired by the
  // trie's own destructor, which the disposer simply frees.
  std::atomic<LedgerTicket*> ticket{nullptr};
};

// What has become of an unlinked node. Two parties may drop its entry: libcds's
// disposer (normally, by freeing the node) and the store's destructor (when the
// disposer has not run by then). Exactly one does, decided by one CAS on the ticket.
enum class Fate : std::uint8_t {
  retired,        // on the ledger, waiting for libcds to dispose of the node
  disposing,      // the disposer is freeing the node (and with it the entry)
  disposed,       // the node is gone; the ledger frees the ticket
  orphaning,      // the store's destructor is dropping the entry
  orphaned,       // the destructor is done and forgot the ticket; the disposer frees both
  disposer_left,  // the disposer came during `orphaning`; the destructor frees both
};

// The ledger's record of one unlinked node. It outlives the node, so that the ledger
// never points at freed memory, and the node is freed only by the disposer (inside
// libcds's scan) or by the destructor (once no operation runs).
struct LedgerTicket {
  explicit LedgerTicket(Node* n) : node(n) {}
  Node* const node;
  std::atomic<Fate> fate{Fate::retired};
  LedgerTicket* next = nullptr;  // written before the push that publishes it
};

// Runs when hazard pointers allow reclaiming an unlinked node: at a scan of the
// retired buffer holding it, on whichever thread, possibly after its store is gone,
// so it touches nothing but the node and its ticket.
void dispose(Node* node) {
  LedgerTicket* const ticket = node->ticket.load(std::memory_order_acquire);
  if (ticket == nullptr) {
    delete node;
    return;
  }
  Fate fate = Fate::retired;
  if (ticket->fate.compare_exchange_strong(fate, Fate::disposing, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
    delete node;
    ticket->fate.store(Fate::disposed, std::memory_order_release);
    return;
  }
  // The store's destructor has taken the entry; the later of us two frees the rest.
  if (ticket->fate.exchange(Fate::disposer_left, std::memory_order_acq_rel) == Fate::orphaned) {
    delete node;
    delete ticket;
  }
}

struct NodeTraits : cds::intrusive::feldman_hashset::traits {
  struct hash_accessor {
    const Key& operator()(const Node& node) const { return node.key; }
  };
  struct disposer {
    void operator()(Node* node) const { dispose(node); }
  };
  // size() is kept by the store (entries_), so the trie need not count.
  using item_counter = cds::atomicity::empty_item_counter;
};

using Trie = cds::intrusive::FeldmanHashSet<cds::gc::HP, Node, NodeTraits>;

constexpr std::size_t kHeadBits = 8;   // 256 head slots (2 KiB per store)
constexpr std::size_t kArrayBits = 4;  // 16 slots per deeper level

class CdsMapStore final : public Store {
 public:
  explicit CdsMapStore(const StoreConfig& config) {
    AttachedScope attached;
    if (config.max_entries != 0) frames_.emplace(config.max_entries);
    trie_ = std::make_unique<Trie>(kHeadBits, kArrayBits);
  }

  ~CdsMapStore() override {
    AttachedScope attached;  // libcds asserts if a container dies on a detached thread
    trie_.reset();           // retires every node still in the trie to this thread,
    cds::gc::HP::scan();     // which frees them now: no operation guards them any more
    drop_ledger_entries();   // and the entries of nodes unlinked earlier, wherever they wait
  }

  EntryPtr find(const Key& key, Clock::time_point now, RemovedList& removed) override {
    AttachedScope attached;
    auto node = trie_->get(key);
    if (!node) return nullptr;
    if (node->entry->expired(now)) {
      if (auto freed = unlink(*node, RemovalCause::expired, removed)) give_back(*freed);
      return nullptr;
    }
    node->touch();
    return node->entry;
  }

  EntryPtr insert(const Key& key, EntryPtr entry, Clock::time_point now,
                  RemovedList& removed) override {
    AttachedScope attached;
    std::unique_ptr<Node> fresh;           // built once, kept across retries
    FrameIndex frame = ClockFrames::kNone;  // likewise
    for (;;) {
      if (auto node = trie_->get(key)) {
        if (!node->entry->expired(now)) {
          node->touch();
          give_back(frame);
          return node->entry;
        }
        if (auto freed = unlink(*node, RemovalCause::expired, removed)) give_back(*freed);
        continue;  // the expired node is gone (by us or another thread): look again
      }
      // No guard is held here: evicting may unlink other nodes. It never evicts our
      // own key: a racing insert of it would otherwise see its winner evicted by a
      // loser.
      if (frames_ && frame == ClockFrames::kNone) {
        auto acquired = frames_->acquire([&](FrameIndex candidate, const Key& label) {
          return !(label == key) && try_evict(candidate, label, removed);
        });
        if (!acquired) {
          std::this_thread::yield();  // every frame in flux: let their owners finish
          continue;
        }
        frame = *acquired;
        frames_->label(frame, key);
      }
      if (!fresh) fresh = std::make_unique<Node>(key, entry, frame);
      entries_.fetch_add(1, std::memory_order_relaxed);
      if (trie_->insert(*fresh)) {
        fresh.release();  // owned by the trie; freed by its disposer
        return entry;
      }
      entries_.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  bool erase(const Key& key, const Entry* expected, RemovalCause cause,
             RemovedList& removed) override {
    AttachedScope attached;
    for (;;) {
      auto node = trie_->get(key);
      if (!node) return false;
      if (expected != nullptr && node->entry.get() != expected) return false;
      if (auto freed = unlink(*node, cause, removed)) {
        give_back(*freed);
        return true;
      }
      // Another thread removed it first; a new node may hold the same entry again.
    }
  }

  void clear(RemovedList& removed) override {
    AttachedScope attached;
    // Safe beside writers: the iterator's hazard pointer keeps its node alive, and a
    // node visited twice (while its array splits) loses the second unlink.
    for (auto it = trie_->begin(), end = trie_->end(); it != end; ++it) {
      if (auto freed = unlink(*it, RemovalCause::cleared, removed)) give_back(*freed);
    }
  }

  std::size_t size() const override { return entries_.load(std::memory_order_relaxed); }
  std::string_view name() const override { return "cds_map"; }

 private:
  // The one removal primitive; `node` must be guarded by the caller. Only the thread
  // whose unlink succeeds reports the entry. Returns the frame the node owned, now
  // the caller's, or nullopt when another thread removed the node first.
  std::optional<FrameIndex> unlink(Node& node, RemovalCause cause, RemovedList& removed) {
    auto ticket = std::make_unique<LedgerTicket>(&node);  // allocated before anything changes
    if (!trie_->unlink(node)) return std::nullopt;
    entries_.fetch_sub(1, std::memory_order_relaxed);
    removed.push_back({node.key, node.entry, cause});
    if (node.entry->bytes() >= kPromptReclaimBytes) t_reclaim_soon = true;
    // Our guard on the node keeps libcds from disposing of it before it is on the ledger.
    put_on_ledger(node, ticket.release());
    return node.frame;
  }

  // The ledger: a ticket for every node this store unlinked, until libcds has disposed of
  // the node. It exists for the destructor. libcds keeps a retired node in the buffer of
  // the thread that unlinked it until that thread's next scan, and offers no way to scan
  // another live thread's buffer; without the ledger, entries removed by a thread that
  // then idles (or exits while another thread still guards the node) would outlive their
  // store.
  void put_on_ledger(Node& node, LedgerTicket* ticket) {
    node.ticket.store(ticket, std::memory_order_release);
    LedgerTicket* head = ledger_.load(std::memory_order_relaxed);
    do {
      ticket->next = head;
    } while (!ledger_.compare_exchange_weak(head, ticket, std::memory_order_release,
                                            std::memory_order_relaxed));
    const std::size_t length = ledger_length_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (length >= compact_at_.load(std::memory_order_relaxed)) compact_ledger();
  }

  // Frees the tickets of nodes libcds has disposed of and puts the rest back. Runs when
  // the ledger has doubled since the last compaction left it, so each ticket is walked
  // O(1) times on average. Concurrent compactions take disjoint parts of the ledger.
  void compact_ledger() {
    LedgerTicket* kept_head = nullptr;
    LedgerTicket* kept_tail = nullptr;
    std::size_t kept = 0;
    std::size_t freed = 0;
    for (LedgerTicket* ticket = ledger_.exchange(nullptr, std::memory_order_acquire);
         ticket != nullptr;) {
      LedgerTicket* const next = ticket->next;
      if (ticket->fate.load(std::memory_order_acquire) == Fate::disposed) {
        delete ticket;
        ++freed;
      } else {
        ticket->next = kept_head;
        kept_head = ticket;
        if (kept_tail == nullptr) kept_tail = ticket;
        ++kept;
      }
      ticket = next;
    }
    if (kept_head != nullptr) {
      LedgerTicket* head = ledger_.load(std::memory_order_relaxed);
      do {
        kept_tail->next = head;
      } while (!ledger_.compare_exchange_weak(head, kept_head, std::memory_order_release,
                                              std::memory_order_relaxed));
    }
    ledger_length_.fetch_sub(freed, std::memory_order_relaxed);
    compact_at_.store(std::max(kMinLedgerCompaction, 2 * kept), std::memory_order_relaxed);
  }

  // Destructor only (no operation runs any more; disposers on other threads still may).
  void drop_ledger_entries() {
    for (LedgerTicket* ticket = ledger_.exchange(nullptr, std::memory_order_acquire);
         ticket != nullptr;) {
      LedgerTicket* const next = ticket->next;
      Fate fate = Fate::retired;
      if (ticket->fate.compare_exchange_strong(fate, Fate::orphaning, std::memory_order_acq_rel,
                                               std::memory_order_acquire)) {
        Node* const node = ticket->node;  // not disposed of yet: it still holds the entry
        node->entry.reset();
        if (ticket->fate.exchange(Fate::orphaned, std::memory_order_acq_rel) ==
            Fate::disposer_left) {
          delete node;
          delete ticket;
        }
      } else {
        // Being disposed of on another thread right now, or already: the entry dies there.
        while (ticket->fate.load(std::memory_order_acquire) != Fate::disposed) {
          std::this_thread::yield();
        }
        delete ticket;
      }
      ticket = next;
    }
  }

  void give_back(FrameIndex frame) {
    if (frame != ClockFrames::kNone) frames_->give_back(frame);
  }

  // Offered `frame`, labelled `label`, by the CLOCK hand. On success the victim is
  // reported and its frame passes to the caller.
  bool try_evict(FrameIndex frame, const Key& label, RemovedList& removed) {
    auto node = trie_->get(label);
    if (!node || node->frame != frame) return false;
    if (node->referenced.load(std::memory_order_relaxed)) {
      node->referenced.store(false, std::memory_order_relaxed);
      return false;
    }
    return unlink(*node, RemovalCause::evicted, removed).has_value();
  }

  // A compaction walks at least this many tickets (about one retired buffer's worth).
  static constexpr std::size_t kMinLedgerCompaction = 4096;

  std::optional<ClockFrames> frames_;  // empty when unbounded
  std::unique_ptr<Trie> trie_;         // reset by the destructor while attached
  std::atomic<LedgerTicket*> ledger_{nullptr};
  std::atomic<std::size_t> ledger_length_{0};
  std::atomic<std::size_t> compact_at_{kMinLedgerCompaction};
  // Counted before a node goes in and uncounted after it is out, so it never exceeds
  // the frames in use (hence max_entries).
  std::atomic<std::size_t> entries_{0};
};

}  // namespace

std::unique_ptr<Store> make_cds_map_store(const StoreConfig& config) {
  return std::make_unique<CdsMapStore>(config);
}

}  // namespace memo
