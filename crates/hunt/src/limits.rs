//! What one query may cost: stack, call depth, time and memory (issue 15, "one hunt query kills
//! the process").
//!
//! A KQL query is attacker-shaped input to a recursive front end and back end. Each bound
//! here turns a query that would abort the process into an error naming the limit:
//! - **stack**: the parser caps nesting and chains ([`crate::parser::MAX_EXPR_HEIGHT`]); every
//!   run executes on a thread of its own whose stack ([`QUERY_STACK_BYTES`]) is sized for that
//!   height with a wide margin, whatever thread (a tokio worker, a 2 MiB blocking thread) asked;
//! - **calls**: user functions are inlined or evaluated in child evaluators, so a recursive
//!   `let f = () { f() }` nests without end; more than [`MAX_CALL_DEPTH`] nested calls is an
//!   error;
//! - **time**: the caller's deadline, checked between operators, when rows are produced and at
//!   every user-function call (so a compile-time blow-up of nested functions stops too);
//! - **memory**: with [`CountingAlloc`] as the process's global allocator, the live heap is
//!   known, and a query stops once the heap has grown more than its budget since it started.
//!   The count is process-wide (the evaluator may use several threads), so concurrent queries
//!   share the headroom: the bound protects the process, which is what a runaway threatens.
//!   Without the allocator (a library user that did not install it) the memory bound cannot
//!   be measured and [`MemoryBudget::start`] says so by returning `None`; the riposte binary
//!   and the e2e test binary install it.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

use crate::eval::EvalError;

/// Stack of the thread a query runs on. The parser bounds expression height at 400 levels;
/// a debug build uses well under 2 MiB for that (`tests/limits.rs` runs the killers on a
/// 2 MiB thread), so this leaves a 16x margin. Untouched stack pages cost no memory.
pub const QUERY_STACK_BYTES: usize = 32 * 1024 * 1024;

/// Nested user-function calls a query may make (`f` calling `g` calling ...).
pub const MAX_CALL_DEPTH: usize = 64;

/// Default heap growth a query may cause before it is stopped.
pub const DEFAULT_MAX_MEMORY: usize = 512 * 1024 * 1024;

/// Live heap bytes, as far as threads have reported them (see [`count`]). Signed: a thread
/// that frees what another allocated may report its frees first.
static LIVE: AtomicIsize = AtomicIsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Bytes a thread allocates (or frees) before it reports them to [`LIVE`]. One shared
/// counter touched on every allocation by every core serialises parallel operators on its
/// cache line; reporting per MiB keeps the count within a MiB per thread of the truth, which
/// is far below any query budget.
const REPORT_BYTES: isize = 1 << 20;

thread_local! {
    /// This thread's allocations not yet reported to [`LIVE`]. `const`-initialised with no
    /// destructor, so using it from inside the allocator never allocates.
    static UNREPORTED: Cell<isize> = const { Cell::new(0) };
}

/// Records `delta` bytes allocated (negative: freed) by this thread.
#[inline]
fn count(delta: isize) {
    // During thread teardown the slot may be gone; then the change is reported directly.
    let pending = UNREPORTED.try_with(|u| {
        let now = u.get() + delta;
        if now.abs() >= REPORT_BYTES {
            u.set(0);
            now
        } else {
            u.set(now);
            0
        }
    });
    match pending {
        Ok(0) => {}
        Ok(n) => {
            LIVE.fetch_add(n, Ordering::Relaxed);
        }
        Err(_) => {
            LIVE.fetch_add(delta, Ordering::Relaxed);
        }
    }
}

/// The system allocator, counting live heap bytes so a query's memory can be bounded.
/// Install it in a binary with `#[global_allocator] static A: hunt::limits::CountingAlloc =
/// hunt::limits::CountingAlloc;`. The cost is a thread-local add per allocation and a relaxed
/// atomic add per MiB allocated or freed.
pub struct CountingAlloc;

/// The allocator underneath: mimalloc. glibc's malloc had to be kept on one arena for the
/// evaluator's large columns (secondary arenas `mmap` every large block afresh), and on one
/// arena every thread of the gateway (tokio's workers, SQLite's threads) took the same lock:
/// under load half of the process's futex calls were that lock's wake-ups. mimalloc gives each
/// thread its own heap and, told not to purge (`eval::parallel::retain_freed_memory`), keeps
/// freed large blocks for reuse too.
static HEAP: mimalloc::MiMalloc = mimalloc::MiMalloc;

