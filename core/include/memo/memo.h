// The whole public API of memo in one include.
#pragma once

#include "memo/cache.h"
#include "memo/codec.h"
#include "memo/disk_cache.h"
#include "memo/errors.h"
#include "memo/frame.h"
#include "memo/hash.h"
#include "memo/observer.h"
#include "memo/options.h"
#include "memo/session.h"
#include "memo/stats.h"
#include "memo/store.h"
#include "memo/untyped_cache.h"
