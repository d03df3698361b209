// Between sessions and session-scoped caches: a session's disconnect must reach every
// cache that may hold something for it.
#pragma once

namespace memo::detail {

class CacheCore;
void register_session_cache(CacheCore* cache);
void unregister_session_cache(CacheCore* cache);

}  // namespace memo::detail