// SAFETY: every method forwards to `HEAP` with the caller's layout unchanged; the counter
// is bookkeeping only and never affects what is returned.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { HEAP.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
            if !INSTALLED.load(Ordering::Relaxed) {
                INSTALLED.store(true, Ordering::Relaxed);
            }
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { HEAP.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (hence from `HEAP`) with `layout`.
        unsafe { HEAP.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::realloc`'s contract.
        let p = unsafe { HEAP.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Live heap bytes, or `None` when [`CountingAlloc`] is not the global allocator.
pub fn heap_in_use() -> Option<usize> {
    INSTALLED.load(Ordering::Relaxed).then(|| LIVE.load(Ordering::Relaxed).max(0) as usize)
}

/// How much the heap may grow while one query runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryBudget {
    baseline: usize,
    limit: usize,
}

impl MemoryBudget {
    /// A budget of `limit` bytes from now, or `None` when the heap cannot be measured.
    pub fn start(limit: usize) -> Option<MemoryBudget> {
        heap_in_use().map(|baseline| MemoryBudget { baseline, limit })
    }

    /// Fails once the heap has grown past the budget.
    pub fn check(&self) -> Result<(), EvalError> {
        let now = LIVE.load(Ordering::Relaxed).max(0) as usize;
        if now.saturating_sub(self.baseline) > self.limit {
            return Err(EvalError::Limit(format!(
                "query exceeded the memory limit of {} MiB; narrow it (a time range, `where` before `join`, `take`)",
                self.limit / (1024 * 1024)
            )));
        }
        Ok(())
    }
}

/// The error for one nested call too many.
fn call_depth_error() -> EvalError {
    EvalError::Limit(format!(
        "function calls nested more than {MAX_CALL_DEPTH} deep (the limit is {MAX_CALL_DEPTH}): is a function \
         recursive? KQL functions may not call themselves"
    ))
}

/// Runs `f` on a fresh thread with a [`QUERY_STACK_BYTES`] stack and waits for it. A panic in
/// the query is caught and answered as an error instead of unwinding into the caller.
pub fn on_query_thread<T: Send>(f: impl FnOnce() -> Result<T, EvalError> + Send) -> Result<T, EvalError> {
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("kql-query".into())
            .stack_size(QUERY_STACK_BYTES)
            .spawn_scoped(s, f)
            .map_err(|e| EvalError::Limit(format!("could not start the query thread: {e}")))?;
        handle.join().unwrap_or_else(|_| Err(EvalError::Invalid("the query failed with an internal error".into())))
    })
}

impl crate::eval::Evaluator<'_> {
    /// One user-function call deeper: refused past [`MAX_CALL_DEPTH`], and a point where the
    /// deadline and the memory budget are checked (function inlining happens at compile time,
    /// before any operator's own check).
    pub(crate) fn enter_call(&mut self) -> Result<(), EvalError> {
        self.env.calls += 1;
        if self.env.calls > MAX_CALL_DEPTH {
            return Err(call_depth_error());
        }
        self.check_deadline()
    }
}

/// `riposte kql run`: loads `<Table>.jsonl` / `<Table>.csv` from `data_dir` and runs `query`
/// under the same bounds as a hunt (own thread and stack, call depth, `timeout`, memory),
/// rendering the result as a text table, JSON or CSV.
pub fn run_text(
    query: &str,
    data_dir: &std::path::Path,
    format: crate::table::OutputFormat,
    timeout: std::time::Duration,
    max_memory: usize,
) -> Result<String, String> {
    let tables = crate::table::load_dir(data_dir)?;
    let q = crate::parser::parse_query(query).map_err(|e| format!("parse error: {e}"))?;
    let ctx = crate::eval::Context {
        tables,
        source: Some(std::sync::Arc::from(query)),
        deadline: Some(std::time::Instant::now() + timeout),
        memory: MemoryBudget::start(max_memory),
        ..crate::eval::Context::default()
    };
    let table = on_query_thread(|| crate::eval::run(&q, &ctx)).map_err(|e| e.to_string())?;
    Ok(table.render(format))
}
